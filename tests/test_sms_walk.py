"""Every step of every flow a patient meets, walked over SMS in every language, within budget.

Each message is rendered exactly as the SMS channel sends it (tests/sms_walk_helpers.py): the
SMS form translated, choices laid out by render_sms, parts by sms_parts. Every SMS must fit 2
segments (the advice: each numbered part), English must stay GSM-7, none may speak of buttons.
A message over budget fails naming its msgid and language. The coverage test fails when a
patient-facing message is never walked: a new one needs its SMS walk (or a reason below).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from bot.platform.i18n import Catalogs
from flows.conversation import slow_down, steps
from flows.engine import LANGUAGES
from flows.messages import ByLanguage, Reply
from flows.ports import (
    BookingOutcome,
    CallEnd,
    ConsultationView,
    NewCall,
    Party,
    PlaceThree,
    QueueMoved,
)
from flows.ports.media import NEXT_TOKEN, NOW, QUEUE
from flows.steps import (
    advisories,
    doctor,
    enrolment,
    erasure,
    health_worker,
    human,
    media,
    reminders,
    visit,
)
from flows.steps.health_worker import patient_token_sms
from tests.helpers import IN_MEMORY_NOW, consultation_view, registered_profile
from tests.sms_walk_helpers import (
    LONGEST_OPD,
    WALK_OPDS,
    AnsweringBookings,
    CalledBookings,
    Recorder,
    Refusing,
    SmsPatient,
    WalkVisits,
    flow_msgids,
    registered,
)
from tests.test_broadcast_flow import FakeAdvisories
from tests.test_media_flow import FakeMedia

LONG_ADVICE = (
    "Take paracetamol 500 mg every six hours for three days, with water after food. Drink plenty of fluids. " * 4
    + "If the fever stays above 102 F, or you feel drowsy or breathless, call 108 at once."
)


def walk_registration(rec: Recorder) -> None:
    """First contact, language, consent (declined, then back and agreed), every question with wrong answers, every correction."""
    p = SmsPatient(rec)
    p.send("hello")
    assert p.step == "language"
    p.send("xyz")
    p.pick(rec.lang)
    assert p.step == "consent"
    p.send("maybe")
    p.send("STATUS")
    p.send("CANCEL")
    p.send("MENU")
    p.pick("decline")
    assert p.state.opted_out
    p.send("hello")
    p.send("START")
    assert p.step == "consent"
    p.pick("agree")
    assert p.step == "name"
    for wrong in ("12345", "A" * 100, "I have chest pain"):
        p.send(wrong)
    p.send("Sunita Devi")
    p.send("abc")
    p.send("34")
    assert p.step == "sex"
    p.send("xyz")
    p.pick("female")
    assert p.step == "state"
    p.send("Atlantis")
    p.send("Uttar Pradesh")
    assert p.step == "district"
    p.send("12")
    p.send("x" * 70)
    p.send("Varanasi")
    assert p.step == "confirm", "the SMS number is the mobile number: not asked"
    p.send("xyz")
    for key, answer in (("edit_name", "Sunita Kumari"), ("edit_age", "35"), ("edit_state", "Bihar"), ("edit_district", "Patna")):
        p.pick(key)
        p.send(answer)
        assert p.step == "confirm"
    p.pick("edit_sex")
    p.pick("female")
    p.pick("edit_phone")
    assert p.step == "phone"
    p.send("123")
    p.pick("skip")
    p.pick("edit_phone")
    p.send("98765 43210")
    p.send("")  # a picture: no text
    p.pick("confirm")
    assert p.step == "menu" and p.patients.saved is not None
    # A deployment without a public URL (no /privacy to point to) still says the essentials.
    demo = SmsPatient(rec, public_url="")
    demo.send("hello")
    demo.pick(rec.lang)
    assert demo.step == "consent"


def walk_menu(rec: Recorder) -> None:
    """The menu, help, details, language, the commands without a token, unknown input."""
    p = registered(rec)
    p.send("xyz")
    p.pick("help")
    p.send("HELP")
    p.pick("details")
    assert p.step == "confirm"
    p.pick("confirm")
    p.pick("language")
    p.send("xyz")
    p.pick(rec.lang)
    assert p.step == "menu"
    p.send("LANGUAGE")
    p.pick(rec.lang)
    p.send("STATUS")
    p.send("CANCEL")
    p.pick("token")
    assert p.step == "menu"
    p.send("enroll ABCD1234")
    registered(rec, accounts=Refusing()).send("enroll ABCD1234")
    big = registered(rec, bookings=AnsweringBookings(opd_list=WALK_OPDS, big=True))
    big.send("fever since 2 days")
    big.pick("self")
    big.pick("mild")
    big.pick("book")
    big.send("STATUS")


def walk_booking(rec: Recorder) -> None:
    """A booking for oneself with every wrong answer, the token menu, moving and cancelling."""
    p = registered(rec)
    p.pick("book")
    p.send("...")
    p.send("fever and cough")
    assert p.step == "for_whom"
    p.send("xyz")
    p.pick("self")
    p.send("xyz")
    p.send("3 days")
    assert p.step == "severity"
    p.send("xyz")
    p.pick("mild")
    assert p.step == "opd_suggest"
    p.send("xyz")
    p.pick("other")
    p.send("Atlantis")
    p.pick("opd:1")
    assert p.step == "menu" and p.ports["bookings"].tokens
    p.send("STATUS")
    p.pick("token")
    assert p.step == "token_menu"
    p.send("xyz")
    p.pick("move")
    p.send("xyz")
    p.send("1")
    p.pick("token")
    p.pick("cancel")
    assert p.step == "cancel_confirm"
    p.send("xyz")
    p.pick("keep")
    p.send("CANCEL")
    p.pick("cancel")
    # Two tokens: which one to cancel.
    p.send("fever since 2 days")
    p.pick("self")
    p.pick("severe")
    p.pick("book")
    p.send("headache since yesterday")
    p.pick("self")
    p.pick("moderate")
    p.pick("book")
    p.send("STATUS")
    p.send("CANCEL")
    assert p.step == "cancel_pick"
    p.send("xyz")
    p.pick("keep")
    p.send("CANCEL")
    p.send("1")
    p.pick("cancel")
    # A token gone behind the question's back.
    gone = SmsPatient(rec, registered_profile(), step="cancel_confirm", data={"token": 999})
    gone.send("hello")
    gone.send("1")


def walk_family_and_closed_opds(rec: Recorder) -> None:
    """A child's booking (a new family member) at an OPD closed now: the next session offered, refused, taken."""
    p = registered(rec)
    p.send("my child has fever")
    p.pick("child")
    assert p.step == "dep_name"
    p.send("123")
    p.send("Munni")
    p.send("abc")
    p.send("4")
    p.send("xyz")
    p.pick("female")
    p.send("2 days")
    p.pick("mild")
    assert p.step == "opd_suggest"
    p.pick("other")
    p.pick("opd:2")
    assert p.step == "offer"
    p.send("xyz")
    p.pick("other")
    p.pick("opd:2")
    p.pick("no")
    p.pick("book")
    p.send("fever")
    p.pick("dep:100")
    p.send("2 days")
    p.pick("mild")
    p.pick("book")  # the suggestion says when: yes books the next session
    p.pick("book")
    p.send("fever")
    p.pick("dep:100")
    p.send("2 days")
    p.pick("mild")
    p.pick("other")
    p.pick("opd:2")
    p.pick("accept")
    assert p.step == "menu"


