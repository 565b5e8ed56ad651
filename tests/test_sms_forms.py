"""Every SMS form in the catalogs fits 2 SMS segments in every language, with its longest values.

Devanagari forces UCS-2 (134 UTF-16 units over 2 segments); English and romanised Hindi
(hi-Latn) stay GSM-7 (306 characters) as long as they keep to the GSM alphabet.
"""

from __future__ import annotations

import datetime as dt
import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

from bot.channels.sms_text import is_gsm7, segments, sms_parts, units
from bot.platform.i18n import Catalogs
from bot.services.opds import DEMO_OPDS
from flows.engine import LANGUAGES
from flows.messages import ByLanguage, Text, TimeOfDay, t
from flows.steps.questions import SEX_LABELS
from flows.understanding.india import states

ROOT = Path(__file__).resolve().parents[1]
MAX_SEGMENTS = 2
# The languages whose every SMS must be GSM-7: Latin letters, for any phone.
GSM7_LANGUAGES = ("en", "hi-Latn")
IST = dt.timezone(dt.timedelta(hours=5, minutes=30))


def _sms_forms() -> list[str]:
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found = {message for _f, _l, message, _c, _x in extract_from_dir(str(ROOT), method_map, options_map, keywords={"sms": None})}
    return sorted(found)


def _longest(values: list[str]) -> str:
    return max(values, key=lambda v: len(v.encode("utf-16-le")))


def _worst_values(catalogs: Catalogs, lang: str) -> dict[str, object]:
    """Return, per placeholder SMS forms may use, the value that renders longest."""
    days = [dt.date(2026, 1, 1) + dt.timedelta(days=n) for n in range(366)]
    longest_day = max(days, key=lambda d: len(catalogs.format_value(d, lang)))
    times = [TimeOfDay(dt.datetime(2026, 1, 1, h, m, tzinfo=IST)) for h in range(24) for m in (0, 30)]
    longest_time = max(times, key=lambda v: len(catalogs.format_value(v, lang)))
    opd = ByLanguage(en=_longest([o.name_en for o in DEMO_OPDS]), hi=_longest([o.name_hi for o in DEMO_OPDS]))
    line = "{n} Token {number} on {date}"
    return {
        "number": 99_999,  # a capacity of 100,000 tokens a day is the catalogue's ceiling
        "position": 99_999,
        "minutes": 999_990,
        "opd": opd,
        "later": opd,
        "date": longest_day,
        "time": longest_time,
        # A video room: the configured base (TELEOPD_VIDEO_BASE_URL) and 22 random characters.
        "room": "https://video.example-state.gov.in/teleopd-" + "x" * 22,
        # The full consent notice: a state's public URL (TELEOPD_PUBLIC_URL), the longest language code.
        "privacy_url": "https://teleopd.health.example-state.gov.in/privacy?lang=hi-Latn",
        # The details an SMS confirmation shows (flows/steps/onboarding.py): the longest of each.
        "age": 120,
        "sex": max(SEX_LABELS.values(), key=lambda v: len(catalogs.translate(v, lang))),
        "state": ByLanguage(en=_longest([s.name_en for s in states()]), hi=_longest([s.name_hi for s in states()])),
        "phone": max(("+919876543210", catalogs.translate(t("Not given"), lang)), key=len),
        # Which token to cancel: a patient holds one or two at a time (more go in numbered parts).
        "tokens": tuple(Text(line, (("date", longest_day), ("n", n), ("number", 99_999))) for n in (1, 2)),
        "n": 9,
        "keep": 3,
        # Who is the patient: a family's members by first name (a family of three registered besides the patient).
        "family": ", ".join(f"{n} Ramachandran" for n in (2, 3, 4)),
        "child": 5,
        "other": 6,
        # An e-prescription's signed link (bot/services/prescriptions.py), as long as it gets.
        "link": "https://teleopd.health.example-state.gov.in/rx/999999999999.hi-Latn.ZZZZZZ." + "s" * 27,
    }


# The doctor's advice goes word for word, however long: its SMS form takes numbered parts of 2
# segments each (bot/channels/twilio.py sms_parts), so it is measured part by part below.
ADVICE_SMS = "Advice from Dr. {doctor}:\n{advice}\nHow was your consultation? Reply 1-5 (5 = very good)."


FORMS = [msgid for msgid in _sms_forms() if msgid != ADVICE_SMS]


def test_there_are_sms_forms() -> None:
    assert len(FORMS) >= 10


@pytest.mark.parametrize("msgid", FORMS)
def test_sms_forms_use_only_short_placeholders(msgid: str) -> None:
    names = {name for _, name, _, _ in string.Formatter().parse(msgid) if name}
    # A patient's name can be 80 characters: it has no place in a 2-segment SMS.
    assert names <= {
        "number", "position", "minutes", "opd", "later", "date", "time", "room", "privacy_url", "age", "sex", "state", "phone", "tokens", "n", "keep", "family", "child", "other", "link",
    }, names


