"""Photos, documents and voice notes as the flows answer them (flows/steps/media.py), in every
language, on in-memory ports: kept while waiting, in consultation or before booking; a voice
note always names 108; too many files; nothing kept before registration; a caption still
screened for danger signs and read as text; a refused file's reply; the doctor's summary line.
"""

from __future__ import annotations

import dataclasses

import pytest

from bot.outbox.payloads import translate
from bot.platform.i18n import Catalogs
from flows.conversation import handle
from flows.engine import LANGUAGES, Inbound, State
from flows.messages import Reply, reply_to_json
from flows.ports import MediaKept, Ports
from flows.ports.media import NEXT_TOKEN, NOW, QUEUE
from flows.steps import media
from tests.helpers import IN_MEMORY_NOW, FakeBookings, FakePatients, registered_profile


@dataclasses.dataclass
class FakeMedia:
    """Keeps what it is told to, as bot/services/media.py would: where, and up to a limit."""

    where: str = QUEUE
    limit: int = 10
    held: int = 0
    asked: int = 0

    def keep(self) -> MediaKept:
        self.asked += 1
        room = max(self.limit - self.held, 0)
        kinds = self.kinds[:room]
        self.held += len(kinds)
        return MediaKept(tuple(kinds), len(self.kinds) - len(kinds), self.where, self.limit)

    kinds: tuple[str, ...] = ()


def said(catalogs: Catalogs, replies: list[Reply], lang: str) -> list[str]:
    """Return replies as their reader gets them."""
    return [str(translate(catalogs, reply_to_json(r), lang).text) for r in replies]


def send(catalogs: Catalogs, lang: str, kinds: tuple[str, ...], text: str = "", port: FakeMedia | None = None,
         registered: bool = True, step: str = "menu") -> tuple[list[str], State]:
    """Send one message carrying files; return the replies in the chat's language and the new state."""
    port = port if port is not None else FakeMedia()
    port.kinds = kinds
    patients = FakePatients(registered_profile() if registered else None)
    ports = Ports(patients=patients, labels=catalogs, bookings=FakeBookings(), media=port)
    outcome = handle(State(step=step, language=lang), Inbound(text=text, received_at=IN_MEMORY_NOW, media=kinds), ports)
    for other in LANGUAGES:  # every reply renders in every language
        assert all(s.strip() for s in said(catalogs, outcome.replies, other))
    return said(catalogs, outcome.replies, lang), outcome.state


# What each language says, by case: a fragment of the reply that answers the file.
EXPECTED = {
    "photo_queue": {"en": "The doctor will see your photo when they call you.", "hi": "डॉक्टर आपको बुलाते समय आपकी फ़ोटो देखेंगे।",
                    "hi-Latn": "Doctor aapko bulate samay aapki photo dekhenge."},
    "document_now": {"en": "I have sent your document to the doctor.", "hi": "आपका कागज़ डॉक्टर को भेज दिया है।",
                     "hi-Latn": "Aapka kagaz doctor ko bhej diya hai."},
    "photo_later": {"en": "The doctor will see it when you book a token.", "hi": "टोकन बुक करने पर डॉक्टर उसे देखेंगे।",
                    "hi-Latn": "Token book karne par doctor use dekhenge."},
    "voice": {"en": "The doctor will hear your voice note.", "hi": "डॉक्टर आपका वॉइस नोट सुनेंगे।", "hi-Latn": "Doctor aapka voice note sunenge."},
    "too_many": {"en": "You have already sent 2 files for this visit", "hi": "आप इस बार 2 फ़ाइलें भेज चुके हैं",
                 "hi-Latn": "Aap is baar 2 files bhej chuke hain"},
    "unregistered_photo": {"en": "once you have registered", "hi": "रजिस्ट्रेशन होने के बाद", "hi-Latn": "Registration ke baad"},
}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_photo_while_waiting_is_kept_for_the_doctor_and_the_question_comes_again(catalogs: Catalogs, lang: str) -> None:
    port = FakeMedia(where=QUEUE)
    texts, state = send(catalogs, lang, ("photo",), port=port)
    assert port.asked == 1
    assert EXPECTED["photo_queue"][lang] in texts[0]
    assert len(texts) == 2 and state.step == "menu"  # then the menu again, not "I can only read text messages"
    assert "108" not in texts[0]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_document_in_consultation_goes_to_the_doctor_now(catalogs: Catalogs, lang: str) -> None:
    texts, _ = send(catalogs, lang, ("document",), port=FakeMedia(where=NOW))
    assert texts[0] == EXPECTED["document_now"][lang]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_photo_before_booking_waits_for_the_next_token(catalogs: Catalogs, lang: str) -> None:
    texts, _ = send(catalogs, lang, ("photo",), port=FakeMedia(where=NEXT_TOKEN))
    assert EXPECTED["photo_later"][lang] in texts[0]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("where", [QUEUE, NOW, NEXT_TOKEN])
