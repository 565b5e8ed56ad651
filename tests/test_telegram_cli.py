"""The Telegram channel's command line: setting the webhook, the webhook secret, and polling.
"""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from bot.channels.base import BLOCKED
from bot.cli.main import main
from bot.platform.config import Settings
from bot.runtime import build_services
from bot.store.models import InboundMessage as InboundRow
from bot.store.models import OutboxMessage
from tests.telegram_helpers import (  # noqa: F401  (fixtures)
    CHAT,
    SECRET,
    TOKEN,
    client,
    count,
    fake,
    fixture,
    identity,
    message,
    post,
    press,
    shared,
    tg,
)
from webhooks import create_app

# --- the command line -----------------------------------------------------------------------------


@pytest.fixture
def env(monkeypatch, db, fake) -> None:  # type: ignore[no-untyped-def]
    """Point `teleopd` at the test database and the fake Bot API."""
    monkeypatch.setenv("TELEOPD_DATABASE_URL", db.url)
    monkeypatch.setenv("TELEOPD_TELEGRAM_TOKEN", TOKEN)
    monkeypatch.setenv("TELEOPD_TELEGRAM_SECRET", SECRET)
    monkeypatch.setenv("TELEOPD_TELEGRAM_API_URL", fake.base_url)


def test_set_webhook_registers_our_url_secret_and_update_kinds(env, fake, capsys) -> None:
    assert main(["telegram", "set-webhook", "https://teleopd.example.org/webhooks/telegram"]) == 0
    hook = fake.webhook
    assert hook["url"] == "https://teleopd.example.org/webhooks/telegram" and hook["secret_token"] == SECRET
    assert hook["allowed_updates"] == ["message", "edited_message", "callback_query", "my_chat_member"]
    assert (hook["drop_pending_updates"], hook["max_connections"]) == ("false", "40")
    out = capsys.readouterr()
    assert "https://teleopd.example.org/webhooks/telegram" in out.out
    assert TOKEN not in out.out + out.err and SECRET not in out.out + out.err


@pytest.mark.parametrize(("url", "says"), [
    ("http://teleopd.example.org/webhooks/telegram", "https"),
    ("teleopd.example.org/webhooks/telegram", "https"),
    ("https://teleopd.example.org:8080/webhooks/telegram", "ports"),
    ("https://[::1/webhooks/telegram", "not a URL"),
])
def test_set_webhook_refuses_a_url_telegram_cannot_call(env, fake, capsys, url: str, says: str) -> None:
    assert main(["telegram", "set-webhook", url]) == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1
    assert fake.requests() == []


def test_telegram_commands_say_in_one_line_when_telegram_is_off(monkeypatch, db, capsys) -> None:
    monkeypatch.setenv("TELEOPD_DATABASE_URL", db.url)
    monkeypatch.delenv("TELEOPD_TELEGRAM_TOKEN", raising=False)
    for command, needed in (
        (["telegram", "set-webhook", "https://teleopd.example.org/webhooks/telegram"], "TELEOPD_TELEGRAM_TOKEN and TELEOPD_TELEGRAM_SECRET"),
        (["telegram", "poll"], "TELEOPD_TELEGRAM_TOKEN"),
    ):
        assert main(command) == 2
        assert capsys.readouterr().err.strip() == f"teleopd: telegram is off: set {needed}"


