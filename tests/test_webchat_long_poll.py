"""The web chat as a demo: long polling (messages pushed without reload) over HTTP, and the waiting itself.

GET /api/chat/<user>/messages?after=<cursor>&wait=<s> answers as soon as the user has a
message after the cursor, or empty after `wait` seconds (at most 25; "wait" that is not a
number of seconds is a 400). A message the worker of this process records wakes the waiting
request at once; the database is read again every second for other processes' deliveries.
Timing bounds are generous: they tell "woken" from "waited the whole wait", nothing finer.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from bot.channels import local
from tests.fakes.telegram_api import FakeTelegram
from tests.serving import ServeProcess, free_port, gunicorn_command, teleopd_command
from tests.telegram_helpers import message
from tests.webchat_push_helpers import (
    API,
    LONG_WAIT_S,
    WOKEN_WITHIN_S,
    _drain_once_someone_waits,
    _get,
    client,  # noqa: F401  (fixtures)
)
from webhooks.webchat import MAX_WAIT_S

# --- long polling over HTTP -----------------------------------------------------------------


def test_a_long_poll_answers_at_once_when_messages_exist(services, client) -> None:
    client.post(API.format(user="lp-ready"), json={"text": "hello"})
    services.worker.drain()
    body, elapsed = _get(client, "lp-ready", after="", wait=LONG_WAIT_S)
    assert "Which language would you like to use?" in body["messages"][-1]["text"]
    assert elapsed < WOKEN_WITHIN_S


def test_a_long_poll_with_nothing_to_say_answers_empty_after_the_wait(services, client) -> None:
    client.post(API.format(user="lp-quiet"), json={"text": "hello"})
    services.worker.drain()
    cursor = _get(client, "lp-quiet")[0]["cursor"]
    body, elapsed = _get(client, "lp-quiet", after=cursor, wait=1)
    assert body["messages"] == [] and body["cursor"] == cursor
    assert 0.9 <= elapsed < WOKEN_WITHIN_S


@pytest.mark.parametrize(("lang", "hello", "question"), [
    ("en", "hello", "Which language would you like to use?"),
    ("hi", "नमस्ते", "आप किस भाषा में बात करना चाहेंगे?"),
])
def test_a_long_poll_is_woken_by_a_reply_sent_in_another_thread(services, client, lang: str, hello: str, question: str) -> None:
    user = f"lp-woken-{lang}"
    assert client.post(API.format(user=user), json={"text": hello}).status_code == 202
    # The replies are queued, not sent: the GET waits until the worker thread sends them.
    worker = _drain_once_someone_waits(services, user)
    body, elapsed = _get(client, user, after="", wait=LONG_WAIT_S)
    assert elapsed < WOKEN_WITHIN_S, f"waited {elapsed:.1f} s of {LONG_WAIT_S}: not woken"
    texts = [m["text"] for m in body["messages"]]
    assert ("teleopd" if lang == "en" else "टेलीओपीडी") in texts[0]  # the greeting: the poll answers at the first reply
    # The next long poll gets the rest (the worker may still be sending it: woken again).
    if question not in texts[-1]:
        more, elapsed = _get(client, user, after=body["cursor"], wait=LONG_WAIT_S)
        assert elapsed < WOKEN_WITHIN_S
        texts += [m["text"] for m in more["messages"]]
    worker.join(timeout=LONG_WAIT_S)
    assert question in texts[-1] and len(texts) == 2


def test_a_server_of_one_thread_per_process_never_holds_a_get(client) -> None:
    """gunicorn's sync workers (the Procfile) would be held whole: the GET answers at once."""
    body, elapsed = _get(client, "lp-sync", threaded=False, after="", wait=LONG_WAIT_S)
    assert body["messages"] == [] and elapsed < WOKEN_WITHIN_S


def test_without_wait_the_get_answers_at_once_as_before(services, client) -> None:
    client.post(API.format(user="lp-none"), json={"text": "hello"})
    body, elapsed = _get(client, "lp-none")  # queued, not sent: nothing yet, and no waiting
    assert body["messages"] == [] and elapsed < WOKEN_WITHIN_S


