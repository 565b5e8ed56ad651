"""render_sms lays choices out whole, never cutting a label; a form that numbers its answers goes as written;
sms_bodies carries a list too long for one SMS on in the next, its numbers running on."""

from __future__ import annotations

import pytest

from bot.channels.base import OutgoingChoice, OutgoingMessage
from bot.channels.sms_text import render_sms, segments, sms_bodies, sms_parts
from bot.platform.i18n import Catalogs
from bot.services.opds import DEMO_OPDS
from flows.engine import LANGUAGES
from flows.messages import t
from flows.steps.booking import SEVERITY_LABELS


def _choices(*labels: str) -> tuple[OutgoingChoice, ...]:
    return tuple(OutgoingChoice(str(n), label) for n, label in enumerate(labels, 1))


def test_short_choices_go_one_a_line_under_the_text() -> None:
    body = render_sms(OutgoingMessage("Book a token?", _choices("Yes, book a token", "Choose another OPD")))
    assert body == "Book a token?\n1 Yes, book a token\n2 Choose another OPD"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_labels_too_long_for_two_segments_are_never_cut(catalogs: Catalogs, lang: str) -> None:
    """What once became "3 नहीं, अभी" ("No, now") of "नहीं, अभी नहीं": every label stays whole, in parts if it must."""
    labels = [catalogs.translate(text, lang) for text in (t("Yes, book for then"), t("Choose another OPD"), t("No, not now"))]
    question = catalogs.translate(t("Which OPD would you like?"), lang) + " " + "—" * 200
    body = render_sms(OutgoingMessage(question, _choices(*labels)))
    for n, label in enumerate(labels, 1):
        assert f"\n{n} {label}" in body, f"label {n} cut: {body!r}"
    # Too long as a whole: it goes in numbered parts (the walk keeps every flow's SMS from this).
    assert segments(body) > 2 and len(sms_parts(body)) > 1


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("How bad is it? 1 mild 2 moderate 3 severe", 3),
        ("कितनी तकलीफ़ है? 1 हल्की 2 मध्यम 3 गंभीर", 3),
        ("How was your consultation? Reply 1-5 (5 = very good).", 5),
        ("परामर्श कैसा रहा? 1 से 5 भेजें।", 5),
        ("Book then?\n1 Yes 2 Other OPD 3 No", 3),
        ("Your mobile number? Send 1 to skip.", 1),
    ],
)
def test_a_form_that_numbers_its_answers_goes_as_written(text: str, count: int) -> None:
    labels = [f"label {n}" for n in range(1, count + 1)]
    assert render_sms(OutgoingMessage(text, _choices(*labels))) == text


def test_numbers_that_are_not_its_answers_do_not_count_as_a_list() -> None:
    text = "Token 12 at 10:30, place 3."
    body = render_sms(OutgoingMessage(text, _choices("Yes", "No", "Later")))
    assert body == text + "\n1 Yes\n2 No\n3 Later"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_severity_over_sms_is_its_form_only(catalogs: Catalogs, lang: str) -> None:
    form = catalogs.translate(t("How bad is it? 1 mild 2 moderate 3 severe"), lang)
    labels = [catalogs.translate(label, lang) for label in SEVERITY_LABELS.values()]
    assert render_sms(OutgoingMessage(form, _choices(*labels))) == form


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_list_too_long_for_one_sms_goes_on_in_the_next_with_its_numbers(catalogs: Catalogs, lang: str) -> None:
    """The demo's eleven OPDs in Devanagari: two SMS of 2 segments at most, every label whole, numbered 1 to 11."""
    names = [o.name_hi if lang == "hi" else o.name_en for o in DEMO_OPDS]
    question = catalogs.translate(t("Which OPD would you like?"), lang)
    bodies = sms_bodies(OutgoingMessage(question, _choices(*names * 2)))
    assert len(bodies) > 1 and bodies[0].startswith(question + "\n1 ")
    assert all(segments(body) <= 2 for body in bodies), [segments(b) for b in bodies]
    lines = "\n".join(bodies).split("\n")[1:]
    assert lines == [f"{n} {name}" for n, name in enumerate(names * 2, 1)]


def test_a_message_that_fits_goes_as_one_sms() -> None:
    message = OutgoingMessage("Book a token?", _choices("Yes, book a token", "Choose another OPD"))
    assert sms_bodies(message) == [render_sms(message)]


def test_a_text_too_long_by_itself_goes_in_numbered_parts() -> None:
    text = "Advice from Dr. Anita Sharma:\n" + "Drink plenty of water and rest. " * 20 + "\nHow was your consultation? Reply 1-5 (5 = very good)."
    bodies = sms_bodies(OutgoingMessage(text, _choices(*"12345")))
    assert len(bodies) > 1 and [b.split(" ", 1)[0] for b in bodies] == [f"{n}/{len(bodies)}" for n in range(1, len(bodies) + 1)]