def test_the_advice_sms_form_is_the_one_that_takes_parts() -> None:
    assert ADVICE_SMS in _sms_forms()


LONG_ADVICE = {
    "en": "Take paracetamol 500 mg every six hours for three days, with water after food. " * 6
    + "If the fever stays above 102 F, or you feel drowsy or breathless, call 108 at once.",
    "hi": "तीन दिन तक हर छह घंटे पर पैरासिटामोल 500 मिलीग्राम खाना खाने के बाद पानी से लें। " * 6
    + "अगर बुख़ार 102 से ऊपर रहे, या नींद-सी आए या सांस फूले, तो तुरंत 108 पर कॉल करें।",
    "hi-Latn": "Paracetamol 500 mg teen din tak har chhe ghante par khana khane ke baad paani se lein. " * 6
    + "Agar bukhar 102 se upar rahe, ya neend si aaye ya saans phoole, to turant 108 par call karein.",
}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_long_advice_goes_whole_in_numbered_parts_each_within_two_segments(catalogs: Catalogs, lang: str) -> None:
    words = LONG_ADVICE[lang]
    rendered = catalogs.translate(Text(ADVICE_SMS, (("advice", words), ("doctor", "Anita Sharma"))), lang)
    parts = sms_parts(rendered)
    assert len(parts) > 1
    assert all(segments(part) <= MAX_SEGMENTS for part in parts), [segments(part) for part in parts]
    assert [part.split(" ", 1)[0] for part in parts] == [f"{n}/{len(parts)}" for n in range(1, len(parts) + 1)]
    # Cut between words only: the parts, unnumbered and joined, are the message itself.
    joined = " ".join(part.split(" ", 1)[1] for part in parts)
    assert " ".join(joined.split()) == " ".join(rendered.split())
    assert " ".join(words.split()) in " ".join(joined.split())


def test_a_short_sms_goes_whole_and_unnumbered() -> None:
    assert sms_parts("Token 12, General Medicine. Place 3.") == ["Token 12, General Medicine. Place 3."]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("msgid", FORMS)
def test_sms_form_fits_two_segments(catalogs: Catalogs, msgid: str, lang: str) -> None:
    names = {name for _, name, _, _ in string.Formatter().parse(msgid) if name}
    values = {k: v for k, v in _worst_values(catalogs, lang).items() if k in names}
    rendered = catalogs.translate(Text(msgid, tuple(sorted(values.items()))), lang)
    assert segments(rendered) <= MAX_SEGMENTS, f"{segments(rendered)} segments, {units(rendered)} units: {rendered!r}"
    if lang in GSM7_LANGUAGES:
        # One curly quote or dash would turn an English SMS into UCS-2 and halve its room; in
        # romanised Hindi it would also show as a box on the phones it is for.
        assert is_gsm7(rendered), f"not GSM-7: {rendered!r}"


# The first answer to a danger sign goes as one SMS: the parts of a longer one can arrive late,
# out of order or not at all on a feature phone.
ONE_SEGMENT = (
    "EMERGENCY: call 108 for an ambulance now, or 112. Do not wait.",
    "Too many messages: I will answer in a minute. Emergency: call 108 or 112 now.",
)


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("msgid", ONE_SEGMENT)
def test_emergency_sms_fits_one_segment(catalogs: Catalogs, msgid: str, lang: str) -> None:
    rendered = catalogs.translate(Text(msgid), lang)
    assert segments(rendered) == 1, f"{units(rendered)} units: {rendered!r}"
    assert "108" in rendered and "112" in rendered


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("a" * 160, 1, id="gsm-160"),
        pytest.param("a" * 161, 2, id="gsm-161"),
        pytest.param("a" * 306, 2, id="gsm-306"),
        pytest.param("a" * 307, 3, id="gsm-307"),
        pytest.param("~" * 80, 1, id="gsm-extension-counts-twice"),
        pytest.param("~" * 81, 2, id="gsm-extension-161-septets"),
        pytest.param("क" * 70, 1, id="ucs2-70"),
        pytest.param("क" * 71, 2, id="ucs2-71"),
        pytest.param("क" * 134, 2, id="ucs2-134"),
        pytest.param("क" * 135, 3, id="ucs2-135"),
        pytest.param("a" * 69 + "“", 1, id="a-curly-quote-forces-ucs2"),
        pytest.param("a" * 70 + "“", 2, id="ucs2-71-because-of-a-quote"),
        pytest.param("🙂" * 35, 1, id="emoji-two-units-each"),
        pytest.param("🙂" * 36, 2, id="emoji-72-units"),
    ],
)
def test_segment_counting(text: str, expected: int) -> None:
    assert segments(text) == expected
