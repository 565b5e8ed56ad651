"""The e-prescription as a PDF: what an Indian tele-consultation's prescription must say, in the patient's language.

Pure: the facts of one consultation (gathered by bot/services/prescriptions.py) and the
catalogs in, the PDF's bytes out; no database. The content follows the Telemedicine Practice
Guidelines 2020 (Board of Governors in supersession of the MCI, Annexure 2, the sample
prescription format): the doctor's name, qualification and registration number, the
patient's name, age and sex, the date, the complaints (a provisional diagnosis where the doctor
wrote one: in their advice), the advice, and the follow-up. A doctor's private notes are never
on it.

Devanagari is shaped by HarfBuzz (fpdf2's `set_text_shaping`, through uharfbuzz): conjuncts
("क्ष", "स्व") become their ligature glyphs and the pre-base matra "ि" is drawn before its
consonant. Noto Sans Devanagari (webhooks/static/fonts, OFL) has no Latin letters, so Latin
text (names, medicines, English and romanised Hindi) falls back to Source Sans Pro (the
font-source-sans-pro package, OFL).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from importlib.resources import files
from importlib.util import find_spec
from pathlib import Path

from fpdf import FPDF

from bot.platform.i18n import Catalogs
from flows.messages import ByLanguage, Text, t

# The web pages' own copy (package data of `webhooks`, OFL.txt beside it), found without
# importing `webhooks` (which builds on the runtime that imports this).
FONTS = Path(find_spec("webhooks").origin).parent / "static" / "fonts"  # type: ignore[arg-type, union-attr]
DEVANAGARI = {"": FONTS / "NotoSansDevanagari-Regular.ttf", "B": FONTS / "NotoSansDevanagari-Bold.ttf"}
LATIN = {"": "SourceSansPro-Regular.ttf", "B": "SourceSansPro-Bold.ttf"}
# Points; A4 with 18 mm margins.
BODY_SIZE, TITLE_SIZE, LINE_MM, MARGIN_MM = 11, 17, 6.0, 18


@dataclass(frozen=True)
class PrescriptionFacts:
    """What one consultation's prescription says: no private notes, nothing the patient did not give."""

    consultation_id: int
    date: dt.date
    patient_name: str
    age: int | None
    sex: str  # "female", "male", "other" or ""
    doctor_name: str
    registration_number: str | None
    qualification: str | None
    opd: ByLanguage
    token_number: int
    complaints: tuple[ByLanguage, ...]
    own_words: str
    duration: str
    advice: str
    # The date of a follow-up already booked with this consultation, if any.
    follow_up: dt.date | None = None


SEX = {"female": t("female"), "male": t("male"), "other": t("other")}


def filename(facts: PrescriptionFacts) -> str:
    """Return the PDF's file name as the patient's phone shows it (ASCII: every client can save it)."""
    return f"e-prescription-{facts.consultation_id}-{facts.date.isoformat()}.pdf"