def walk_booking_answers(rec: Recorder) -> None:
    """What else booking can answer: a token already held, today full, no session, no OPD, moves that fail."""
    for outcome in (BookingOutcome.EXISTING, BookingOutcome.FULL, BookingOutcome.NO_SESSION):
        p = registered(rec, bookings=AnsweringBookings(opd_list=WALK_OPDS, outcome=outcome))
        p.send("fever since 2 days")
        p.pick("self")
        p.pick("mild")
        p.pick("other")
        p.pick("opd:1")
    p = registered(rec, bookings=AnsweringBookings(opd_list=()))
    p.send("fever since 2 days")
    p.pick("self")
    p.pick("mild")
    for bookings in (AnsweringBookings(opd_list=WALK_OPDS, no_sessions=True), AnsweringBookings(opd_list=WALK_OPDS, move_outcome=BookingOutcome.FULL)):
        p = registered(rec, bookings=bookings)
        p.send("fever since 2 days")
        p.pick("self")
        p.pick("mild")
        p.pick("book")
        p.pick("token")
        p.pick("move")
        p.send("1")


def walk_red_flags(rec: Recorder) -> None:
    """Danger signs: 108/112 first and a token called first; Tele-MANAS 14416 and a doctor offered gently."""
    p = registered(rec)
    p.send("chest pain since morning")
    p.pick("self")
    assert p.step == "opd_suggest"
    p.pick("book")
    p = registered(rec)
    p.send("I am pregnant and have heavy bleeding")
    p.pick("self")
    assert "later" in [c.key for c in p.last[-1].choices]
    p.pick("later")
    for answer in ("no", "yes"):
        p = registered(rec)
        p.send("I want to kill myself")
        assert p.step == "support_offer"
        p.send("xyz")
        p.pick(answer)
    p.pick("book")


