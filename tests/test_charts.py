"""SVG charts: valid XML, bars proportional to values, round ticks, escaped labels, Devanagari kept, empty data."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bot.platform.i18n import format_number
from bot.services.reports import state_name
from flows.understanding.india import state_by_code
from webhooks.operators.charts import (
    Bar,
    bar_chart,
    clean,
    column_chart,
    nice_ticks,
    shown_label,
)

SVG = "{http://www.w3.org/2000/svg}"
# The seed's table (/work/shared/seeds/000_*.txt): the ten states with most consultations, highest first.
SEED_STATES = [
    ("IN-AP", 4223054), ("IN-KA", 2415774), ("IN-TN", 1599283), ("IN-UP", 1371799), ("IN-GJ", 485735),
    ("IN-MP", 447878), ("IN-BR", 436383), ("IN-MH", 403376), ("IN-WB", 369441), ("IN-UK", 271513),
]
CHARTS = {"column": column_chart, "bar": bar_chart}


def draw(kind: str, bars: list[Bar], lang: str = "en", empty_text: str = "No consultations") -> ET.Element:
    svg = CHARTS[kind](
        bars, chart_id=f"{kind}-chart", title="Consultations", desc="Consultations per item",
        empty_text=empty_text, number=lambda value: format_number(value, lang),
    )
    return ET.fromstring(svg)


def rects(root: ET.Element) -> list[ET.Element]:
    return root.findall(f".//{SVG}g[@class='bar']/{SVG}rect")


def texts(root: ET.Element, css_class: str) -> list[str]:
    return [element.text or "" for element in root.iter(f"{SVG}text") if element.get("class") == css_class]


@pytest.mark.parametrize("kind", CHARTS)
def test_a_chart_is_an_accessible_svg(kind: str) -> None:
    root = draw(kind, [Bar("a", 3), Bar("b", 7)])
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and desc is not None
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert title.text == "Consultations" and desc.text == "Consultations per item"
    # Every bar says its value in text, and has a tooltip naming it.
    assert texts(root, "value") == ["3", "7"]
    assert [g.find(f"{SVG}title").text for g in root.findall(f".//{SVG}g[@class='bar']")] == ["a: 3", "b: 7"]


def test_column_heights_are_proportional_to_values() -> None:
    values = [0, 5, 10, 40, 37]
    heights = [float(rect.get("height")) for rect in rects(draw("column", [Bar(str(i), v) for i, v in enumerate(values)]))]
    assert heights[0] == 0
    for value, height in zip(values[1:], heights[1:], strict=True):
        assert height / heights[3] == pytest.approx(value / 40, rel=1e-3)
    # Columns stand on one baseline, left to right.
    columns = rects(draw("column", [Bar(str(i), v) for i, v in enumerate(values)]))
    bottoms = {round(float(r.get("y")) + float(r.get("height")), 1) for r in columns}
    assert len(bottoms) == 1
    xs = [float(r.get("x")) for r in columns]
    assert xs == sorted(xs)


def test_bar_widths_are_proportional_and_the_first_bar_is_on_top() -> None:
    bars = [Bar(code, value) for code, value in SEED_STATES]
    drawn = rects(draw("bar", bars))
    widths = [float(r.get("width")) for r in drawn]
    for (_, value), width in zip(SEED_STATES, widths, strict=True):
        assert width / widths[0] == pytest.approx(value / SEED_STATES[0][1], rel=1e-3)
    ys = [float(r.get("y")) for r in drawn]
    assert ys == sorted(ys)


@pytest.mark.parametrize(
    ("lang", "first", "figure"),
    [("en", "Andhra Pradesh", "42,23,054"), ("hi", "आंध्र प्रदेश", "42,23,054")],
)
def test_the_seeds_states_as_a_chart_highest_first_with_indian_grouping(lang: str, first: str, figure: str) -> None:
    bars = [Bar(str(state_name(code, lang)), value) for code, value in SEED_STATES]
    root = draw("bar", bars, lang)
    labels = texts(root, "label")
    assert labels[0] == first
    assert labels == [state_by_code(code).name(lang) for code, _ in SEED_STATES]
    assert texts(root, "value") == [format_number(value, lang) for _, value in SEED_STATES]
    assert texts(root, "value")[:2] == [figure, "24,15,774"]


def test_a_large_value_is_written_with_indian_grouping() -> None:
    root = draw("column", [Bar("25", 123456), Bar("26", 654321)], "hi")
    assert texts(root, "value") == ["1,23,456", "6,54,321"]


@pytest.mark.parametrize(
    ("largest", "ticks"),
    [
        (0, [0, 1]), (1, [0, 1]), (3, [0, 1, 2, 3]), (7, [0, 2, 4, 6, 8]), (10, [0, 2, 4, 6, 8, 10]),
        (37, [0, 10, 20, 30, 40]), (4223054, [0, 1000000, 2000000, 3000000, 4000000, 5000000]),
        (0.4, [0, 1]),
    ],
)
def test_ticks_are_round_numbers_from_zero_past_the_largest(largest: float, ticks: list[float]) -> None:
    assert nice_ticks(largest) == ticks


@pytest.mark.parametrize("kind", CHARTS)
def test_the_axis_ticks_are_written_by_the_number_function(kind: str) -> None:
    root = draw(kind, [Bar("a", 4223054)], "hi")
    axis = root.find(f"{SVG}g[@class='axis']")
    assert [t.text for t in axis.iter(f"{SVG}text")] == ["0", "10,00,000", "20,00,000", "30,00,000", "40,00,000", "50,00,000"]


def _naughty(testdata: Path) -> list[str]:
    strings = json.loads((testdata / "robustness" / "blns.json").read_text(encoding="utf-8"))
    return [s for s in strings if isinstance(s, str)]


@pytest.mark.parametrize("kind", CHARTS)
def test_naughty_labels_are_escaped_and_the_svg_stays_valid(kind: str, testdata: Path) -> None:
    naughty = _naughty(testdata)
    assert len(naughty) > 100
    bars = [Bar(label, index + 1, title=label) for index, label in enumerate(naughty)]
    svg = CHARTS[kind](bars, chart_id="n", title=naughty[0], desc="<script>x</script>", empty_text="-", number=str)
    root = ET.fromstring(svg)  # raises on any unescaped markup or character XML cannot hold
    assert "<script" not in svg
    assert root.find(f"{SVG}desc").text == "<script>x</script>"
    # Each bar's tooltip names it in full; the bar chart labels every bar (a dense column chart every n-th).
    tooltips = [g.find(f"{SVG}title").text for g in root.findall(f".//{SVG}g[@class='bar']")]
    assert tooltips == [f"{clean(label)}: {index + 1}" for index, label in enumerate(naughty)]
    shown = texts(root, "label")
    if kind == "bar":
        assert shown == [shown_label(label) for label in naughty]
    else:
        assert set(shown) <= {shown_label(label) for label in naughty} and len(shown) > 10


@pytest.mark.parametrize("kind", CHARTS)
def test_devanagari_labels_are_kept(kind: str) -> None:
    labels = ["आंध्र प्रदेश", "सामान्य चिकित्सा", "बाल रोग", "क्षत्रिय", "ज़्यादा"]
    root = draw(kind, [Bar(label, 1 + index) for index, label in enumerate(labels)], "hi")
    assert texts(root, "label") == labels


def test_a_long_label_is_cut_with_an_ellipsis() -> None:
    root = draw("bar", [Bar("x" * 100, 1)])
    assert texts(root, "label") == ["x" * 27 + "…"]


@pytest.mark.parametrize("kind", CHARTS)
@pytest.mark.parametrize("bars", [[], [Bar("a", 0), Bar("b", 0)]], ids=["no bars", "all zero"])
def test_no_data_is_a_chart_that_says_so(kind: str, bars: list[Bar]) -> None:
    root = draw(kind, bars, "hi", empty_text="1 से 30 नवंबर के बीच कोई परामर्श नहीं हुआ")
    assert rects(root) == []
    assert texts(root, "chart-empty") == ["1 से 30 नवंबर के बीच कोई परामर्श नहीं हुआ"]
    assert root.get("role") == "img" and root.find(f"{SVG}title").text == "Consultations"