def render_pdf(facts: PrescriptionFacts, catalogs: Catalogs, lang: str) -> bytes:
    """Return the prescription as PDF bytes, its labels in `lang`."""

    def say(text: Text | ByLanguage | dt.date) -> str:
        return catalogs.format_value(text, lang)

    pdf = FPDF(format="A4")
    pdf.set_margins(MARGIN_MM, MARGIN_MM, MARGIN_MM)
    pdf.set_auto_page_break(True, MARGIN_MM)
    for style, path in LATIN.items():
        pdf.add_font("latin", style, str(files("font_source_sans_pro") / "files" / path))
    for style, path in DEVANAGARI.items():
        pdf.add_font("deva", style, str(path))
    pdf.set_fallback_fonts(["deva"])
    pdf.set_text_shaping(True)
    pdf.set_title(say(t("e-Prescription")))
    pdf.set_creator("teleopd")
    pdf.add_page()

    def line(text: str, size: int = BODY_SIZE, bold: bool = False) -> None:
        for paragraph in text.split("\n"):
            use_font("B" if bold else "", size)
            pdf.multi_cell(0, LINE_MM if size == BODY_SIZE else LINE_MM * 1.5, paragraph, align="L", new_x="LMARGIN", new_y="NEXT")

    def use_font(style: str, size: int) -> None:
        # Set twice: after a line that fell back to Devanagari, fpdf2 2.8 takes setting the
        # font it believes is current for a no-op and shapes the next Latin text with the
        # Devanagari font's glyph ids (garbage on the page).
        pdf.set_font("deva", style, size)
        pdf.set_font("latin", style, size)

    def field(label: Text, value: str) -> None:
        use_font("B", BODY_SIZE)
        pdf.write(LINE_MM, say(label) + " ")
        use_font("", BODY_SIZE)
        pdf.multi_cell(0, LINE_MM, value, align="L", new_x="LMARGIN", new_y="NEXT")

    def section(label: Text, body: str) -> None:
        pdf.ln(2)
        line(say(label), bold=True)
        line(body)

    def rule() -> None:
        pdf.ln(1)
        pdf.line(MARGIN_MM, pdf.get_y(), pdf.w - MARGIN_MM, pdf.get_y())
        pdf.ln(2)

    line(say(t("e-Prescription")), TITLE_SIZE, bold=True)
    line(say(t("Tele-OPD consultation {number}, {opd}", number=facts.consultation_id, opd=facts.opd)))
    rule()
    line(say(t("Consulting doctor: Dr. {name}", name=facts.doctor_name)), bold=True)
    if facts.qualification:
        line(facts.qualification)
    if facts.registration_number:
        field(t("Medical registration number:"), facts.registration_number)
    else:
        # Said plainly rather than left blank: the guidelines ask for the number on every prescription.
        line(say(t("Registration number not on file.")))
    rule()
    field(t("Patient:"), facts.patient_name or "-")
    age = say(t("{age} years", age=facts.age)) if facts.age is not None else "-"
    field(t("Age / sex:"), f"{age}, {say(SEX[facts.sex]) if facts.sex in SEX else '-'}")
    field(t("Date:"), say(facts.date))
    field(t("OPD and token:"), say(t("Token {number}, {opd}", number=facts.token_number, opd=facts.opd)))
    rule()
    complaints = ", ".join(say(c) for c in facts.complaints)
    told = [complaints] if complaints else []
    if facts.own_words:
        told.append(say(t("In the patient's words: {words}", words=facts.own_words)))
    if facts.duration:
        told.append(say(t("Since: {duration}", duration=facts.duration)))
    section(t("Complaints"), "\n".join(told) or "-")
    section(t("Advice"), facts.advice or "-")
    follow_up = (
        say(facts.follow_up) if facts.follow_up is not None
        else say(t("As advised above."))
    )
    section(t("Follow-up"), follow_up)
    rule()
    use_font("", BODY_SIZE - 2)
    pdf.multi_cell(
        0, LINE_MM - 1,
        say(t("Given in a tele-consultation under the Telemedicine Practice Guidelines 2020. In an emergency call 108 or 112.")),
        align="L", new_x="LMARGIN", new_y="NEXT",
    )
    _map_cluster_tails(pdf)
    return bytes(pdf.output())


class _NoText(int):
    """A glyph code that formats as nothing: the ToUnicode entry of a glyph that carries no text of its own."""

    def __format__(self, spec: str) -> str:
        return ""


def _map_cluster_tails(pdf: FPDF) -> None:
    """Give the later glyphs of a shaped cluster an empty text, so the PDF's text extracts as written.

    HarfBuzz may draw one cluster with several glyphs ("कि": the matra glyph first, then
    the consonant's). fpdf2 maps the cluster's text to its first glyph and leaves the others
    out of the ToUnicode map, so readers fall back to their raw codes and a copy of "किसी"
    reads "कि\\tसी". An empty mapping (`<0009> <>`) says "no text here". fpdf2 writes each
    code of a glyph's `unicode` with `format`, hence a code that formats as nothing.
    """
    for font in pdf.fonts.values():
        subset = getattr(font, "subset", None)
        for glyph, _code in subset.items() if subset is not None else ():
            if glyph is not None and isinstance(glyph.unicode, tuple) and not glyph.unicode and glyph.glyph_id:
                glyph.unicode = (_NoText(0),)
