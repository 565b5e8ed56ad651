"""The doctor's side: availability, calling the next patient, writing advice, ending a consultation.

```mermaid
stateDiagram-v2
    doctor_home --> consulting: next (a patient is called)
    consulting --> consulting: advice / NOTE: … (several messages)
    consulting --> doctor_home: done / refer / no-show
    doctor_home --> doctor_home: pause / off / free
```
Words work in English and Hindi as well as the buttons: "free"/"next"/"खाली"/"अगला",
"done"/"हो गया", "pause"/"ब्रेक", "off"/"ड्यूटी खत्म"; "mute"/"चुप" and "unmute" for pings.
"""

from __future__ import annotations

from flows.engine import Answer, Step, Turn, choose_again
from flows.messages import ByLanguage, Choice, Lines, Reply, Text, t
from flows.ports import (
    ConsultationView,
    DoctorState,
    DoctorView,
    PastConsultation,
    VisitOutcome,
)
from flows.steps import media, visit
from flows.steps.danger_words import danger_signs
from flows.understanding.text import fold, normalize_lines, truncate

NEXT_WORDS = ("next", "free", "next patient", "call next", "khali", "खाली", "agla", "अगला", "अगला मरीज़", "agla mareez")
PAUSE_WORDS = ("pause", "break", "ब्रेक", "thoda ruko", "ruko", "रुको", "रुकें", "रुकिए", "viraam", "विराम")
OFF_WORDS = ("off", "off duty", "duty off", "chhutti", "छुट्टी", "ड्यूटी खत्म", "duty khatam", "log off")
DONE_WORDS = ("done", "finished", "complete", "ho gaya", "हो गया", "खत्म", "khatam", "samapt", "समाप्त")
REFER_WORDS = ("refer", "referred", "refer karo", "रेफ़र", "रेफर")
NO_SHOW_WORDS = ("no show", "noshow", "no-show", "nahi aaya", "नहीं आया", "नहीं आए", "absent")
# Pings (flows/steps/pings.py) stop and start again with these, at the desk or with a patient.
MUTE_WORDS = ("mute", "mute pings", "silent", "chup", "चुप", "म्यूट", "ping band", "पिंग बंद", "shant", "शांत")
UNMUTE_WORDS = ("unmute", "unmute pings", "pings on", "ping chalu", "पिंग चालू", "अनम्यूट")
# A line starting with one of these is a private note for the record; anything else is
# advice, sent to the patient word for word when the consultation ends.
NOTE_PREFIXES = ("note:", "notes:", "नोट:", "note -", "नोट -")
ADVICE_MAX = 4000
# The summary is read on a phone: each earlier consultation takes a line or two, its advice and
# notes cut at a word with "…" (the whole record stays in the log).
HISTORY_ADVICE_MAX = 80
HISTORY_NOTE_MAX = 60


def _label(view: ConsultationView) -> Text:
    return t("Token {number}, {opd}", number=view.token_number, opd=view.opd)


def summary(view: ConsultationView) -> Text:
    """Return the patient's summary for the doctor."""
    symptoms = ByLanguage(
        en=", ".join(s.en for s in view.symptoms) or "-",
        hi=", ".join(s.hi for s in view.symptoms) or "-",
    )
    return t(
        "{token}\nPatient: {name}, {age}, {sex}, {state}\nSymptoms: {symptoms}\nIn their words: {words}\n"
        "Since: {duration}. Severity: {severity}\nDanger signs: {flags}\nEarlier consultations: {earlier}\nVideo room: {room}",
        token=_heading(view), name=view.patient_name, age=view.age, sex=SEX.get(view.sex, view.sex), state=_where(view),
        symptoms=symptoms, words=view.own_words or "-", duration=view.duration or "-",
        severity=SEVERITY.get(view.severity, "-"), flags=danger_signs(view.red_flags),
        earlier=_earlier(view), room=view.room_url,
    )


def _heading(view: ConsultationView) -> Text | Lines:
    """Return the token's line, and for a follow-up whose consultation it follows."""
    if view.follow_up_of is None:
        return _label(view)
    follows = view.follow_up_of
    return Lines((_label(view), t("Follow-up of Dr. {doctor}'s consultation on {date}", doctor=follows.doctor, date=follows.day)))


