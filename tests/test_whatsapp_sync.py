"""`teleopd whatsapp sync`: the WhatsApp contents made through a fake Content API, idempotently.

A dry run prints the plan and changes nothing; --apply creates the buttons, the lists and a
template per language of each message the templates file asks for, asks WhatsApp to approve the
templates and writes the ContentSids; a second run changes nothing; a changed or missing content
is made again, a teleopd_ content no longer wanted is deleted, and other content is left alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.channels.whatsapp_content import buttons_name, list_name, template_name
from bot.cli.main import main
from bot.outbox.template_keys import load_whatsapp_templates, template_key, whatsapp_key
from flows.engine import LANGUAGES
from tests.fakes.twilio_api import FakeTwilio
from tests.twilio_helpers import PUBLIC, SID, TOKEN, WA_FROM

GET_READY = "Get ready: you are 3rd in the queue for {opd} (token {number}). The doctor will call you soon; please stay near your phone."
KEY = template_key(GET_READY)
SESSION = [buttons_name(n) for n in (1, 2, 3)] + [list_name(n) for n in range(1, 11)]
TEMPLATES = [template_name(KEY, lang) for lang in LANGUAGES]


@pytest.fixture(scope="module")
def shared_fake() -> Iterator[FakeTwilio]:
    with FakeTwilio(SID, TOKEN) as server:
        yield server


@pytest.fixture
def account(shared_fake: FakeTwilio, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[FakeTwilio, Path]:
    """Return the fake (emptied) and a templates file that asks for one message as a template."""
    shared_fake.reset()
    for name, value in {"TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": TOKEN, "TELEOPD_TWILIO_WHATSAPP_FROM": WA_FROM, "TELEOPD_PUBLIC_URL": PUBLIC,
                        "TELEOPD_TWILIO_CONTENT_API_URL": shared_fake.url}.items():
        monkeypatch.setenv(name, value)
    path = tmp_path / "whatsapp.json"
    path.write_text(json.dumps({KEY: {}}))
    return shared_fake, path


def _sync(path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> list[str]:
    assert main(["whatsapp", "sync", "--file", str(path), *extra]) == 0
    return capsys.readouterr().out.splitlines()


def _names(fake: FakeTwilio) -> list[str]:
    return sorted(c["friendly_name"] for c in fake.content.contents.values())


def test_a_dry_run_prints_the_plan_and_changes_nothing(account: tuple[FakeTwilio, Path], capsys: pytest.CaptureFixture[str]) -> None:
    fake, path = account
    out = _sync(path, capsys)
    assert {line.split()[1] for line in out if line.startswith("create ")} == {*SESSION, *TEMPLATES}
    assert "create  teleopd_list_7 (twilio/list-picker, en)" in out
    assert f"create  {template_name(KEY, 'hi')} (twilio/text, hi)" in out
    assert out[-1] == "dry run: 16 to create, 0 to replace, 0 to delete, 0 kept; run with --apply to do it"
    assert fake.content.contents == {} and {m for m, _ in fake.content.calls} == {"GET"}
    assert json.loads(path.read_text()) == {KEY: {}}


def test_apply_creates_the_contents_writes_their_sids_and_a_second_run_changes_nothing(
    account: tuple[FakeTwilio, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    fake, path = account
    out = _sync(path, capsys, "--apply")
    assert out[-1] == f"applied: 16 to create, 0 to replace, 0 to delete, 0 kept; ContentSids in {path}"
    assert _names(fake) == sorted([*SESSION, *TEMPLATES])
    templates = load_whatsapp_templates(str(path))
    by_name = {c["friendly_name"]: c["sid"] for c in fake.content.contents.values()}
    assert {k: v.content_sid for k, v in templates.items()} == {
        **{name: by_name[name] for name in SESSION},
        **{whatsapp_key(KEY, lang): by_name[template_name(KEY, lang)] for lang in LANGUAGES},
    }
    hindi = templates[whatsapp_key(KEY, "hi")]
    assert (hindi.language, hindi.variables) == ("hi", ("opd", "number"))
    assert fake.content.contents[hindi.content_sid]["types"]["twilio/text"]["body"].startswith("तैयार रहें")
    # Only the templates go to WhatsApp for approval: in-session buttons and lists need none.
    assert sorted(a["name"] for a in fake.content.approvals.values()) == sorted(TEMPLATES)
    assert {a["category"] for a in fake.content.approvals.values()} == {"UTILITY"}

    written, calls = path.read_text(), len(fake.content.calls)
    again = _sync(path, capsys, "--apply")
    assert again[-1] == "nothing to change" and all(line.startswith("keep ") for line in again[:-1])
    assert path.read_text() == written
    assert {m for m, _ in fake.content.calls[calls:]} == {"GET"}, "a second run only reads"


def test_a_changed_or_missing_content_is_made_again_and_only_teleopds_are_deleted(
    account: tuple[FakeTwilio, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    fake, path = account
    _sync(path, capsys, "--apply")
    by_name = {c["friendly_name"]: sid for sid, c in fake.content.contents.items()}
    fake.content.contents[by_name[buttons_name(2)]]["types"]["twilio/quick-reply"]["body"] = "Old words {{1}}"
    del fake.content.contents[by_name[list_name(4)]]
    for name in ("teleopd_list_11", "clinic_newsletter"):
        fake.content.contents["HX" + name.encode().hex()[:32].ljust(32, "0")] = {
            "sid": "HX" + name.encode().hex()[:32].ljust(32, "0"), "friendly_name": name, "language": "en",
            "variables": {}, "types": {"twilio/text": {"body": "Hello {{1}}"}},
        }
    out = _sync(path, capsys)
    changes = sorted(line.split()[0] + " " + line.split()[1] for line in out if not line.startswith(("keep", "dry run")))
    assert changes == ["create teleopd_list_4", "delete teleopd_list_11", f"replace {buttons_name(2)}"]
    assert not any("clinic_newsletter" in line for line in out)
    _sync(path, capsys, "--apply")
    assert _names(fake) == sorted(["clinic_newsletter", *SESSION, *TEMPLATES])
    assert load_whatsapp_templates(str(path))[buttons_name(2)].content_sid not in (by_name[buttons_name(2)],)
    assert _sync(path, capsys, "--apply")[-1] == "nothing to change"


def test_a_key_no_message_has_is_refused_with_a_pointer(account: tuple[FakeTwilio, Path], capsys: pytest.CaptureFixture[str]) -> None:
    fake, path = account
    path.write_text(json.dumps({"m0000000000": {}}))
    assert main(["whatsapp", "sync", "--file", str(path)]) == 2
    assert "no message has the template key m0000000000: `teleopd templates` lists them" in capsys.readouterr().err
    assert fake.content.contents == {}