def test_a_voice_note_is_never_passed_over_and_names_108(catalogs: Catalogs, lang: str, where: str) -> None:
    texts, _ = send(catalogs, lang, ("voice",), port=FakeMedia(where=where))
    assert "108" in texts[0]
    if where != NEXT_TOKEN:
        assert texts[0].startswith(EXPECTED["voice"][lang])


@pytest.mark.parametrize("lang", LANGUAGES)
def test_too_many_files_are_refused_kindly_and_a_refused_voice_note_still_names_108(catalogs: Catalogs, lang: str) -> None:
    texts, _ = send(catalogs, lang, ("photo", "voice"), port=FakeMedia(limit=2, held=1))
    assert EXPECTED["too_many"][lang] in texts[0]
    assert EXPECTED["photo_queue"][lang] in texts[1]
    assert "108" in texts[2]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_nothing_is_kept_before_registration_but_a_voice_note_still_names_108(catalogs: Catalogs, lang: str) -> None:
    port = FakeMedia()
    texts, _ = send(catalogs, lang, ("photo",), port=port, registered=False, step="name")
    assert port.asked == 0 and EXPECTED["unregistered_photo"][lang] in texts[0]
    texts, state = send(catalogs, lang, ("voice",), port=port, registered=False, step="name")
    assert port.asked == 0 and "108" in texts[0] and state.step == "name"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_caption_is_screened_for_danger_signs_first_and_read_as_text(catalogs: Catalogs, lang: str) -> None:
    caption = {"en": "chest pain", "hi": "सीने में दर्द", "hi-Latn": "seene mein dard"}[lang]
    texts, state = send(catalogs, lang, ("photo",), text=caption)
    assert "108" in texts[0]  # the emergency advice before anything else
    assert EXPECTED["photo_queue"][lang] in texts[1]
    assert "chest_pain" in state.data.get("red_flags", [])


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_staff_chat_file_is_not_kept(catalogs: Catalogs, lang: str) -> None:
    port = FakeMedia()
    port.kinds = ("photo",)
    ports = Ports(patients=FakePatients(registered_profile()), labels=catalogs, role="health_worker", media=port)
    outcome = handle(State(step="hw_home", language=lang), Inbound(received_at=IN_MEMORY_NOW, media=("photo",)), ports)
    assert port.asked == 0 and outcome.replies


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(("reason", "kind", "words"), [
    (media.TOO_BIG, "photo", {"en": "10 MB", "hi": "10 एमबी", "hi-Latn": "10 MB"}),
    (media.WRONG_TYPE, "document", {"en": "PDF documents", "hi": "पीडीएफ़", "hi-Latn": "PDF kagaz"}),
    (media.NOT_RECEIVED, "voice", {"en": "send it again", "hi": "दोबारा भेजें", "hi-Latn": "dobara bhejein"}),
])
def test_a_refused_file_says_why_and_what_to_do(catalogs: Catalogs, lang: str, reason: str, kind: str, words: dict[str, str]) -> None:
    text = said(catalogs, [media.refused(reason, kind, 10)], lang)[0]
    assert words[lang] in text
    assert ("108" in text) == (kind == "voice")


@pytest.mark.parametrize(("lang", "line"), [
    ("en", "From the patient: 2 photos, 1 voice note\nhttps://x/1\nhttps://x/2\nhttps://x/3"),
    ("hi", "मरीज़ ने भेजे: 2 फ़ोटो, 1 वॉइस नोट\nhttps://x/1\nhttps://x/2\nhttps://x/3"),
    ("hi-Latn", "Mareez ne bheje: 2 tasveerein, 1 awaaz sandesh\nhttps://x/1\nhttps://x/2\nhttps://x/3"),
])
def test_the_doctors_summary_counts_the_files_and_links_them(catalogs: Catalogs, lang: str, line: str) -> None:
    text = media.summary_line(["photo", "voice", "photo"], ["https://x/1", "https://x/2", "https://x/3"])
    got = said(catalogs, [Reply(text)], lang)[0]
    # The list joins with the language's own "and" where it has one: compare the counts and links only.
    assert got.split("\n")[1:] == line.split("\n")[1:]
    for part in line.split("\n")[0].split(": ")[1].split(", "):
        assert part in got