def _earlier(view: ConsultationView) -> int | Lines:
    """Return how many consultations the patient had before, then the last ones (newest first), a line or two each."""
    if not view.history:
        return view.earlier_consultations
    return Lines((view.earlier_consultations, *(line for past in view.history for line in _past(past))))


def _past(past: PastConsultation) -> tuple[Text, ...]:
    """Return one earlier consultation: date, doctor and advice; then the danger signs it had and its private note, if any."""
    advice = shortened(past.advice, HISTORY_ADVICE_MAX) or "-"
    head = (
        t("• {date}, Dr. {doctor} (referred): {advice}", date=past.day, doctor=past.doctor, advice=advice)
        if past.referred
        else t("• {date}, Dr. {doctor}: {advice}", date=past.day, doctor=past.doctor, advice=advice)
    )
    note = shortened(past.notes, HISTORY_NOTE_MAX)
    signs = danger_signs(past.red_flags)
    if note and signs != "-":
        return head, t("Danger signs then: {flags}. Private note: {note}", note=note, flags=signs)
    if note:
        return head, t("Private note: {note}", note=note)
    if signs != "-":
        return head, t("Danger signs then: {flags}", flags=signs)
    return (head,)


def shortened(text: str, limit: int) -> str:
    """Return text on one line (its lines joined with " / "), cut at a word with "…" past limit characters."""
    flat = " / ".join(line.strip() for line in text.splitlines() if line.strip())
    if len(flat) <= limit:
        return flat
    cut = truncate(flat, limit - 1)
    space = cut.rfind(" ")
    if space >= limit // 2:  # a word boundary not too far back; a long word is cut inside
        cut = cut[:space]
    return cut.rstrip(" /,.;:-") + "…"


def _where(view: ConsultationView) -> Text | ByLanguage:
    """Return where the patient is: their state, or for a walk-in the clinic and the number the doctor calls."""
    if not view.walk_in_phone:
        return view.state
    return t("walk-in at {clinic}, phone {phone}", clinic=view.clinic or "-", phone=view.walk_in_phone)


SEX = {"female": t("female"), "male": t("male"), "other": t("other")}
SEVERITY = {"mild": t("mild"), "moderate": t("moderate"), "severe": t("severe")}


def home_choices(view: DoctorView) -> tuple[Choice, ...]:
    """Return what a doctor can do when not with a patient: no status they already have."""
    choices = [Choice("next", t("Call the next patient"), NEXT_WORDS)]
    if view.status != DoctorState.PAUSED:
        choices.append(Choice("pause", t("Pause"), PAUSE_WORDS))
    if view.status != DoctorState.OFFLINE:
        choices.append(Choice("off", t("Go off duty"), OFF_WORDS))
        # Pings reach only a doctor on duty: off duty there is nothing to mute.
        choices.append(Choice("unmute", t("Unmute pings"), UNMUTE_WORDS) if view.pings_muted else Choice("mute", t("Mute pings"), MUTE_WORDS))
    return tuple(choices)


class DoctorHomeStep(Step):
    """Shows the doctor's status and queue, and takes free / next / pause / off."""

    name = "doctor_home"

    def ask(self, turn: Turn) -> Reply:
        view = turn.ports.desk.view()  # type: ignore[union-attr]
        return Reply(
            t(
                "Dr. {name}: you are {status}. Patients waiting in your OPDs: {waiting}.",
                name=view.name, status=STATUS_LABEL.get(view.status, view.status), waiting=view.waiting,
            ),
            home_choices(view),
        )

    def answer(self, turn: Turn, answer: Answer) -> None:
        """Calls the next patient, or changes the doctor's status."""
        desk = turn.ports.desk
        assert desk is not None
        if answer.choice == "next":
            call_next(turn)
        elif answer.choice == "pause":
            desk.set_status(DoctorState.PAUSED)
            turn.say(t("Paused. No patient will be called until you send NEXT."))
            turn.ask_again()
        elif answer.choice == "off":
            desk.set_status(DoctorState.OFFLINE)
            turn.say(t("You are off duty. Send NEXT when you are back."))
            turn.ask_again()
        elif mute(turn, answer):
            turn.ask_again()
        elif answer.key in OFF_WORDS and desk.view().status == DoctorState.OFFLINE:
            turn.ask_again(t("You are off duty already. Send NEXT when you are back."))
        elif answer.key in PAUSE_WORDS and desk.view().status == DoctorState.PAUSED:
            turn.ask_again(t("Paused. No patient will be called until you send NEXT."))
        elif answer.key in DONE_WORDS + REFER_WORDS + NO_SHOW_WORDS:
            turn.ask_again(t("There is no consultation open. Send NEXT to call a patient."))
        else:
            turn.ask_again(choose_again())


