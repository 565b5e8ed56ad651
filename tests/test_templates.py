"""Template keys: what DLT template ids and WhatsApp ContentSids are configured against."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.cli.templates import dlt_text, marked_messages, placeholders
from bot.outbox.template_keys import (
    TemplateError,
    dlt_key,
    load_sms_templates,
    load_whatsapp_templates,
    template_key,
)


def test_every_sms_form_has_its_own_stable_key() -> None:
    forms = marked_messages("sms")
    keys = {template_key(m) for m in forms}
    assert len(forms) >= 10 and len(keys) == len(forms)
    assert template_key("Your token is {number}.") == template_key("Your token is {number}.")
    assert template_key("Your token is {number}.") != template_key("Your token is {number}!")


def test_the_cli_prints_a_skeleton_that_loads_once_filled(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["templates", "--sms", "--json"]) == 0
    skeleton = json.loads(capsys.readouterr().out)
    assert set(skeleton) == {template_key(m) for m in marked_messages("sms")}
    filled = {key: f"11071{n:014d}" for n, key in enumerate(skeleton)}
    path = tmp_path / "dlt.json"
    path.write_text(json.dumps(filled))
    assert load_sms_templates(str(path)) == filled


def test_the_cli_lists_each_sms_form_with_its_cost_in_both_languages(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["templates", "--sms"]) == 0
    out = capsys.readouterr().out
    assert "en: EMERGENCY: call 108" in out and "hi: इमरजेंसी" in out
    assert "segments]" in out


def test_a_dlt_template_keeps_the_text_and_marks_each_value() -> None:
    assert dlt_text("Token {number}, {opd}: place {position}.") == "Token {#var#}, {#var#}: place {#var#}."
    assert dlt_text("टोकन {number}, {opd} रद्द हो गया।") == "टोकन {#var#}, {#var#} रद्द हो गया।"
    assert placeholders("Token {number}, {opd}, {number}") == ["number", "opd", "number"]


def test_templates_list_dlt_gives_one_template_per_sms_form_and_language(capsys: pytest.CaptureFixture[str]) -> None:
    from flows.engine import LANGUAGES

    assert main(["templates", "list", "--dlt"]) == 0
    out = capsys.readouterr().out
    forms = marked_messages("sms")
    for msgid in forms:
        for lang in LANGUAGES:
            assert f"{dlt_key(template_key(msgid), lang)}  {lang}  " in out, (msgid, lang)
    assert f"{len(forms) * len(LANGUAGES)} templates: {len(forms)} SMS forms in {len(LANGUAGES)} languages" in out
    # No {placeholder} is left for a portal to take as literal text; the Hindi forms are Unicode.
    template_lines = [line for line in out.splitlines() if line.startswith("  ") and not line.startswith("    ")]
    assert template_lines and not any("{number}" in line or "{opd}" in line for line in template_lines)
    assert "Token {#var#}" in out and "Unicode (UCS-2)" in out and "Text (GSM-7)" in out
    assert "{#var#} room: video room link" in out


def test_templates_list_dlt_json_is_a_skeleton_keyed_per_language_that_loads_once_filled(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from flows.engine import LANGUAGES

    assert main(["templates", "list", "--dlt", "--json"]) == 0
    skeleton = json.loads(capsys.readouterr().out)
    assert set(skeleton) == {dlt_key(template_key(m), lang) for m in marked_messages("sms") for lang in LANGUAGES}
    path = tmp_path / "dlt.json"
    path.write_text(json.dumps({key: f"11071{n:014d}" for n, key in enumerate(skeleton)}))
    assert len(load_sms_templates(str(path))) == len(skeleton)


@pytest.mark.parametrize(
    ("content", "loader"),
    [
        pytest.param("[1, 2]", load_sms_templates, id="sms-not-an-object"),
        pytest.param('{"m1": ""}', load_sms_templates, id="sms-empty-id"),
        pytest.param("{not json", load_sms_templates, id="sms-broken-json"),
        pytest.param('{"m1": {"content_sid": "XX1"}}', load_whatsapp_templates, id="whatsapp-bad-sid"),
        pytest.param('{"m1": {"content_sid": "HX1", "variables": "number"}}', load_whatsapp_templates, id="whatsapp-bad-variables"),
    ],
)
def test_a_bad_template_file_is_refused_with_its_name(tmp_path: Path, content: str, loader) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "templates.json"
    path.write_text(content)
    with pytest.raises(TemplateError, match="templates.json"):
        loader(str(path))


def test_a_whatsapp_template_file_loads(tmp_path: Path) -> None:
    from bot.outbox.template_keys import WhatsAppTemplate

    assert load_whatsapp_templates(None) == {}
    path = tmp_path / "wa.json"
    path.write_text(json.dumps({"m123": {"content_sid": "HX" + "0" * 32, "variables": ["number", "opd"]}}))
    assert load_whatsapp_templates(str(path)) == {"m123": WhatsAppTemplate("HX" + "0" * 32, ("number", "opd"))}