def walk_stop_and_erase(rec: Recorder) -> None:
    """Stopping (at once and after asking, with tokens and without), coming back, erasure kept and done."""
    p = registered(rec)
    p.send("ruko")
    p.pick("keep")
    p.send("STOP")
    p.send("hello")
    p.send("START")
    assert p.step == "menu"
    for _ in range(2):
        p.send("fever since 2 days")
        p.pick("self")
        p.pick("mild")
        p.pick("book")
        p.send("ruko")
        p.pick("keep")
        p.send("band")
        p.pick("stop")
        p.send("START")
    p.send("STOP")
    p.send("START")
    p.send("DELETE MY DATA")
    assert p.step == "erase_confirm"
    p.send("xyz")
    p.pick("keep")
    p.send("DELETE MY DATA")
    p.pick("erase")
    assert p.patients.saved is None
    new = SmsPatient(rec)
    new.send("hello")
    new.send("DELETE MY DATA")
    new.pick("keep")


def walk_visit(rec: Recorder) -> None:
    """Being called, reminded, missing the call, a doctor who cannot go on, getting ready, the advice, the rating."""
    patient = Party(41, about=9)
    view = ConsultationView(
        **{**consultation_view().__dict__, "patient": patient, "doctor": "Anita Sharma", "advice": LONG_ADVICE, "call": NewCall(120.0)},
    )
    room = "https://video.example-state.gov.in/teleopd-" + "x" * 22
    view = ConsultationView(**{**view.__dict__, "room_url": room})
    rec.notices(visit.called_notices(view, IN_MEMORY_NOW), 41, "doctor's NEXT")
    rec.notices(visit.reminder_notices(7, patient, "Anita Sharma", room, IN_MEMORY_NOW, 120.0), 41, "call reminder")
    rec.notices(visit.no_show_notices(visit.CallEnded(7, 1, Party(5)), patient), 41, "no-show")
    rec.notices(visit.queue_moved_notices(QueueMoved(reached=PlaceThree(patient, LONGEST_OPD, 99_999)), IN_MEMORY_NOW), 41, "place 3")
    rec.record(visit.call_cut_short(), "doctor disabled")
    rec.notices(visit.ended_notices(view, visit.VisitOutcome.DONE), 41, "doctor's DONE")
    rec.record(slow_down(), "flood")
    rec.record(patient_token_sms(99_999, LONGEST_OPD, dt.date(2026, 9, 30), 99_999, 999_990), "walk-in booked")
    rec.record(patient_token_sms(99_999, LONGEST_OPD, dt.date(2026, 9, 30), 1, 0), "walk-in booked first in line")
    # A walk-in's call: they go to the health worker who booked them, who has the room.
    walk_in = ConsultationView(**{**view.__dict__, "health_worker": 55})
    rec.notices(visit.called_notices(walk_in, IN_MEMORY_NOW), 41, "doctor's NEXT for a walk-in")
    data = {"consultation": 7, "doctor": "Anita Sharma", "room": room}
    for call_data in (data, {**data, "walk_in": True}):
        for answer in ("1", "2"):
            p = SmsPatient(rec, registered_profile(), step="called", data=call_data, visits=WalkVisits())
            p.send("xyz")
            p.send(answer)
    # STATUS while the doctor calls, and once the patient has joined: the call, not a place in the queue.
    for status in ("called", "in_consultation"):
        SmsPatient(rec, registered_profile(), step="called", data=data, visits=WalkVisits(), bookings=CalledBookings(status=status)).send("STATUS")
    # STATUS for a follow-up: the full text says whose it is; the SMS form is the usual one.
    follow_up = AnsweringBookings(big=True)
    follow_up.tokens.append(dataclasses.replace(follow_up.token(WALK_OPDS[0], 3, WALK_OPDS[0].next_session), follow_up_doctor="Anita Sharma"))
    SmsPatient(rec, registered_profile(), step="menu", bookings=follow_up).send("STATUS")
    # A call that ended while the chat still held it: what became of it, each way a call ends (None: open, yet join finds it over).
    for end in (None, *CallEnd):
        SmsPatient(rec, registered_profile(), step="called", data={**data, "consultation": 8}, visits=WalkVisits(other_call=end)).send("1")
    for follow_up_day, answer in ((dt.date(2026, 11, 27), "1"), (None, "1"), (None, "2")):
        p = SmsPatient(rec, registered_profile(), step="rating", data={"consultation": 7}, visits=WalkVisits(follow_up_day=follow_up_day))
        p.send("9")
        p.send("5")
        assert p.step == "followup_offer"
        p.send("xyz")
        p.send(answer)
    SmsPatient(rec, registered_profile(), step="rating", data={"consultation": 7}, visits=WalkVisits(rated=True)).send("4")


