"""The patient's side of a consultation: the call, joining, the doctor's advice, a rating.

These messages reach the patient as notices (flows/notices.py) of someone else's turn: the
doctor's NEXT and DONE, or the call timers' (bot/services/calls.py), built here by
*_notices(). Their buttons carry the consultation's id, so they work whatever the patient is
doing; typed answers work when the patient is at the matching step.
"""

from __future__ import annotations

import datetime as dt

from flows.engine import Answer, Step, Turn, choose_again
from flows.messages import Attachment, ByLanguage, Choice, Reply, sms, t
from flows.notices import CancelTimer, MoveConversation, Notice, Notify, ScheduleTimer
from flows.ports import (
    CallEnded,
    Cancelled,
    ConsultationView,
    Joined,
    Party,
    QueueMoved,
    VisitOutcome,
)
from flows.steps.call_state import CALL_KEYS, call_over, call_over_state, leave_call
from flows.steps.call_state import (
    call_cut_short as call_cut_short,  # the doctor turned off: bot/services/staff.py
)
from flows.steps.health_worker import worker_advice, worker_call_notice
from flows.steps.questions import NO_WORDS, YES_WORDS
from flows.steps.voice_call import doctor_ready_call

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
        # The room is the call: an SMS without it would promise a call nobody can join.
        sms=sms("The doctor is ready now. Video call: {room}\n1 I am joining 2 I cannot come now", room=room_url),
    )


def walk_in_ready(consultation_id: int, doctor: str) -> Reply:
    """Return the call to a walk-in: the doctor sees them by video at the clinic, on the health worker's phone.

    The room link would be no use on a feature phone, and the health worker who booked them has
    it (health_worker.worker_call_notice); the walk-in is told where to go.
    """
    return Reply(
        t(
            "Dr. {doctor} is ready for you now. Please go to the health worker who booked your token: "
            "you will see the doctor by video call there.",
            doctor=doctor,
        ),
        (Choice(f"join:{consultation_id}", t("I am coming"), JOIN_WORDS), Choice(f"leave:{consultation_id}", t("I cannot come now"), NO_WORDS)),
        kind="push",
        sms=sms("The doctor is ready now. Please go to your health worker at the clinic.\n1 I am coming 2 I cannot come now"),
    )


def reminder(consultation_id: int, doctor: str, room_url: str) -> Reply:
    """Return the one reminder after the first window passes without an answer."""
    return Reply(
        t("Dr. {doctor} is still waiting for you. Please join now:\n{room}", doctor=doctor, room=room_url),
        (Choice(f"join:{consultation_id}", t("I am joining"), JOIN_WORDS), Choice(f"leave:{consultation_id}", t("I cannot come now"), NO_WORDS)),
        kind="push",
        sms=sms("The doctor is still waiting. Join now: {room}\n1 I am joining 2 I cannot come now", room=room_url),
    )


def missed() -> Reply:
    """Return the notice that the call was missed and the token closed."""
    return Reply(
        t("You did not join, so the doctor has moved on to the next patient. Send MENU and choose “See a doctor” to book again."),
        kind="push",
        sms=sms("You missed the doctor's call. Send MENU to book again."),
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
        # The advice word for word on every channel: an SMS takes as many numbered parts as it
        # needs (bot/channels/twilio.py render), never a notice in its place.
        sms=sms("Advice from Dr. {doctor}:\n{advice}\nHow was your consultation? Reply 1-5 (5 = very good).", doctor=doctor, advice=words or "-"),
    )


def prescription(consultation_id: int, doctor: str) -> Reply:
    """Return the e-prescription of a finished consultation: the PDF where the channel carries files, its link everywhere.

    `{link}` is filled when the message is sent, with the signed link the runtime makes
    (bot/services/prescriptions.py); the PDF goes with it as a document or media. Until then it
    is empty, so the message reads whole wherever it is shown unsent.
    """
    return Reply(
        t("Your e-prescription from Dr. {doctor} (PDF). Show it at a pharmacy or hospital. It can be downloaded for 7 days: {link}",
          doctor=doctor, link=""),
        kind="push",
        # No doctor's name: a name can be 120 characters, and the link must fit 2 segments beside it.
        sms=sms("Your e-prescription from the doctor: {link}", link=""),
        attachment=Attachment("prescription", consultation_id),
    )