# Decided: "wait" is seconds, 0-25 with up to 3 decimals; a larger number is cut to 25 (the
# client gets the server's longest wait), anything else is a 400 with a JSON error.
BAD_WAITS = [
    pytest.param("abc", id="letters"),
    pytest.param("-1", id="negative"),
    pytest.param("", id="empty"),
    pytest.param("1e3", id="exponent"),
    pytest.param("nan", id="nan"),
    pytest.param("inf", id="infinity"),
    pytest.param(" 1", id="space"),
    pytest.param("0x10", id="hex"),
    pytest.param("१०", id="devanagari-digits"),
    pytest.param("9" * 40, id="forty-digits"),
    pytest.param("1.23456", id="too-many-decimals"),
]


@pytest.mark.parametrize("wait", BAD_WAITS)
def test_a_wait_that_is_no_number_of_seconds_is_a_400(client, wait: str) -> None:
    response = client.get(API.format(user="lp-bad"), query_string={"after": "", "wait": wait})
    assert response.status_code == 400 and response.is_json
    assert '"wait"' in response.get_json()["error"]


@pytest.mark.parametrize("wait", ["0", "0.5", "25", "26", "100000", "999999999"])
def test_a_wait_of_any_size_is_taken_and_answers_at_once_when_there_are_messages(services, client, wait: str) -> None:
    client.post(API.format(user="lp-sizes"), json={"text": "hello"})
    services.worker.drain()
    body, elapsed = _get(client, "lp-sizes", after="", wait=wait)
    assert len(body["messages"]) == 2 and elapsed < WOKEN_WITHIN_S


def test_the_longest_wait_is_25_seconds() -> None:
    assert MAX_WAIT_S == 25


def _timed(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, float, Any]:
    """Make one HTTP request; return its status, how long the answer took, and the answer's headers."""
    started = time.monotonic()
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    with urllib.request.urlopen(request, timeout=30) as answer:
        answer.read()
        return answer.status, time.monotonic() - started, answer.headers


# server: (its command on a port with so many threads, threads, chat tabs polling it).
# `teleopd serve` on loopback is the local demo, where any chat id works: the tester's 8
# tabs and more on its 8 threads. gunicorn with threads (gthread, as bench/ runs it) opens
# chats by their cookie only: 4 threads, 6 tabs.
SERVERS = {
    "teleopd-serve": (lambda port, threads: [*teleopd_command(), "serve", "--port", str(port), "--threads", str(threads)], 8, 10),
    "gunicorn-gthread": (gunicorn_command, 4, 6),
}


@pytest.mark.parametrize("server_kind", SERVERS)
def test_more_long_polls_than_threads_leave_healthz_and_webhooks_quick(sqlite_template: Path, tmp_path: Path, server_kind: str) -> None:
    """More chat tabs polling than a server has threads: /healthz and a Telegram webhook still answer at once."""
    command, threads, tabs = SERVERS[server_kind]
    wait_s = 3
    secret = "long-poll-test-secret"
    database = tmp_path / "teleopd.db"
    shutil.copy(sqlite_template, database)  # the database is not what this is about: SQLite only
    with FakeTelegram() as telegram_api:
        env = {**os.environ, "TELEOPD_DATABASE_URL": f"sqlite:///{database}", "TELEOPD_TELEGRAM_TOKEN": "123456:" + "A" * 35,
               "TELEOPD_TELEGRAM_SECRET": secret, "TELEOPD_TELEGRAM_API_URL": telegram_api.base_url}
        port = free_port()
        server = ServeProcess(env, port, tmp_path / "serve.log", command=command(port, threads))
        try:
            polls = _tabs_polling(server.base, tabs, demo=server_kind == "teleopd-serve")
            with ThreadPoolExecutor(tabs) as pool:
                held = [pool.submit(_timed, "GET", f"{url}?after={cursor}&wait={wait_s}", None, headers) for url, cursor, headers in polls]
                time.sleep(0.5)  # every poll has reached the server and holds what it holds
                health = _timed("GET", server.base + "/healthz")
                update = json.dumps(message(990001, "hello")).encode()
                webhook = _timed("POST", server.base + "/webhooks/telegram", update,
                                 {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret})
                answered = [poll.result() for poll in held]
        finally:
            server.stop()
    assert health[0] == 200 and health[1] < 2, f"/healthz took {health[1]:.1f} s behind {tabs} long polls on {threads} threads"
    assert webhook[0] == 200 and webhook[1] < 2, f"the webhook took {webhook[1]:.1f} s behind {tabs} long polls"
    assert all(status == 200 for status, _, _ in answered)
    # Long polling still works for the polls that got a place: some waited the whole wait.
    assert any(elapsed >= wait_s - 0.5 for _, elapsed, _ in answered), [elapsed for _, elapsed, _ in answered]


