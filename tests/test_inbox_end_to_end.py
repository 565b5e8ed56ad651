"""The inbox end to end: a WhatsApp patient asks for a person (signed webhook), a coordinator takes over and
replies from the dashboard, the reply reaches the fake Twilio, and after the hand-back the bot answers again.
Also: who may use the inbox (roles, state), and `teleopd operator add --role --state`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from bot.cli.main import main
from bot.runtime import Services, build_services
from bot.services import operators
from tests.fakes.twilio_api import FakeTwilio
from tests.operators import form_token, sign_in, signed_in
from tests.twilio_helpers import SID, TOKEN, _say, _settings
from webhooks import create_app

PATIENT = "+919812300077"
ITEM_LINK = re.compile(r'href="/dashboard/inbox/([0-9]+)')


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio(SID, TOKEN) as server:
        yield server


@pytest.fixture
def web(db, catalogs, fake: FakeTwilio) -> Iterator[tuple[Any, Services]]:  # type: ignore[no-untyped-def]
    # The inbox answered round the clock: what the patient is told does not hang on when the test runs.
    services = build_services(_settings(db.url, fake, inbox_opens_hour=0, inbox_closes_hour=24), db=db, catalogs=catalogs)
    try:
        yield create_app(services=services).test_client(), services
    finally:
        services.close()


def _bodies(requests: list[dict[str, str]]) -> list[str]:
    return [params.get("Body", "") for params in requests]


def _post_form(client, page_path: str, action: str, **fields: str):  # type: ignore[no-untyped-def]
    page = client.get(page_path)
    assert page.status_code == 200, page.status_code
    return client.post(action, data={"csrf": form_token(page.get_data(as_text=True)), **fields})


def test_a_whatsapp_patient_asking_for_a_person_is_answered_by_a_coordinator_and_then_by_the_bot_again(web, fake: FakeTwilio) -> None:  # type: ignore[no-untyped-def]
    client, services = web
    assert _say(client, services, fake, "hello", address=PATIENT)  # the bot asks for a language
    asked = _bodies(_say(client, services, fake, "talk to a person", address=PATIENT))
    assert any("person from our team" in body and "108" in body for body in asked), asked

    signed_in(client, services, "coord")
    listing = client.get("/dashboard/inbox").get_data(as_text=True)
    assert "Asked for a person" in listing
    item = f"/dashboard/inbox/{ITEM_LINK.search(listing).group(1)}"  # type: ignore[union-attr]
    opened = client.get(item).get_data(as_text=True)
    assert "talk to a person" in opened and "Which language" in opened  # the patient's words and the bot's

    before = len(fake.requests)
    assert _post_form(client, item, item + "/take").status_code == 302
    assert _post_form(client, item, item + "/reply", text="Namaste, main Asha hoon. Aapko kya madad chahiye?").status_code == 302
    services.worker.drain()
    sent = _bodies([r.params for r in fake.requests[before:]])
    assert any("now answering you" in body for body in sent), sent
    assert any(body.endswith("Namaste, main Asha hoon. Aapko kya madad chahiye?") for body in sent), sent
    assert all(r.params.get("To") == f"whatsapp:{PATIENT}" for r in fake.requests[before:])

    # Held: the bot says nothing; the coordinator reads the message.
    assert _say(client, services, fake, "mujhe token chahiye", address=PATIENT) == []
    assert "mujhe token chahiye" in client.get(item).get_data(as_text=True)

    before = len(fake.requests)
    assert _post_form(client, item, item + "/hand-back").status_code == 302
    services.worker.drain()
    assert any("answering you again" in body for body in _bodies([r.params for r in fake.requests[before:]]))
    answer = _bodies(_say(client, services, fake, "1", address=PATIENT))  # English, at the language question
    assert answer, "the bot answers again after the hand-back"
    assert "Nobody is waiting for a person." in client.get("/dashboard/inbox").get_data(as_text=True)
    audit = client.get(item, query_string={"lang": "hi"}).get_data(as_text=True)  # the audit log, in Hindi
    assert all(f"coord: {step}" in audit for step in ("संभाली", "जवाब दिया", "वापस सौंपी")), audit


def test_a_viewer_reads_the_dashboard_but_cannot_post_or_open_the_inbox(web) -> None:  # type: ignore[no-untyped-def]
    client, services = web
    with services.db.write() as session:
        _, password = operators.add_operator(session, "watcher", role="viewer")
    assert sign_in(client, "watcher", password).status_code == 302
    page = client.get("/dashboard")
    assert page.status_code == 200 and 'id="nav-inbox"' not in page.get_data(as_text=True)
    assert client.get("/dashboard/inbox").status_code == 403
    refused = client.post("/dashboard/callbacks/done", data={"csrf": form_token(page.get_data(as_text=True)), "request": "1"})
    assert refused.status_code == 403


def test_operator_add_takes_a_role_and_a_state(db, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TELEOPD_DATABASE_URL", db.url)
    assert main(["operator", "add", "--name", "up.coord", "--role", "coordinator", "--state", "UP"]) == 0
    assert "added as coordinator for IN-UP" in capsys.readouterr().out
    assert main(["operator", "list"]) == 0
    listed = capsys.readouterr().out
    assert re.search(r"up\.coord\s+coordinator\s+IN-UP", listed), listed
    assert main(["operator", "add", "--name", "x", "--role", "coordinator", "--state", "Atlantis"]) != 0
