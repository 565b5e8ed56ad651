"""WhatsApp's own choices, laid out without a network: reply buttons, lists, "more", short titles, presses.

The messages are the flows' own (catalog text and choices, translated as the worker translates
them) in English, Hindi and romanised Hindi; the layout is bot/channels/whatsapp_content.py, the
presses are parsed by bot/channels/twilio.py parse_inbound.
"""

from __future__ import annotations

import json

import pytest

from bot.channels.base import InboundMessage, OutgoingChoice, OutgoingMessage
from bot.channels.twilio import parse_inbound
from bot.channels.whatsapp_content import (
    MAX_BUTTON_TITLE,
    MAX_ITEM_TITLE,
    Part,
    buttons_name,
    item_titles,
    layout,
    list_name,
    session_contents,
    short_title,
    template_contents,
)
from bot.channels.whatsapp_text import whatsapp_requests
from bot.outbox.payloads import translate
from bot.outbox.template_keys import (
    WhatsAppTemplate,
    find_whatsapp_template,
    whatsapp_key,
)
from bot.platform.i18n import Catalogs
from bot.services.opds import DEMO_OPDS
from flows.engine import LANGUAGES
from flows.messages import ByLanguage, Choice, Reply, reply_to_json, t
from flows.steps.booking import SEVERITY_LABELS
from tests.twilio_helpers import _message

YES_NO = (Choice("book", t("Yes, book a token")), Choice("other", t("Choose another OPD")))
CALL = (Choice("join", t("I am joining")), Choice("cannot", t("I cannot come now")), Choice("menu", t("Back to the menu")))


def _translated(catalogs: Catalogs, reply: Reply, lang: str) -> OutgoingMessage:
    return translate(catalogs, reply_to_json(reply), lang)


def _opds(count: int) -> Reply:
    names = [ByLanguage(en=o.name_en, hi=o.name_hi) for o in DEMO_OPDS]
    names += [ByLanguage(en=f"Extra OPD {n}", hi=f"अतिरिक्त ओपीडी {n}") for n in range(count - len(names))]
    return Reply(t("Which OPD would you like?"), tuple(Choice(f"opd:{n}", name) for n, name in enumerate(names[:count], 1)))


def _items(part: Part) -> list[tuple[str, str]]:
    """Return a list part's (title, id) pairs: variables 3, 4, 5, 6, …"""
    return list(zip(part.variables[2::2], part.variables[3::2], strict=True))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_two_choices_go_as_reply_buttons_whose_ids_are_the_choice_keys(catalogs: Catalogs, lang: str) -> None:
    message = _translated(catalogs, Reply(t("Book a token at {opd}?", opd="GEN"), CALL[:2]), lang)
    [part] = layout(message)
    assert part.content == buttons_name(2) and part.body is None
    body, *buttons = part.variables
    assert body == message.text
    assert buttons == [message.choices[0].label, "join", message.choices[1].label, "cannot"]
    assert all(len(title) <= MAX_BUTTON_TITLE for title in buttons[::2])


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("count", [1, 3])
def test_one_to_three_short_choices_are_buttons(catalogs: Catalogs, lang: str, count: int) -> None:
    choices = (CALL[2],) if count == 1 else CALL
    [part] = layout(_translated(catalogs, Reply(t("Book a token at {opd}?", opd="GEN"), choices), lang))
    assert part.content == buttons_name(count) and part.variables[2::2] == tuple(c.key for c in choices)


@pytest.mark.parametrize(("lang", "content"), [("en", buttons_name(2)), ("hi", buttons_name(2)), ("hi-Latn", list_name(2))])
def test_a_label_over_20_characters_makes_a_list_not_a_cut_button(catalogs: Catalogs, lang: str, content: str) -> None:
    # "Haan, token book karein" is 23 characters: too long for a button, whole in a list.
    message = _translated(catalogs, Reply(t("Book a token at {opd}?", opd="GEN"), YES_NO), lang)
    [part] = layout(message)
    assert part.content == content
    assert message.choices[0].label in part.variables and "book" in part.variables