def worker_prescription(consultation_id: int, token_number: int, name: str, doctor: str) -> Reply:
    """Return a walk-in's e-prescription for the health worker who booked them (`{link}` filled when sent, as for the patient)."""
    return Reply(
        t("e-Prescription for {name} (token {number}) from Dr. {doctor} (PDF), to print or show at the pharmacy: {link}",
          name=name, number=token_number, doctor=doctor, link=""),
        kind="push",
        attachment=Attachment("prescription", consultation_id),
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
        joined = visits.join(int(rest))
        over = visits.call(int(rest)) if joined is None else None
        if over is not None and over.ended is not None:
            # "I am joining" pressed late: what became of the call, and the step it leads to (the rating after the advice).
            turn.replies.append(call_over(over))
            turn.data["consultation"] = int(rest)
            turn.goto(leave_call(turn, over))
            return True
        turn.notices.extend(joining_notices(joined) if joined is not None else ())
        turn.say(t("Thank you. The doctor knows you are coming.") if joined is not None else t("That call is over."))
    elif kind == "leave":
        ended = visits.decline(int(rest))
        turn.notices.extend(released_notices(ended, "declined") if ended is not None else ())
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
    for key in CALL_KEYS:
        turn.data.pop(key, None)
    turn.goto("menu")


def doctor_notice(kind: str, token_number: int) -> Reply:
    """Return a message pushed to a doctor about their call."""
    texts = {
        "joining": t("Token {number}: the patient is joining the call.", number=token_number),
        "no_show": t("Token {number}: the patient did not join, so the call is closed as a no-show. Send NEXT for the next patient.", number=token_number),
        "declined": t("Token {number}: the patient cannot come now, so the call is closed. Send NEXT for the next patient.", number=token_number),
    }
    return Reply(texts[kind], kind="push")


# --- what a call tells the others: notices (flows/notices.py) built from the ports' facts ------------

# The timers of a call, by kind: the one reminder, then the no-show.
CALL_TIMERS = ("call_reminder", "call_no_show")


def call_timer_key(consultation_id: int) -> str:
    """Return the key a call's timers are scheduled and cancelled under."""
    return f"consultation:{consultation_id}"


def stop_call_timers(consultation_id: int) -> list[Notice]:
    """Return the notices that cancel a call's timers (it was answered, or it ended)."""
    return [CancelTimer(kind, call_timer_key(consultation_id)) for kind in CALL_TIMERS]


def _to(party: Party | None, reply: Reply) -> list[Notice]:
    return [] if party is None else [Notify(party.identity_id, reply, about=party.about)]


def queue_moved_notices(moved: QueueMoved, now: dt.datetime) -> list[Notice]:
    """Tell the patient who has just reached place 3 to get ready, or look again once a call has committed."""
    if moved.reached is not None:
        return _to(moved.reached.patient, get_ready(moved.reached.opd, moved.reached.number))
    if moved.look_again is not None:
        opd, day = moved.look_again
        return [ScheduleTimer("get_ready", now, {"opd": opd, "day": day}, key=f"get_ready:{opd}:{day}")]
    return []


def called_notices(view: ConsultationView, now: dt.datetime) -> list[Notice]:
    """Return what a doctor's NEXT tells the others: the patient's call, their chat moved, the reminder, the health worker, place 3."""
    call = view.call
    if call is None:
        return []  # the consultation in hand, handed back: everyone was told when it was called
    patient = view.patient
    walk_in = view.health_worker is not None
    call_message = walk_in_ready(view.id, view.doctor) if walk_in else doctor_ready(view.id, view.doctor, view.room_url)
    notices = _to(patient, call_message)
    if patient is not None:
        moved = {"consultation": view.id, "doctor": view.doctor, "room": view.room_url, **({"walk_in": True} if walk_in else {})}
        # Also over the step of this very call: a token handed back (its doctor turned off) and called again keeps its
        # consultation, and the chat must hold the new doctor and room, not the old.
        notices.append(MoveConversation(patient.identity_id, "called", moved, or_at=_at_call(view.id)))
    notices.append(ScheduleTimer(
        "call_reminder", now + dt.timedelta(seconds=call.window_seconds), {"consultation": view.id, "window": call.window_seconds},
        identity_id=patient.identity_id if patient else None, key=call_timer_key(view.id),
    ))
    if call.ring is not None:
        # As well as the SMS with the room: a phone rings for a patient who may not read it.
        notices.append(Notify(call.ring.identity_id, doctor_ready_call(view.id, view.doctor), about=call.ring.about, exact=True))
    if view.health_worker is not None:
        notices.append(Notify(view.health_worker, worker_call_notice(view.id, view.token_number, view.patient_name, view.room_url), exact=True))
    return notices + queue_moved_notices(call.queue, now)


def ended_notices(view: ConsultationView, outcome: VisitOutcome) -> list[Notice]:
    """Return what a doctor's DONE, REFER or NO SHOW tells the patient: the advice and a rating, or the missed call."""
    notices = stop_call_timers(view.id)
    if outcome is VisitOutcome.NO_SHOW:
        return notices + _to(view.patient, missed()) + _call_closed(view.patient, view.id)
    notices += _to(view.patient, advice(view.id, view.doctor, view.advice))
    if outcome is VisitOutcome.DONE:
        notices += _to(view.patient, prescription(view.id, view.doctor))
    if view.health_worker is not None:
        # A walk-in's health worker hears the advice too, word for word: the patient may have no phone of their own.
        notices.append(Notify(view.health_worker, worker_advice(view.token_number, view.patient_name, view.doctor, view.advice), exact=True))
        if outcome is VisitOutcome.DONE:
            # And the prescription, for the clinic to print or show: a feature phone gets only its link.
            notices.append(Notify(view.health_worker, worker_prescription(view.id, view.token_number, view.patient_name, view.doctor), exact=True))
    if view.patient is not None:
        notices.append(MoveConversation(view.patient.identity_id, "rating", {"consultation": view.id}, or_at=_at_call(view.id)))
    return notices


def _at_call(consultation_id: int) -> tuple[str, dict[str, int]]:
    """Return the step a patient is at while this call waits for their answer: a move that ends the call may take them from it."""
    return ("called", {"consultation": consultation_id})


def _call_closed(patient: Party | None, consultation_id: int) -> list[Notice]:
    """Return the move that takes a patient still at this call's step back to the menu (the call closed without advice)."""
    return [] if patient is None else [MoveConversation(patient.identity_id, "menu", or_at=_at_call(consultation_id))]


def walk_in_join_action(turn: Turn, key: str) -> bool:
    """Carry out a health worker's "We are joining" under a walk-in's call; return False if the key is not one.

    The walk-in joins on the health worker's phone at the clinic: that tells the doctor they are
    coming and stops the no-show timers, as the patient's own "I am joining" would.
    """
    kind, _, rest = key.partition(":")
    walkins = turn.ports.walkins
    if kind != "hwjoin" or walkins is None:
        return False
    if not (rest.isascii() and rest.isdigit() and len(rest) <= 12):
        return False
    joined = walkins.join_with(int(rest))
    turn.notices.extend(joining_notices(joined) if joined is not None else ())
    turn.say(t("Thank you. The doctor knows you are joining with the patient.") if joined is not None else t("That call is over."))
    return True


def joining_notices(joined: Joined) -> list[Notice]:
    """Return what the patient's "I am joining" tells the doctor (the first time), and the call's timers stopped."""
    if not joined.first:
        return []
    return stop_call_timers(joined.consultation_id) + _to(joined.doctor, doctor_notice("joining", joined.token_number))


def released_notices(ended: CallEnded, why: str) -> list[Notice]:
    """Return what a call closed without the doctor's word tells the doctor: why, and their desk back home."""
    notices = stop_call_timers(ended.consultation_id)
    if ended.doctor is not None:
        notices.append(Notify(ended.doctor.identity_id, doctor_notice(why, ended.token_number)))
        notices.append(MoveConversation(ended.doctor.identity_id, "doctor_home", only_if_idle=False))
    return notices


def reminder_notices(consultation_id: int, patient: Party | None, doctor: str, room_url: str, now: dt.datetime, window_seconds: float) -> list[Notice]:
    """Return the call timer's one reminder to the patient, and the no-show timer after a second window."""
    return _to(patient, reminder(consultation_id, doctor, room_url)) + [ScheduleTimer(
        "call_no_show", now + dt.timedelta(seconds=window_seconds), {"consultation": consultation_id},
        identity_id=patient.identity_id if patient else None, key=call_timer_key(consultation_id),
    )]


def no_show_notices(ended: CallEnded, patient: Party | None) -> list[Notice]:
    """Return the no-show timer's notices: the patient missed the call, the doctor is freed."""
    return _to(patient, missed()) + _call_closed(patient, ended.consultation_id) + released_notices(ended, "no_show")


def cancelled_notices(cancelled: Cancelled, now: dt.datetime) -> list[Notice]:
    """Return what a cancelled token tells others: the doctor who had called it, and whoever reached place 3."""
    notices = released_notices(cancelled.call, "declined") if cancelled.call is not None else []
    return notices + queue_moved_notices(cancelled.queue, now)


class CalledStep(Step):
    """The doctor has called: the patient says they are joining, or cannot come."""

    name = "called"

    def skip(self, turn: Turn) -> str | None:
        """Pass a call that is over by: say what became of it, and go to the step after it."""
        state = call_over_state(turn)
        if state is None:
            return None
        turn.replies.append(call_over(state))
        return leave_call(turn, state)

    def ask(self, turn: Turn) -> Reply:
        over = call_over_state(turn)
        if over is not None:
            # Asked again (HELP, a danger sign, a button from before) at a call that is over: the truth; the next answer moves on.
            return call_over(over)
        if turn.data.get("walk_in"):
            return walk_in_ready(turn.data.get("consultation", 0), turn.data.get("doctor", ""))
        return doctor_ready(turn.data.get("consultation", 0), turn.data.get("doctor", ""), turn.data.get("room", ""))

    def answer(self, turn: Turn, answer: Answer) -> None:
        """Passes the answer on as the matching button (a call that is over is passed by instead)."""
        if call_over_state(turn) is not None:
            turn.goto(self.name)
        elif answer.choice is None or not visit_action(turn, answer.choice):
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
