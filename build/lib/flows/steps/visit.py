"""The patient's side of a consultation: the call, joining, the doctor's advice, a rating.

These messages are pushed by the clinic's side (bot/services/doctors.py) when a doctor calls the
patient, when the patient does not join, and when the doctor ends the consultation. Their
buttons carry the consultation's id, so they work whatever the patient is doing; typed
answers work when the patient is at the matching step.
"""

from __future__ import annotations

from flows.engine import Answer, Step, Turn, choose_again
from flows.messages import ByLanguage, Choice, Reply, sms, t
from flows.steps.onboarding import NO_WORDS, YES_WORDS

JOIN_WORDS = ("join", "joining", "i am joining", "aa raha", "aa rahi", "aa raha hoon", "aa rahi hoon", "आ रहा", "आ रही", "आ रहा हूँ", "आ रही हूँ", "haan") + YES_WORDS
STAR_LABELS = {n: ByLanguage(en="★" * n, hi="★" * n) for n in range(1, 6)}


def doctor_ready(consultation_id: int, doctor: str, room_url: str) -> Reply:
    """Return the call: the doctor is ready, here is the room, say you are joining."""
    return Reply(
        t(
            "Dr. {doctor} is ready for you now. Join the video call here:\n{room}\nChoose “I am joining” so the doctor knows you are coming.",
            doctor=doctor, room=room_url,
        ),
        (Choice(f"join:{consultation_id}", t("I am joining"), JOIN_WORDS), Choice(f"leave:{consultation_id}", t("I cannot come now"), NO_WORDS)),
        kind="push",
        sms=sms("The doctor will call you now. Please keep your phone near you."),
    )


def reminder(consultation_id: int, doctor: str, room_url: str) -> Reply:
    """Return the one reminder after the first window passes without an answer."""
    return Reply(
        t("Dr. {doctor} is still waiting for you. Please join now:\n{room}", doctor=doctor, room=room_url),
        (Choice(f"join:{consultation_id}", t("I am joining"), JOIN_WORDS), Choice(f"leave:{consultation_id}", t("I cannot come now"), NO_WORDS)),
        kind="push",
        sms=sms("Reminder: the doctor is waiting to call you now."),
    )


def missed() -> Reply:
    """Return the notice that the call was missed and the token closed."""
    return Reply(
        t("You did not join, so the doctor has moved on to the next patient. Send MENU and choose “See a doctor” to book again."),
        kind="push",
        sms=sms("You missed the doctor's call. Send MENU to book again."),
    )


def call_cut_short() -> Reply:
    """Return the notice that the doctor who called can see no more patients: the patient keeps their place."""
    return Reply(
        t("The doctor who called you can no longer see patients. You keep your place in the queue, and the next free doctor will call you."),
        kind="push",
        sms=sms("The doctor who called you cannot go on. You keep your place; the next doctor will call you."),
    )


def get_ready(opd: ByLanguage, number: int) -> Reply:
    """Return the notice sent when the patient reaches place 3 in the queue."""
    return Reply(
        t("Get ready: you are 3rd in the queue for {opd} (token {number}). The doctor will call you soon; please stay near your phone.", opd=opd, number=number),
        kind="push",
        sms=sms("Get ready: you are 3rd in the queue (token {number}).", number=number),
    )


def advice(consultation_id: int, doctor: str, words: str) -> Reply:
    """Return the doctor's advice, verbatim in a frame, and ask for a rating."""
    framed = t(
        "Advice from Dr. {doctor}:\n────────\n{advice}\n────────\nHow was your consultation? Give 1 to 5 stars.",
        doctor=doctor, advice=words or "-",
    )
    return Reply(
        framed,
        tuple(Choice(f"rate:{consultation_id}:{n}", STAR_LABELS[n], (str(n),)) for n in range(1, 6)),
        kind="push",
        sms=sms("Your consultation is over. How was it? Reply 1-5 (5 = very good)."),
    )