def _tabs_polling(base: str, tabs: int, demo: bool) -> list[tuple[str, str, dict[str, str]]]:
    """Return, per chat tab, the URL it polls, the cursor after its messages so far, and its headers."""
    if demo:
        return [(f"{base}/api/chat/tab-{n}/messages", "", {}) for n in range(tabs)]
    polls = []
    for _ in range(tabs):
        # Each tab's first message opens its chat; its cookie then addresses it. No worker runs
        # beside gunicorn here, so nothing is sent to any tab: each poll waits.
        _, _, headers = _timed("POST", f"{base}/api/my-chat/patient/messages", b'{"text": "hello"}',
                               {"Content-Type": "application/json"})
        cookie = headers["Set-Cookie"].split(";", 1)[0]
        polls.append((f"{base}/api/my-chat/patient/messages", "", {"Cookie": cookie}))
    return polls


# --- the waiting itself -----------------------------------------------------------------------


@pytest.mark.both_databases
def test_a_waiting_reader_is_woken_by_the_commit_not_by_rereading(services) -> None:
    """With the database re-read only every 60 s, only the wake can end the wait early."""
    services.dispatcher.dispatch(_inbound("wake-only", "hello"))
    worker = _drain_once_someone_waits(services, "wake-only")
    started = time.monotonic()
    messages, cursor = local.wait_for_messages(services.db, "wake-only", 0, wait_s=LONG_WAIT_S, recheck_s=60)
    worker.join(timeout=LONG_WAIT_S)
    assert messages and "Namaste! I am the teleopd assistant." in messages[0].text and cursor >= messages[-1].id
    assert time.monotonic() - started < WOKEN_WITHIN_S


@pytest.mark.both_databases
def test_a_reader_sees_messages_another_process_sent_by_rereading(services) -> None:
    """A separate `teleopd worker` cannot wake this process: a reader with its own, never
    signalled arrivals still sees the messages at its next look at the database."""
    services.dispatcher.dispatch(_inbound("other-process", "hello"))
    unheard = local.Arrivals()
    done = threading.Event()

    def deliver() -> None:
        assert unheard.wait_for_reader("other-process", timeout=LONG_WAIT_S)
        services.worker.drain()
        done.set()

    worker = threading.Thread(target=deliver, daemon=True)
    worker.start()
    started = time.monotonic()
    messages, _ = local.wait_for_messages(services.db, "other-process", 0, wait_s=LONG_WAIT_S, recheck_s=0.2, arrivals=unheard)
    worker.join(timeout=LONG_WAIT_S)
    assert done.is_set() and len(messages) == 2
    assert time.monotonic() - started < WOKEN_WITHIN_S


def test_a_message_for_someone_else_does_not_end_the_wait(services) -> None:
    services.dispatcher.dispatch(_inbound("bystander", "hello"))
    worker = _drain_once_someone_waits(services, "waiting-one")
    messages, cursor = local.wait_for_messages(services.db, "waiting-one", 0, wait_s=1, recheck_s=60)
    worker.join(timeout=LONG_WAIT_S)
    assert messages == [] and cursor == 0
    assert len(local.messages_after(services.db, "bystander", 0)[0]) == 2  # it was delivered


def _inbound(user: str, text: str):  # type: ignore[no-untyped-def]
    from bot.channels.base import InboundMessage

    return InboundMessage(channel=local.NAME, address=user, provider_id=f"{user}:{text}", text=text)