def mute(turn: Turn, answer: Answer) -> bool:
    """Mutes or unmutes the doctor's pings if that is what they sent; return whether it was."""
    desk = turn.ports.desk
    assert desk is not None
    muting, unmuting = (
        answer.choice == key or answer.key in {fold(word) for word in words} for key, words in (("mute", MUTE_WORDS), ("unmute", UNMUTE_WORDS))
    )
    if not (muting or unmuting):
        return False
    muted = muting
    desk.mute_pings(muted)
    turn.say(
        t(
            "Pings muted: you will not be told when patients join your queues, except a patient with danger signs "
            "nobody has called. Send UNMUTE to hear of them again."
        )
        if muted
        else t("Pings on: you will be told when patients join your queues. Send MUTE to stop them.")
    )
    return True


def call_next(turn: Turn) -> None:
    """Calls the next patient and gives the doctor the summary, or says nobody is waiting."""
    desk = turn.ports.desk
    assert desk is not None
    view = desk.call_next()
    if view is None:
        desk.set_status(DoctorState.FREE)
        turn.say(t("Nobody is waiting right now. You are marked free: send NEXT again in a while."))
        turn.goto("doctor_home")
        return
    turn.notices.extend(visit.called_notices(view, turn.now))
    turn.say(summary(view))
    if view.media:
        # Apart from the summary: the links are long, and the summary is read first.
        turn.say(media.summary_line([kind for kind, _ in view.media], [link for _, link in view.media]))
    turn.goto("consulting")


class ConsultingStep(Step):
    """Takes the doctor's advice and notes until done, refer or no-show."""

    name = "consulting"

    def skip(self, turn: Turn) -> str | None:
        view = turn.ports.desk.view()  # type: ignore[union-attr]
        return None if view.consultation is not None else "doctor_home"

    def ask(self, turn: Turn) -> Reply:
        return Reply(
            t(
                "Type your advice for the patient: it is sent to them word for word when you send DONE. "
                "Start a message with NOTE: for notes only doctors see."
            ),
            (
                Choice("done", t("Done"), DONE_WORDS),
                Choice("refer", t("Refer"), REFER_WORDS),
                Choice("no_show", t("Patient did not join"), NO_SHOW_WORDS),
            ),
        )

    def answer(self, turn: Turn, answer: Answer) -> None:
        """Keeps advice and notes, or ends the consultation."""
        desk = turn.ports.desk
        assert desk is not None
        outcomes = {"done": VisitOutcome.DONE, "refer": VisitOutcome.REFERRED, "no_show": VisitOutcome.NO_SHOW}
        if answer.choice in outcomes:
            ended = desk.finish(outcomes[answer.choice])
            if ended is None:
                turn.say(t("There is no consultation open. Send NEXT to call a patient."))
            else:
                turn.notices.extend(visit.ended_notices(ended, outcomes[answer.choice]))
                turn.say(t("Consultation with {name} is closed and logged.", name=ended.patient_name))
            desk.set_status(DoctorState.FREE)
            turn.goto("doctor_home")
            return
        if answer.key in NEXT_WORDS + OFF_WORDS + PAUSE_WORDS:
            turn.ask_again(t("You are still with a patient: send DONE, REFER or NO SHOW first."))
            return
        if mute(turn, answer):
            return
        # The doctor's words go to the patient as written: line breaks kept.
        text = truncate(normalize_lines(turn.inbound.text or ""), ADVICE_MAX)
        prefix = next((p for p in NOTE_PREFIXES if text.casefold().startswith(p)), None)
        private = prefix is not None
        if prefix is not None:
            text = text[len(prefix):].strip()
        if not text:
            turn.ask_again()
            return
        desk.write(text, private)
        turn.say(t("Noted (private).") if private else t("Added to the advice."))


STATUS_LABEL = {
    DoctorState.FREE: t("free"),
    DoctorState.BUSY: t("with a patient"),
    DoctorState.PAUSED: t("paused"),
    DoctorState.OFFLINE: t("off duty"),
}

STEPS: tuple[Step, ...] = (DoctorHomeStep(), ConsultingStep())