def follow_up_offer(consultation_id: int) -> Reply:
    """Return the offer of a follow-up with the same doctor."""
    return Reply(
        t("Thank you. Would you like a follow-up with the same doctor?"),
        (Choice(f"followup:{consultation_id}", t("Yes, book a follow-up"), YES_WORDS), Choice("menu", t("No, thank you"), NO_WORDS)),
    )


def visit_action(turn: Turn, key: str) -> bool:
    """Carry out a button of a consultation message; return False if the key is not one."""
    kind, _, rest = key.partition(":")
    visits = turn.ports.visits
    if kind not in ("join", "leave", "rate", "followup") or visits is None:
        return False
    # Only a registered patient is ever called: someone still registering who sends a call's
    # button (a forged one) stays with their question instead of landing on a menu not theirs.
    if turn.ports.patients.profile() is None:
        return False
    # Buttons come back from the user's device: anything not shaped like ours is not ours.
    parts = rest.split(":")
    if not all(p.isascii() and p.isdigit() and len(p) <= 12 for p in parts) or len(parts) != (2 if kind == "rate" else 1):
        return False
    if kind == "join":
        ok = visits.join(int(rest))
        turn.say(t("Thank you. The doctor knows you are coming.") if ok else t("That call is over."))
    elif kind == "leave":
        visits.decline(int(rest))
        turn.say(t("All right. Your place will be given to the next patient. Send MENU to book again when you are ready."))
    elif kind == "rate":
        consultation, _, stars = rest.partition(":")
        if visits.rate(int(consultation), int(stars)):
            turn.data["consultation"] = int(consultation)
            turn.goto("followup_offer")
            return True
        turn.say(t("That consultation has a rating already. Thank you!"))
    elif kind == "followup":
        day = visits.follow_up(int(rest))
        if day is None:
            turn.say(t("Sorry, that doctor has no free session in the next two weeks. Send MENU to book with any doctor."))
        else:
            turn.say(t("Your follow-up with the same doctor is booked for {date}. We will message you when the doctor is ready.", date=day))
    _back_to_menu(turn)
    return True


def _back_to_menu(turn: Turn) -> None:
    for key in ("consultation", "doctor", "room"):
        turn.data.pop(key, None)
    turn.goto("menu")


class CalledStep(Step):
    """The doctor has called: the patient says they are joining, or cannot come."""

    name = "called"

    def ask(self, turn: Turn) -> Reply:
        return doctor_ready(turn.data.get("consultation", 0), turn.data.get("doctor", ""), turn.data.get("room", ""))

    def answer(self, turn: Turn, answer: Answer) -> None:
        """Passes the answer on as the matching button."""
        if answer.choice is None or not visit_action(turn, answer.choice):
            turn.ask_again(choose_again())


class RatingStep(Step):
    """Asks for 1 to 5 stars after a consultation."""

    name = "rating"

    def ask(self, turn: Turn) -> Reply:
        consultation = turn.data.get("consultation", 0)
        return Reply(
            t("How was your consultation? Give 1 to 5 stars."),
            tuple(Choice(f"rate:{consultation}:{n}", STAR_LABELS[n], (str(n),)) for n in range(1, 6)),
        )

    def answer(self, turn: Turn, answer: Answer) -> None:
        """Records the rating."""
        if answer.choice is None or not visit_action(turn, answer.choice):
            turn.ask_again(t("Please send a number from 1 to 5."))


class FollowUpOfferStep(Step):
    """Offers a follow-up with the same doctor."""

    name = "followup_offer"

    def ask(self, turn: Turn) -> Reply:
        return follow_up_offer(turn.data.get("consultation", 0))

    def answer(self, turn: Turn, answer: Answer) -> None:
        """Books the follow-up, or goes back to the menu."""
        if answer.choice == "menu":
            _back_to_menu(turn)
        elif answer.choice is None or not visit_action(turn, answer.choice):
            turn.ask_again(choose_again())


STEPS: tuple[Step, ...] = (CalledStep(), RatingStep(), FollowUpOfferStep())