def walk_media(rec: Recorder) -> None:
    """Photos, documents and voice notes (MMS, where the provider carries it; or WhatsApp's answer falling back to SMS)."""
    for where in (NOW, QUEUE, NEXT_TOKEN):
        for kinds in (("photo",), ("document",), ("voice",), ("photo", "voice")):
            p = registered(rec, media=FakeMedia(where=where, kinds=kinds))
            p.send("", media=kinds)
    p = registered(rec, media=FakeMedia(limit=1, held=1, kinds=("photo", "voice")))
    p.send("", media=("photo", "voice"))
    newcomer = SmsPatient(rec, step="name", media=FakeMedia())
    newcomer.send("", media=("photo",))
    newcomer.send("", media=("voice",))
    # A file that could not be kept, told after fetching (bot/media/fetcher.py).
    for reason in (media.TOO_BIG, media.WRONG_TYPE, media.NOT_RECEIVED):
        for kind in (media.PHOTO, media.VOICE):
            rec.record(media.refused(reason, kind, 10), f"fetched: {reason}")


def walk_reminders(rec: Recorder) -> None:
    """A token's reminders (tomorrow, today; a follow-up's in its doctor's words), and the answers to them."""
    patient = Party(41, about=9)
    starts = dt.datetime(2026, 11, 26, 3, 30, tzinfo=dt.UTC)  # 9:00 am in India
    for kind in reminders.KINDS:
        for doctor_name in ("", "Anita Sharma Bhattacharya"):
            due = reminders.DueReminder(kind, patient, 1, 99_999, LONGEST_OPD, "Sunita Devi", starts.date(), starts, doctor_name)
            rec.notices(reminders.reminder_notices(due), 41, f"{kind} reminder{' (follow-up)' if doctor_name else ''}")
    for answer in ("xyz", "1", "2", "haan"):
        bookings = AnsweringBookings(big=True)
        bookings.tokens.append(bookings.token(WALK_OPDS[0], 3, WALK_OPDS[0].next_session))
        p = SmsPatient(rec, registered_profile(), step=reminders.ANSWER_STEP, data={"token": bookings.tokens[0].id}, bookings=bookings)
        p.send(answer)
    # The token was cancelled or called meanwhile.
    p = SmsPatient(rec, registered_profile(), step=reminders.ANSWER_STEP, data={"token": 99}, bookings=AnsweringBookings())
    p.send("1")
    # A call never answered: "do you still need a doctor?", and its answers.
    rec.notices(reminders.missed_call_notices(patient, 99_999, LONGEST_OPD), 41, "missed call")
    for answer in ("xyz", "1", "2"):
        SmsPatient(rec, registered_profile(), step=reminders.MISSED_STEP).send(answer)


