"""The e-prescription without a database: the PDF's content in en, hi and hi-Latn, its Devanagari
shaped and extractable, and the doctor's DONE sending it after the advice.

The advice is Devanagari from the shared edge cases (../shared/testdata: conjuncts, nukta
letters in both encodings, matras) and a pre-base matra ("किसी"). Its text must extract from the
PDF as written (NFC), and the glyphs drawn must be HarfBuzz's shaped glyphs (fewer than the
code points: "क्ष" is one glyph), not one glyph per code point.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
import unicodedata
from typing import Any

import pypdf
import pytest
import uharfbuzz as hb
from pypdf.generic import ContentStream

from bot.channels.base import OutgoingDocument
from bot.outbox.payloads import translate
from bot.platform.i18n import Catalogs
from bot.services.prescription_pdf import DEVANAGARI, SEX, PrescriptionFacts, render_pdf
from flows.engine import LANGUAGES
from flows.messages import Attachment, ByLanguage, Reply, reply_to_json, t
from flows.notices import Notify
from flows.ports import Party, VisitOutcome
from flows.steps import visit
from tests.helpers import consultation_view
from tests.testdata import load

DEVANAGARI_LETTERS = re.compile("[\u0900-\u097f]")
INVISIBLE = ("\u200b", "\u200c", "\u200d", "\ufeff")
LINK = "https://teleopd.example.org/rx/7.hi.ZZZZZZ." + "s" * 27


def _edge_words() -> list[str]:
    """Return the shared Devanagari edge cases that are words (conjuncts, nukta letters both ways, matras), without invisible joiners."""
    words = []
    for case in load("robustness/generated/devanagari_edge_cases.json")["cases"]:
        if case["group"] not in ("health_words_variants", "zwj_zwnj", "nukta_precomposed_vs_decomposed"):
            continue
        for text in (case.get("text"), (case.get("precomposed") or {}).get("text"), (case.get("decomposed") or {}).get("text")):
            if text and not any(c in text for c in INVISIBLE):
                words.append(text)
    assert {"क्ष", "र्य", "ज़ुकाम"} <= {unicodedata.normalize("NFC", w) for w in words}, words
    return words


@pytest.fixture(scope="module")
def advice() -> str:
    """The doctor's advice: a pre-base matra and a conjunct in a sentence, then the shared edge cases, then Latin and digits."""
    return "\n".join([
        "किसी भी दिन स्वास्थ्य बिगड़े तो तुरंत दिखाएँ।",
        " ".join(_edge_words()),
        "Paracetamol 500 mg दिन में दो बार, खाने के बाद।",
    ])


def _facts(advice: str, **changes: Any) -> PrescriptionFacts:
    facts = PrescriptionFacts(
        consultation_id=4321, date=dt.date(2026, 12, 7), patient_name="Sunita Devi", age=34, sex="female",
        doctor_name="Anita Sharma", registration_number="DMC/R/12345", qualification="MBBS, MD (Medicine)",
        opd=ByLanguage("General Medicine", "सामान्य चिकित्सा"), token_number=12,
        complaints=(ByLanguage("fever", "बुखार"), ByLanguage("cough", "खांसी")), own_words="bukhar aur khansi", duration="3 din",
        advice=advice, follow_up=dt.date(2026, 12, 14),
    )
    return dataclasses.replace(facts, **changes)


@pytest.fixture(scope="module")
def pdfs(advice: str, catalogs: Catalogs) -> dict[str, bytes]:
    """The prescription in each language (a PDF takes about 0.2 s of CPU: made once)."""
    return {lang: render_pdf(_facts(advice), catalogs, lang) for lang in LANGUAGES}


