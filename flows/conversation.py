"""One turn of a conversation: global commands first, then the current step.

``handle(state, inbound, ports)`` is the whole functional core: it returns the new state and
the replies, and the runtime commits both (with the inbound record) in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from flows.engine import (
    Answer,
    Inbound,
    State,
    Step,
    Turn,
    choose_again,
    resolve_choice,
)
from flows.messages import Reply, sms, t
from flows.notices import Notice
from flows.ports import Ports
from flows.steps import (
    advisories,
    booking,
    doctor,
    enrolment,
    erasure,
    health_worker,
    human,
    media,
    menu,
    onboarding,
    optout,
    reminders,
    visit,
)
from flows.steps import tokens as queue
from flows.understanding.commands import Command, match_command
from flows.understanding.redflags import detect
from flows.understanding.text import fold, normalize, truncate

# Steps where a message describing danger signs is also the answer (the complaint itself).
TAKES_SYMPTOMS = ("symptoms", "menu", "hw_symptoms")
# The one staff step whose text is a patient's words: the walk-in's complaint, typed by the
# health worker. Everything else staff type (a doctor's advice, "108 agar seene mein dard ho")
# is theirs, not a patient's, and is not screened.
STAFF_SCREENED = ("hw_symptoms",)
# Longer messages are cut before any step sees them; nothing we ask needs more.
MAX_TEXT = 2000


@dataclass
class Outcome:
    """What a turn produced: the state to save, the replies to queue, the notices to others, events to log."""

    state: State
    replies: list[Reply] = field(default_factory=list)
    # Messages to other people, their conversations moved, timers (flows/notices.py): the
    # runtime carries them out in the turn's transaction.
    notices: list[Notice] = field(default_factory=list)
    # Things the runtime should log, e.g. a doctor's command from someone not enrolled.
    events: list[str] = field(default_factory=list)


DOCTOR_STEPS = ("doctor_home", "consulting")


@cache
def steps() -> dict[str, Step]:
    """Return every step by name (an explicit registry, built on first use)."""
    return {
        step.name: step
        for step in (
            *onboarding.STEPS, *menu.STEPS, *booking.STEPS, *queue.STEPS, *visit.STEPS, *doctor.STEPS, *health_worker.STEPS,
            *erasure.STEPS, *enrolment.STEPS, *optout.STEPS, *reminders.STEPS,
            *advisories.STEPS,
        )
    }


def handle(state: State, inbound: Inbound, ports: Ports) -> Outcome:
    """Handle one inbound message and return the new state and the replies."""
    if inbound.blocked is not None:
        return _membership_changed(state, inbound.blocked)
    turn = Turn(state, inbound, ports, steps())
    text = truncate(normalize(inbound.text or ""), MAX_TEXT)
    command = match_command(text) if inbound.choice is None else None
    screened = ports.role == "patient" or state.step in STAFF_SCREENED
    flagged = bool(text and inbound.choice is None and screened and _red_flags(turn, text))

    if state.held:
        return _while_held(turn, command)

    if state.step == optout.CONFIRM and not state.opted_out and not optout.answers_confirm(turn, text):
        # Not an answer to "stop messages?": it belongs to the question that one interrupted.
        optout.resume(turn)

    # "enroll CODE" from any channel links it to a doctor or health worker; a staff tab takes the code alone.
    staff_tab = _opened_as_staff(turn)
    bare = staff_tab and state.step in (None, "enrol_code") and command is None and not flagged
    code = enrolment.code_in(text, bare=bare) if inbound.choice is None else None
    events: list[str] = []
    if inbound.media and ports.role == "patient" and state.step is not None and not state.opted_out and not staff_tab:
        # After any danger-sign advice on the caption; the caption is then read as a message.
        media.received(turn)
    if code is not None and not state.opted_out:
        _enrol(turn, code, events)
    elif ports.role == "doctor" and not state.opted_out:
        _staff_turn(turn, text, command, DOCTOR_STEPS, _doctor_home(turn))
    elif ports.role == "health_worker" and not state.opted_out:
        _staff_turn(turn, text, command, HW_STEPS, "hw_home")
    elif ports.role == enrolment.DISABLED and not state.opted_out:
        _account_off(turn, command)
    elif state.opted_out:
        _while_opted_out(turn, command)
    elif staff_tab:
        _await_code(turn, text, command)
    elif inbound.choice is not None and visit.visit_action(turn, inbound.choice):
        pass
    elif state.step is None:
        _first_contact(turn, text, command)
    elif command is not None and not _step_offers(turn, command):
        _global_command(turn, command)
    elif flagged and state.step not in TAKES_SYMPTOMS:
        # "chest pain" is no answer to "What is your name?": after the advice, ask again.
        turn.ask_again()
    else:
        if turn.state.step in ("menu", "symptoms") and fold(text) in doctor.NEXT_WORDS + doctor.DONE_WORDS:
            events.append("doctor command from an identity that is not enrolled as a doctor")
        _answer_step(turn, text)
    return Outcome(turn.state, turn.replies, turn.notices, events)


def _while_held(turn: Turn, command: Command | None) -> Outcome:
    """Answers a chat a coordinator holds: only danger-sign advice (already said) and STOP; the rest is theirs.

    The message itself goes to the coordinator (the dispatcher records it in the inbox).
    """
    if command is Command.STOP:
        optout.stop_messages(turn)
    return Outcome(turn.state, turn.replies, turn.notices, ["held by a coordinator: not answered by the bot"])


def slow_down() -> Reply:
    """Return the one notice a flood of messages gets (the runtime counts; see bot/dispatch.py).

    It names the emergency numbers: the person sending so fast may be panicking.
    """
    return Reply(
        t("You are sending messages very fast; I will answer again in a minute. In an emergency call 108 or 112 now."),
        sms=sms("Too many messages: I will answer in a minute. Emergency: call 108 or 112 now."),
    )


def _membership_changed(state: State, blocked: bool) -> Outcome:
    """Opts out a user who blocked us, or back in one who unblocked us, and says nothing.

    Nothing can reach someone who blocked us; whoever unblocks says what they want next.
    The question they were at stays where it was.
    """
    state.opted_out = blocked
    return Outcome(state)


def _enrol(turn: Turn, code: str, events: list[str]) -> None:
    """Links this chat to a doctor or health worker with a one-time code."""
    if turn.state.language is None:  # enrolling is the first message: answer in its language
        turn.state.language = onboarding.first_language(turn, turn.inbound.text)
    accounts = turn.ports.accounts
    result, role, name = accounts.enrol(code) if accounts is not None else ("unknown", None, None)
    if result != "enrolled":
        events.append(f"enrolment refused: {result}")
        problem, short = enrolment.refused(result), enrolment.refused_sms(result)
        if turn.state.step is None:
            turn.say(problem, sms=short)
            # A staff tab keeps asking for the code; anywhere else a patient may have typed it.
            turn.goto("enrol_code" if _opened_as_staff(turn) else "language")
        else:
            turn.say(problem, sms=short)
            turn.ask_again()
        return
    events.append(f"enrolled as {role}")
    turn.data.clear()
    if role == "doctor":
        turn.say(t("Welcome, Dr. {name}. This chat is now your doctor's desk.", name=name or ""))
        turn.goto("doctor_home")
    else:
        turn.say(t("Welcome, {name}. This chat is now linked to your health worker account.", name=name or ""))
        turn.goto("hw_home")


def _account_off(turn: Turn, command: Command | None) -> None:
    """Tells a disabled doctor's or health worker's chat, whatever it sends, that it is no desk now (STOP still works)."""
    if command is Command.STOP:
        optout.stop_messages(turn)
    else:
        turn.replies.append(enrolment.account_off())


def _opened_as_staff(turn: Turn) -> bool:
    """Return True for a chat opened as a doctor's or health worker's (the web chat's tabs) that is not one yet.

    Such a chat never registers a patient: it asks for the code. A patient already
    registered in it (before the tabs existed) goes on as one.
    """
    return (
        turn.inbound.opened_as in enrolment.STAFF_ROLES
        and turn.ports.role == "patient"
        and turn.ports.patients.profile() is None
    )


def _await_code(turn: Turn, text: str, command: Command | None) -> None:
    """Answers a staff tab before its code: STOP and LANGUAGE work, and the code is asked for again."""
    if turn.state.language is None:
        turn.state.language = onboarding.first_language(turn, text)
    if command is Command.STOP:
        optout.stop_messages(turn)
    elif command is Command.LANGUAGE:
        turn.data["resume_step"] = "enrol_code"
        turn.goto("language")
    elif turn.state.step == "language" and command is None:
        _answer_step(turn, text)
    else:
        turn.goto("enrol_code")


HW_STEPS = tuple(step.name for step in health_worker.STEPS)


def _staff_turn(turn: Turn, text: str, command: Command | None, own_steps: tuple[str, ...], home: str) -> None:
    """Runs a doctor's or health worker's message: their own steps, with the commands that apply.

    MENU, STATUS and HELP bring them back to their own desk; the patient menu is not theirs.
    """
    if turn.state.language is None:
        turn.state.language = onboarding.first_language(turn, text)
    if turn.inbound.choice is not None and home == "hw_home" and visit.walk_in_join_action(turn, turn.inbound.choice):
        return  # a button under a walk-in's call, whatever the health worker is doing
    if command is Command.STOP:
        optout.stop_messages(turn)
    elif command is Command.ERASE:
        turn.replies.append(erasure.staff_erasure())
        turn.goto(turn.state.step if turn.state.step in own_steps else home)
    elif command is Command.LANGUAGE:
        turn.data["resume_step"] = turn.state.step if turn.state.step in own_steps else home
        turn.goto("language")
    elif command is Command.HELP and home == "hw_home":
        turn.say(health_worker.hw_help())
        turn.goto(turn.state.step if turn.state.step in own_steps else home)
    elif turn.state.step not in (*own_steps, "language") or command in (Command.MENU, Command.STATUS, Command.HELP):
        turn.goto(home)
    else:
        _answer_step(turn, text)


def _doctor_home(turn: Turn) -> str:
    """Return where a doctor's desk is: the consultation in hand, or the home screen."""
    return "consulting" if turn.ports.desk and turn.ports.desk.view().consultation else "doctor_home"


# What to do about danger signs, by red-flag action: told to the patient, and to a health worker
# about the walk-in patient in front of them. No diagnosis and no medicine: 108/112, or
# Tele-MANAS (14416, India's free 24-hour mental health line) for thoughts of self-harm.
PATIENT_ADVICE = {
    "ambulance": Reply(
        t(
            "Call 108 now for an ambulance, or 112. This may be an emergency: "
            "do not wait for an online doctor. If you can, ask someone to stay with the patient."
        ),
        sms=sms("EMERGENCY: call 108 for an ambulance now, or 112. Do not wait."),
        emergency=True,
    ),
    "mental_health": Reply(
        t(
            "You are not alone, and help is there right now. Please call Tele-MANAS on 14416: it is free, "
            "open day and night, and you can talk in your own language. If you are in danger now, call 112."
        ),
        sms=sms("You are not alone. Call Tele-MANAS 14416 (free, 24 hours). In danger now: call 112."),
        emergency=True,
    ),
}
WALK_IN_ADVICE = {
    "ambulance": Reply(
        t(
            "Danger signs: this patient may need emergency care now. Call 108 for an ambulance, or 112; "
            "do not wait for the online OPD. If you book a token, the patient will be seen first."
        ),
        sms=sms("Danger signs: call 108 for an ambulance now, or 112. If booked, the patient is seen first."),
        emergency=True,
    ),
    "mental_health": Reply(
        t(
            "The patient may be thinking of suicide or self-harm. Stay with them and help them call Tele-MANAS "
            "on 14416: it is free, open day and night, in their own language. If they are in danger now, call 112."
        ),
        sms=sms("Patient may be at risk of self-harm: stay with them, call Tele-MANAS 14416. In danger now: 112."),
        emergency=True,
    ),
}


def _red_flags(turn: Turn, text: str) -> bool:
    """Puts emergency advice before anything else when a message describes danger signs.

    The patient may still book; the flags go with the token, which is then called first.
    """
    flags = detect(text)
    if not flags:
        return False
    actions = {flag.action for flag in flags}
    advice = WALK_IN_ADVICE if turn.ports.role == "health_worker" else PATIENT_ADVICE
    turn.replies.extend(advice[action] for action in ("ambulance", "mental_health") if action in actions)
    known = turn.data.setdefault("red_flags", [])
    known.extend(flag.code for flag in flags if flag.code not in known)
    return True


def _first_contact(turn: Turn, text: str, command: Command | None) -> None:
    """Greets a new user in the language their first message suggests, and asks for one."""
    if command is Command.STOP:
        optout.stop_messages(turn)
        return
    chosen = turn.state.language is not None  # set beforehand, e.g. `teleopd chat --lang hi`
    if not chosen:
        turn.state.language = onboarding.first_language(turn, text)
    turn.say(t("Namaste! I am the teleopd assistant. I can help you see a doctor online."))
    turn.goto("consent" if chosen else "language")


def _while_opted_out(turn: Turn, command: Command | None) -> None:
    """Comes back on START; otherwise says, once per message, how to come back."""
    if command is not Command.START:
        turn.say(t("You have stopped messages from teleopd. Send START to begin again."))
        return
    turn.state.opted_out = False
    turn.say(t("Welcome back!"))
    if _opened_as_staff(turn):
        turn.goto("enrol_code")
    elif turn.ports.patients.profile() is not None:
        turn.data.clear()
        turn.goto("menu")
    elif "consent_at" in turn.data and turn.state.step not in (None, "language", "consent"):
        turn.ask_again()
    else:
        turn.data.clear()
        turn.goto("consent" if turn.state.language else "language")


def _step_offers(turn: Turn, command: Command) -> bool:
    """Return True when the current question itself offers the command's word as an answer.

    "cancel" at "Cancel token 5?" means yes, cancel it — not "start cancelling again".
    """
    if command not in (Command.CANCEL, Command.STATUS, Command.ERASE):
        return False
    return any(choice.key == command.value for choice in turn.step().ask(turn).choices)


def _global_command(turn: Turn, command: Command) -> None:
    """Runs a command that works at every step; the user is never left without a question."""
    registered = turn.ports.patients.profile() is not None
    if command is Command.STOP:
        optout.stop_messages(turn)
    elif command is Command.MAYBE_STOP:
        optout.ask_to_stop(turn)
    elif command is Command.HELP:
        turn.say(menu.help_text(), sms=menu.help_sms())
        turn.ask_again()
    elif command is Command.ERASE:
        erasure.start_erasure(turn)
    elif command is Command.HUMAN:
        human.ask_for_person(turn)
        turn.ask_again()
    elif command in (Command.ADVISORIES_OFF, Command.ADVISORIES_ON):
        advisories.by_command(turn, on=command is Command.ADVISORIES_ON)
    elif command is Command.LANGUAGE:
        if turn.state.step != "language":
            turn.data["resume_step"] = turn.state.step
        turn.goto("language")
    elif command is Command.STATUS:
        if registered:
            queue.tell_status(turn)
        turn.ask_again(None if registered else t("Let us finish registering first. It takes about a minute."))
    elif command is Command.CANCEL:
        if registered:
            queue.start_cancel(turn)
        else:
            turn.ask_again(t("You have no token to cancel."))
    elif command is Command.MENU or command is Command.START:
        if registered:
            for key in ("mode", "editing", "resume_step", "token", "red_flags", *booking.BOOKING_KEYS):
                turn.data.pop(key, None)
            turn.goto("menu")
        else:
            turn.ask_again(t("Let us finish registering first. It takes about a minute."))


def _answer_step(turn: Turn, text: str) -> None:
    """Gives the message to the current step, after matching it against the step's choices."""
    step = turn.step()
    if not text and turn.inbound.choice is None and turn.inbound.contact_phone is None:
        # A file without a caption has had its answer (flows/steps/media.py): the question again.
        answered = turn.inbound.media and turn.ports.role == "patient" and not _opened_as_staff(turn)
        turn.ask_again(None if answered else t("I can only read text messages. Please type your answer."))
        return
    key = fold(text)
    offered = step.ask(turn).choices
    choice = resolve_choice(turn.inbound, key, offered, turn.ports.labels)
    if turn.inbound.choice is not None and choice is None:
        # A button from an older message: answer the question being asked now.
        turn.ask_again(t("That button belongs to an earlier question."))
        return
    before = turn.state.step
    step.answer(turn, Answer(text=text, key=key, choice=choice, inbound=turn.inbound))
    if turn.ports.role == "patient":
        # "Please choose again" three times at one question: a person should look (the inbox).
        missed = choice is None and bool(offered) and any(reply.text == choose_again() for reply in turn.replies)
        if missed and turn.state.step == before:
            human.count_unrecognised(turn)
        else:
            turn.state.misses = 0