def walk_person(rec: Recorder) -> None:
    """Asking for a person (in the team's hours and outside them), and what the coordinators' inbox tells the patient."""
    registered(rec).send("talk to a person")
    registered(rec, inbox_hours=(23, 24)).send("insaan se baat karni hai")
    rec.record(human.taken_over(), "inbox takeover")
    rec.record(human.coordinator_says("Namaste, kal subah 10 baje OPD aaiye."), "coordinator's reply")
    for reply in human.handed_back(registered=True):
        rec.record(reply, "hand-back")


def walk_advisories(rec: Recorder) -> None:
    """Health advisories: their own consent question at the menu, yes and no, the words that stop and start them, an advisory."""
    for answer in ("yes", "no"):
        p = SmsPatient(rec, registered_profile(), step="menu")
        p.ports["advisories"] = FakeAdvisories(p.patients)
        p.send("MENU")
        assert p.step == advisories.QUESTION, p.step
        p.pick(answer)
    p = SmsPatient(rec, registered_profile(), step="menu")
    p.ports["advisories"] = FakeAdvisories(p.patients, asked=True, opted_in=True)
    p.send("NO ADVISORIES")
    p.send("ADVISORIES")
    newcomer = SmsPatient(rec, step="name")
    newcomer.ports["advisories"] = FakeAdvisories(newcomer.patients)
    newcomer.send("salaah shuru")
    for template in advisories.TEMPLATES:
        rec.record(advisories.advisory(template=template), f"advisory {template}")
    own = ByLanguage(en="Polio drops on Sunday at the PHC.", hi="रविवार को पीएचसी पर पोलियो की दवा।", latn="Ravivar ko PHC par polio ki dawa.")
    rec.record(advisories.advisory(own), "an operator's advisory")


WALKS = (
    walk_registration, walk_menu, walk_booking, walk_family_and_closed_opds, walk_booking_answers, walk_red_flags,
    walk_stop_and_erase, walk_visit, walk_media, walk_reminders, walk_person, walk_advisories,
)
_walked: dict[str, Recorder] = {}


def walked(catalogs: Catalogs, lang: str) -> Recorder:
    """Return the whole walk in a language (walked once per test session)."""
    if lang not in _walked:
        recorder = Recorder(catalogs, lang)
        for walk in WALKS:
            walk(recorder)
        _walked[lang] = recorder
    return _walked[lang]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_sms_a_patient_gets_fits_two_segments(catalogs: Catalogs, lang: str) -> None:
    recorder = walked(catalogs, lang)
    assert len(recorder.bodies) > 100
    assert not recorder.problems, f"{len(recorder.problems)} SMS over budget or wrong:\n" + "\n".join(recorder.problems)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_message_over_budget_is_named_with_its_language(catalogs: Catalogs, lang: str) -> None:
    """The walk is no formality: a full text without its SMS form fails it, by msgid and language."""
    recorder = Recorder(catalogs, lang)
    recorder.record(Reply(erasure.ERASE_CONFIRM.question), "erase_confirm")
    (problem,) = recorder.problems
    assert problem.startswith(f"{erasure.ERASE_CONFIRM.question.msgid!r} [{lang}] at erase_confirm: ")