@pytest.mark.parametrize("lang", LANGUAGES)
def test_three_choices_too_long_for_a_button_are_a_list_read_alike(catalogs: Catalogs, lang: str) -> None:
    reply = Reply(t("How bad is it?"), tuple(Choice(k, v) for k, v in SEVERITY_LABELS.items()))
    message = _translated(catalogs, reply, lang)
    [part] = layout(message)
    assert part.content == list_name(3)
    assert part.variables[1] == catalogs.translate(t("Choose"), lang)
    titles = [title for title, _ in _items(part)]
    # Each label's name before its explanation ("Moderate" of "Moderate: daily work is hard"), all alike.
    assert titles == [c.label.split(":")[0] for c in message.choices]
    assert [key for _, key in _items(part)] == ["mild", "moderate", "severe"]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("count", [4, 10])
def test_four_to_ten_choices_are_one_list(catalogs: Catalogs, lang: str, count: int) -> None:
    message = _translated(catalogs, _opds(count), lang)
    [part] = layout(message)
    assert part.content == list_name(count) and part.variables[0] == message.text
    assert [key for _, key in _items(part)] == [f"opd:{n}" for n in range(1, count + 1)]
    assert all(len(title) <= MAX_ITEM_TITLE for title, _ in _items(part))


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(("count", "sizes"), [(11, [6, 5]), (23, [8, 8, 7])])
def test_beyond_ten_the_choices_go_on_in_more_lists_never_one_alone(catalogs: Catalogs, lang: str, count: int, sizes: list[int]) -> None:
    message = _translated(catalogs, _opds(count), lang)
    parts = layout(message)
    assert [p.content for p in parts] == [list_name(n) for n in sizes]
    more = catalogs.translate(t("More choices:"), lang)
    assert [p.variables[0] for p in parts] == [message.text] + [more] * (len(sizes) - 1)
    keys = [key for p in parts for _, key in _items(p)]
    assert keys == [f"opd:{n}" for n in range(1, count + 1)]  # every choice once, in order


def test_hindi_titles_over_24_characters_are_shortened_at_a_word() -> None:
    labels = ["सामान्य चिकित्सा (24 घंटे) रात में भी", "सामान्य चिकित्सा (दिन में)", "मनोरोग (मानसिक स्वास्थ्य) और नशा मुक्ति", "स्त्री एवं प्रसूति रोग विशेषज्ञ ओपीडी"]
    titles = item_titles(labels)
    assert all(len(title) <= MAX_ITEM_TITLE for title in titles)
    # Two names alike keep what tells them apart; a name that fits is used; else cut at a word.
    assert titles[0] != titles[1] and titles[0].startswith("सामान्य चिकित्सा (24") and titles[0].endswith("…")
    assert titles[2] == "मनोरोग"
    assert titles[3] == "स्त्री एवं प्रसूति रोग…"
    for title, label in zip(titles, labels, strict=True):
        assert label.startswith(title.removesuffix("…")), "cut between words, never inside a syllable"
    assert short_title("आयुष") == "आयुष"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_what_content_cannot_carry_stays_numbered_text(catalogs: Catalogs, lang: str) -> None:
    plain = _translated(catalogs, Reply(t("Which OPD would you like?")), lang)
    assert layout(plain) is None
    contact = OutgoingMessage("Share your number", (OutgoingChoice("skip", "Skip"),), request_contact=True, list_label="Choose")
    assert layout(contact) is None
    long_key = OutgoingMessage("Pick", (OutgoingChoice("k" * 201, "One"),))
    assert layout(long_key) is None
    # Without the contents made by `teleopd whatsapp sync`, the numbered list as before.
    message = _translated(catalogs, Reply(t("Book a token at {opd}?", opd="GEN"), YES_NO), lang)
    [request] = whatsapp_requests(message, {})
    assert request["body"].endswith(f"1. {message.choices[0].label}\n2. {message.choices[1].label}")


def test_a_long_text_goes_first_and_the_buttons_with_its_last_part() -> None:
    text = " ".join(["Drink clean water and rest well today."] * 60)
    message = OutgoingMessage(text, (OutgoingChoice("ok", "OK"),))
    *leading, last = layout(message)
    assert leading and all(p.body is not None and len(p.body) <= 1024 for p in leading)
    assert last.content == buttons_name(1) and len(last.variables[0]) <= 1024
    assert " ".join([*(p.body for p in leading), last.variables[0]]) == text