@pytest.fixture
def env_without_secret(env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The bot's token and API, and no webhook secret: a developer polling from a laptop."""
    monkeypatch.delenv("TELEOPD_TELEGRAM_SECRET")


def test_poll_needs_no_webhook_secret(env_without_secret, db, fake) -> None:  # type: ignore[no-untyped-def]
    fake.queue_update(message(500, "/start"))
    assert main(["telegram", "poll", "--timeout", "1", "--idle-exit"]) == 0
    assert count(db, InboundRow, channel="telegram") == 1
    assert "Which language would you like to use?" in fake.sent(CHAT)[-1]["text"]


def test_set_webhook_without_a_secret_says_so_in_one_line(env_without_secret, fake, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["telegram", "set-webhook", "https://teleopd.example.org/webhooks/telegram"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("teleopd: the webhook needs TELEOPD_TELEGRAM_SECRET") and len(err.splitlines()) == 1
    assert fake.requests("setWebhook") == []


def test_without_a_secret_the_webhook_is_off(db, catalogs, fake) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(database_url=db.url, telegram_token=TOKEN, telegram_api_url=fake.base_url)
    services = build_services(settings, db=db, catalogs=catalogs)
    try:
        assert "telegram" in services.channels  # it still sends
        client = create_app(services=services).test_client()
        for secret in (None, "", SECRET):
            assert post(client, message(1, "/start"), secret=secret).status_code == 404
        assert count(db, InboundRow) == 0
    finally:
        services.channels["telegram"].close()  # type: ignore[attr-defined]


def test_a_short_webhook_secret_is_refused_at_start(env, monkeypatch, fake, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TELEOPD_TELEGRAM_SECRET", "s3cret")
    # --idle-exit: were the secret taken, the poll would end at once rather than run on.
    for command in (["telegram", "poll", "--timeout", "0", "--idle-exit"], ["telegram", "set-webhook", "https://teleopd.example.org/webhooks/telegram"]):
        assert main(command) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("teleopd: TELEOPD_TELEGRAM_SECRET must be 16-256 characters") and "s3cret" not in err
    assert fake.requests() == []


def test_poll_deletes_the_webhook_and_handles_updates_as_the_webhook_does(env, db, fake, testdata) -> None:
    fake.queue_update(message(500, "/start"), press(501, "hi", query_id="cbq-501"), fixture("inline_query.json"))
    # Our replies are one a second in a chat: the poll ends once they are sent.
    fake.handle("setWebhook", TOKEN, {"url": "https://old.example.org/hook"})
    assert main(["telegram", "poll", "--timeout", "1", "--idle-exit"]) == 0
    assert fake.webhook == {} and fake.requests("deleteWebhook")
    assert count(db, InboundRow, channel="telegram") == 2  # the inline query was ignored
    assert [r.params["callback_query_id"] for r in fake.requests("answerCallbackQuery")] == ["cbq-501"]
    assert "क्या आप सहमत हैं?" in fake.sent(CHAT)[-1]["text"]
    last = fake.requests("getUpdates")[-1]
    assert last.params["offset"] == str(563000109 + 1)  # what was handled is confirmed


def test_poll_takes_a_block_the_webhooks_way(tg, fake, testdata) -> None:
    from bot.cli.telegram import poll_updates

    kicked = shared(testdata, "teloxide/samples/update__issue_523.json")
    fake.queue_update(kicked, kicked)  # delivered twice
    assert poll_updates(tg, tg.channels["telegram"], threading.Event(), timeout=0, max_updates=2) == 2
    with tg.db.read() as session:
        assert [(r.provider_id, r.kind) for r in session.scalars(select(InboundRow))] == [(str(kicked["update_id"]), BLOCKED)]
    assert identity(tg.db, "0").opted_out is True and count(tg.db, OutboxMessage) == 0


def test_poll_stops_promptly_when_told_to_even_in_a_long_poll(tg, fake) -> None:
    from bot.cli.telegram import poll_updates

    fake.max_poll_wait = 30.0
    stop = threading.Event()
    fake.queue_update(message(1, "/start"))
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(poll_updates(tg, tg.channels["telegram"], stop, timeout=25)))
    thread.start()
    deadline = time.monotonic() + 5
    while count(tg.db, InboundRow) == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)  # now in the next long poll
    started = time.monotonic()
    stop.set()
    thread.join(5)
    assert not thread.is_alive() and time.monotonic() - started < 1.5
    assert result == [1]