# Messages marked in flows/ that a patient never gets over SMS, and why.
NOT_TO_PATIENTS_BY_MODULE = {
    # A doctor's desk: doctors work on Telegram, WhatsApp or the web chat, not a feature phone.
    "steps/doctor.py",
    # A health worker's desk on a chat channel; the walk-in patient's own SMS (patient_token_sms) is walked.
    "steps/health_worker.py",
    # Spoken on the voice line (TwiML <Say>), and the health worker's "phone them too?" question;
    # the missed-call SMS reuses the STATUS messages (steps/tokens.py), which are walked.
    "steps/voice.py",
    "steps/voice_call.py",
    # Doctors' pings and the danger signs as a doctor reads them (the summary, the escalation).
    "steps/pings.py",
    "steps/danger_words.py",
}
NOT_TO_PATIENTS = {
    # A patient's files as their doctor is told of them (flows/steps/media.py, the doctor's side).
    "From the patient: {counts}\n{links}",
    "{count} photo",
    "{count} document",
    "{count} voice note",
    "Token {number}: your patient sent a photo: {link}",
    "Token {number}: your patient sent a document: {link}",
    "Token {number}: your patient sent a voice note: {link}",
    # Said only on channels with buttons: an SMS carries no button to come back from an older question.
    "That button belongs to an earlier question.",
    # Telegram's contact button; SMS carries the number itself.
    "Please share your mobile number with the button below, or type it. We use it only to send you updates about your consultation.",
    # Doctors' and health workers' messages outside their own modules:
    "Welcome, Dr. {name}. This chat is now your doctor's desk.",
    "Welcome, {name}. This chat is now linked to your health worker account.",
    "Token {number}: the patient is joining the call.",
    "Thank you. The doctor knows you are joining with the patient.",
    "e-Prescription for {name} (token {number}) from Dr. {doctor} (PDF), to print or show at the pharmacy: {link}",
    "Token {number}: the patient did not join, so the call is closed as a no-show. Send NEXT for the next patient.",
    "Token {number}: the patient cannot come now, so the call is closed. Send NEXT for the next patient.",
    "Danger signs: this patient may need emergency care now. Call 108 for an ambulance, or 112; "
    "do not wait for the online OPD. If you book a token, the patient will be seen first.",
    "Danger signs: call 108 for an ambulance now, or 112. If booked, the patient is seen first.",
    "The patient may be thinking of suicide or self-harm. Stay with them and help them call Tele-MANAS "
    "on 14416: it is free, open day and night, in their own language. If they are in danger now, call 112.",
    "Patient may be at risk of self-harm: stay with them, call Tele-MANAS 14416. In danger now: 112.",
    "Your details here belong to your enrolment as a doctor or health worker. Please ask your OPD coordinator to remove them.",
    # A staff chat (the web chat's doctor and health-worker tabs) waiting for its code; a staff account switched off or unlinked.
    "This chat is for doctors and health workers. Please send the code your coordinator gave you. To see a doctor as a patient, open the Patient tab.",
    "This chat is no longer linked to your doctor or health worker account: your coordinator removed it or gave you a new code. "
    "Nothing about patients will come here any more.",
    "Your coordinator has turned off your account, so this chat is no longer your desk: no patients will come here. "
    "Please talk to your coordinator if you need it back.",
}


def test_the_walk_goes_through_every_step_a_patient_meets(catalogs: Catalogs) -> None:
    staff = {step.name for step in (*doctor.STEPS, *health_worker.STEPS, *enrolment.STEPS)}
    missing = set(steps()) - staff - walked(catalogs, "en").steps
    assert not missing, f"steps no SMS patient walks through: {sorted(missing)}"


def test_the_walk_sees_every_message_a_patient_can_get(catalogs: Catalogs) -> None:
    seen = walked(catalogs, "en").seen
    marked = flow_msgids()
    patients = {msgid for msgid, modules in marked.items() if not modules <= NOT_TO_PATIENTS_BY_MODULE} - NOT_TO_PATIENTS
    missing = sorted(patients - seen)
    assert not missing, f"{len(missing)} patient messages have no SMS walk (walk them, or say why not above):\n" + "\n".join(missing)
    assert not NOT_TO_PATIENTS - set(marked), "an exclusion names a message that no longer exists"