def test_requests_carry_the_content_sid_and_its_variables_as_json() -> None:
    message = OutgoingMessage("Book?", (OutgoingChoice("book", "Yes"), OutgoingChoice("no", "No")))
    contents = {buttons_name(2): WhatsAppTemplate("HX" + "2" * 32)}
    [request] = whatsapp_requests(message, contents)
    assert request["content_sid"] == "HX" + "2" * 32
    assert json.loads(request["content_variables"]) == {"1": "Book?", "2": "Yes", "3": "book", "4": "No", "5": "no"}


def test_the_contents_are_few_and_all_words_are_variables() -> None:
    specs = session_contents()
    assert [s.name for s in specs] == [buttons_name(n) for n in (1, 2, 3)] + [list_name(n) for n in range(1, 11)]
    for spec in specs:
        kind, content = next(iter(spec.types.items()))
        assert kind in ("twilio/quick-reply", "twilio/list-picker") and content["body"] == "{{1}}"
        words = [a["title"] for a in content.get("actions", [])] + [i["item"] for i in content.get("items", [])]
        assert all(w.startswith("{{") for w in words) and set(spec.samples) == {str(n) for n in range(1, len(spec.samples) + 1)}


def test_a_template_per_language_numbers_values_in_the_english_order(catalogs: Catalogs) -> None:
    msgid = "Get ready: you are 3rd in the queue for {opd} (token {number}). The doctor will call you soon; please stay near your phone."
    texts = {lang: catalogs.translations(lang).gettext(msgid) for lang in LANGUAGES}
    plan = template_contents("mkey", msgid, texts)
    assert not plan.refused
    by_lang = {s.message_language: s for s in plan.specs}
    assert set(by_lang) == set(LANGUAGES) and by_lang["hi"].key == "mkey:hi" and by_lang["hi"].language == "hi"
    for lang, spec in by_lang.items():
        body = spec.types["twilio/text"]["body"]
        assert spec.message_variables == ("opd", "number")
        assert body == texts[lang].replace("{opd}", "{{1}}").replace("{number}", "{{2}}")


@pytest.mark.parametrize(
    ("text", "reason"),
    [("{number} is your token.", "starts with a value"), ("Your token: {number}", "ends with a value"),
     ("Token {number} {opd} booked.", "side by side")],
)
def test_a_template_whatsapp_would_refuse_is_named_not_made(text: str, reason: str) -> None:
    plan = template_contents("mkey", "Token {number} at {opd}.", {"hi": text})
    assert not plan.specs and reason in plan.refused[0].reason


@pytest.mark.parametrize(
    ("field", "value"),
    [("ButtonPayload", "book"), ("ListId", "opd:7")],
)
def test_a_pressed_button_or_list_item_arrives_as_its_choice_key(field: str, value: str) -> None:
    parsed = parse_inbound("whatsapp", _message("Yes, book", **{field: value, "ButtonText" if field == "ButtonPayload" else "ListTitle": "Yes, book"}))
    assert isinstance(parsed, InboundMessage)
    assert (parsed.kind, parsed.choice, parsed.text) == ("choice", value, "Yes, book")


def test_a_typed_answer_is_no_press() -> None:
    parsed = parse_inbound("whatsapp", _message("2"))
    assert isinstance(parsed, InboundMessage) and parsed.choice is None and parsed.kind == "text"


def test_a_template_is_found_for_its_language_only() -> None:
    english = WhatsAppTemplate("HX" + "e" * 32, ("number",), "en")
    hindi = WhatsAppTemplate("HX" + "4" * 32, ("number",), "hi")
    both = {whatsapp_key("mkey", "en"): english, whatsapp_key("mkey", "hi"): hindi}
    assert find_whatsapp_template(both, "mkey", "hi") is hindi and find_whatsapp_template(both, "mkey", "en") is english
    # Only English made: a Hindi patient gets no template (so SMS, in Hindi), never the English one.
    assert find_whatsapp_template({whatsapp_key("mkey", "en"): english}, "mkey", "hi") is None
    # A file written before templates were kept per language: its bare key is the English text.
    legacy = {"mkey": WhatsAppTemplate("HX" + "0" * 32, ("number",))}
    assert find_whatsapp_template(legacy, "mkey", "en") is legacy["mkey"] and find_whatsapp_template(legacy, "mkey", "hi") is None