def _text(pdf: bytes) -> str:
    """Return a PDF's text as a reader copies it: NFC, runs of white space as one space."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return _plain("\n".join(page.extract_text() for page in reader.pages))


def _plain(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_advice_extracts_as_written_in_devanagari(pdfs: dict[str, bytes], advice: str, lang: str) -> None:
    text = _text(pdfs[lang])
    for line in advice.split("\n"):
        assert _plain(line) in text, (line, text)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_prescription_says_what_the_telemedicine_guidelines_ask(pdfs: dict[str, bytes], catalogs: Catalogs, lang: str) -> None:
    text = _text(pdfs[lang])
    expected = [
        catalogs.translate(t("e-Prescription"), lang),
        catalogs.translate(t("Consulting doctor: Dr. {name}", name="Anita Sharma"), lang),
        "MBBS, MD (Medicine)",
        catalogs.translate(t("Medical registration number:"), lang) + " DMC/R/12345",
        catalogs.translate(t("Patient:"), lang) + " Sunita Devi",
        catalogs.translate(t("{age} years", age=34), lang),
        catalogs.translate(SEX["female"], lang),
        catalogs.format_value(dt.date(2026, 12, 7), lang),
        ByLanguage("General Medicine", "सामान्य चिकित्सा").pick(lang),
        catalogs.format_value((ByLanguage("fever", "बुखार"), ByLanguage("cough", "खांसी")), lang),
        "bukhar aur khansi",
        catalogs.translate(t("Advice"), lang),
        catalogs.translate(t("Follow-up"), lang),
        catalogs.format_value(dt.date(2026, 12, 14), lang),
        "108",
    ]
    missing = [piece for piece in expected if _plain(piece) not in text]
    assert not missing, (missing, text)
    assert catalogs.translate(t("Registration number not on file."), lang) not in text


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_doctor_without_a_registration_number_is_said_so(catalogs: Catalogs, lang: str) -> None:
    pdf = render_pdf(_facts("आराम करें", registration_number=None, qualification=None, follow_up=None), catalogs, lang)
    text = _text(pdf)
    assert _plain(catalogs.translate(t("Registration number not on file."), lang)) in text
    assert catalogs.translate(t("Medical registration number:"), lang) not in text
    # No follow-up booked: the advice says when.
    assert _plain(catalogs.translate(t("As advised above."), lang)) in text


def _glyphs_by_font(pdf: bytes) -> dict[str, int]:
    """Return how many glyphs each font draws on the first page (Tj and TJ strings: 2 bytes a glyph, Identity-H)."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    page = reader.pages[0]
    fonts = {name: str(font.get_object()["/BaseFont"]) for name, font in page["/Resources"]["/Font"].items()}
    counts: dict[str, int] = {}
    current = ""
    for operands, operator in ContentStream(page.get_contents(), reader).operations:
        if operator == b"Tf":
            current = fonts[operands[0]]
        elif operator in (b"Tj", b"TJ"):
            strings = operands[0] if operator == b"TJ" else [operands[0]]
            # pypdf may read a string as text (PDFDocEncoding or UTF-16): its bytes are what was drawn.
            drawn = sum(len(getattr(s, "original_bytes", s)) // 2 for s in strings if not isinstance(s, int | float))
            counts[current] = counts.get(current, 0) + drawn
    return counts


def _harfbuzz_glyphs(words: list[str]) -> int:
    """Return how many glyphs HarfBuzz shapes these words into with the Devanagari font."""
    face = hb.Face(hb.Blob.from_file_path(str(DEVANAGARI[""])))
    font = hb.Font(face)
    total = 0
    for word in words:
        buffer = hb.Buffer()
        buffer.add_str(word)
        buffer.guess_segment_properties()
        hb.shape(font, buffer)
        total += len(buffer.glyph_infos)
    return total


def test_conjuncts_and_pre_base_matras_are_drawn_as_shaped_glyphs(catalogs: Catalogs) -> None:
    # Only the advice is Devanagari on an English prescription for a patient named in Latin letters.
    words = "किसी भी दिन स्वास्थ्य बिगड़े क्षमा पर्याप्त".split()
    pdf = render_pdf(_facts(" ".join(words), complaints=(), own_words="", duration=""), catalogs, "en")
    drawn = {font: count for font, count in _glyphs_by_font(pdf).items() if "Devanagari" in font}
    assert len(drawn) == 1, drawn
    code_points = sum(len(w) for w in words)
    # "स्व", "स्थ्य", "क्ष", "र्या" are one glyph each; "कि" is two (the matra drawn first), as HarfBuzz shapes them.
    assert sum(drawn.values()) == _harfbuzz_glyphs(words) < code_points


def test_no_devanagari_font_is_used_for_latin_text(catalogs: Catalogs) -> None:
    """Latin text (names, medicines) is drawn with the Latin font: Noto Sans Devanagari has no Latin letters."""
    pdf = render_pdf(_facts("Paracetamol 500 mg twice a day after food.", complaints=(), own_words="", duration=""), catalogs, "en")
    assert not any("Devanagari" in font for font in _glyphs_by_font(pdf)), _glyphs_by_font(pdf)
    assert "Paracetamol 500 mg twice a day after food." in _text(pdf)


# --- the doctor's DONE sends it --------------------------------------------------------------


def _patient_replies(outcome: VisitOutcome) -> list[Reply]:
    view = dataclasses.replace(consultation_view(7), patient=Party(41), doctor="Anita Sharma", advice="आराम करें")
    return [n.reply for n in visit.ended_notices(view, outcome) if isinstance(n, Notify) and n.identity_id == 41]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_done_sends_the_prescription_after_the_advice_with_its_link(catalogs: Catalogs, lang: str) -> None:
    replies = _patient_replies(VisitOutcome.DONE)
    assert [r.attachment for r in replies] == [None, Attachment("prescription", 7)]
    payload = reply_to_json(replies[-1])
    document = OutgoingDocument("e-prescription-7.pdf", LINK, bytes)
    for sms in (False, True):
        message = translate(catalogs, payload, lang, sms=sms, document=document)
        assert LINK in message.text and message.document is document
        assert bool(DEVANAGARI_LETTERS.search(message.text)) == (lang == "hi"), message.text
    assert "Anita Sharma" in translate(catalogs, payload, lang, document=document).text


@pytest.mark.parametrize("outcome", [VisitOutcome.REFERRED, VisitOutcome.NO_SHOW])
def test_no_prescription_when_the_consultation_did_not_end_in_advice(outcome: VisitOutcome) -> None:
    assert all(r.attachment is None for r in _patient_replies(outcome))
