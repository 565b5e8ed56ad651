"""The web chat as a demo: long polling (messages pushed without reload), roles, and the page.

GET /api/chat/<user>/messages?after=<cursor>&wait=<s> answers as soon as the user has a
message after the cursor, or empty after `wait` seconds (at most 25; "wait" that is not a
number of seconds is a 400). A message the worker of this process records wakes the waiting
request at once; the database is read again every second for other processes' deliveries.
Timing bounds are generous: they tell "woken" from "waited the whole wait", nothing finer.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import time
import unicodedata
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

import webhooks
from bot.channels import local
from bot.runtime import Services
from bot.services.enrolment import add_doctor, add_health_worker
from flows.steps.enrolment import code_in
from tests.fakes.telegram_api import FakeTelegram
from tests.serving import ServeProcess, free_port, gunicorn_command, teleopd_command
from tests.telegram_helpers import message
from webhooks.webchat import DEMO_STAFF_SUFFIXES, ENROL_WORD, MAX_WAIT_S, ROLES

API = "/api/chat/{user}/messages"
LANGS = ["en", "hi"]
# Far longer than any wake takes, far shorter than the waits the requests ask for.
WOKEN_WITHIN_S = 8.0
LONG_WAIT_S = 20


@pytest.fixture
def client(services: Services) -> FlaskClient:
    return webhooks.create_app(services, local_demo=True).test_client()


def _get(client: FlaskClient, user: str, threaded: bool = True, **query: Any) -> tuple[dict[str, Any], float]:
    """GET a user's messages as a threaded server (waitress: `teleopd serve`) would pass the
    request on; return the JSON answer and how long the request took."""
    started = time.monotonic()
    response = client.get(API.format(user=user), query_string=query, environ_overrides={"wsgi.multithread": threaded})
    elapsed = time.monotonic() - started
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json(), elapsed


def _drain_once_someone_waits(services: Services, user: str) -> threading.Thread:
    """Start a thread that runs the worker as soon as a request waits for the user's messages."""

    def deliver() -> None:
        assert local.ARRIVALS.wait_for_reader(user, timeout=LONG_WAIT_S)
        services.worker.drain()

    thread = threading.Thread(target=deliver, daemon=True)
    thread.start()
    return thread


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


# --- roles ------------------------------------------------------------------------------------


def test_before_the_first_message_the_role_is_null(client) -> None:
    assert _get(client, "nobody-yet")[0]["role"] is None


@pytest.mark.parametrize("lang", LANGS)
def test_a_patient_is_a_patient(services, client, lang: str) -> None:
    client.post(API.format(user=f"pat-{lang}"), json={"text": "नमस्ते" if lang == "hi" else "hello"})
    services.worker.drain()
    assert _get(client, f"pat-{lang}")[0]["role"] == "patient"


STAFF = [
    pytest.param("doctor", "Welcome, Dr. Anita Sharma.", "स्वागत है, डॉ. Anita Sharma।", id="doctor"),
    pytest.param("health_worker", "Welcome, Asha Kumari.", "स्वागत है, Asha Kumari जी।", id="health-worker"),
]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(("role", "welcome_en", "welcome_hi"), STAFF)
def test_enrolling_with_the_pages_message_gives_the_role(services, client, lang: str, role: str, welcome_en: str, welcome_hi: str) -> None:
    with services.db.write() as session:
        if role == "doctor":
            _, code = add_doctor(session, "Anita Sharma", [])
        else:
            _, code = add_health_worker(session, "Asha Kumari", "PHC Sarnath")
    user = f"web-abc12345-{role}-{lang}"
    # What the page's enrolment form sends: its language's word, a space, the code.
    assert client.post(API.format(user=user), json={"text": f"{ENROL_WORD[lang]} {code}"}).status_code == 202
    services.worker.drain()
    body, _ = _get(client, user)
    assert body["role"] == role
    assert (welcome_hi if lang == "hi" else welcome_en) in body["messages"][0]["text"]


@pytest.mark.parametrize("lang", LANGS)
def test_a_wrong_code_leaves_the_role_as_it_was(services, client, lang: str) -> None:
    user = f"web-wrong.doctor-{lang}"
    client.post(API.format(user=user), json={"text": f"{ENROL_WORD[lang]} ABCD2345"})
    services.worker.drain()
    body, _ = _get(client, user)
    assert body["role"] == "patient"
    assert body["messages"], "the bot says the code is not valid"


# What reaches the bot from a staff tab, for a code as `teleopd doctor add` / `demo` print it
# ("ENROLL CODE", "enroll CODE", the code alone): pasted into the enrolment box (which puts
# its own word first), or typed into the message box.
PASTED = {
    "box_printed_line": lambda word, code: f"{word} ENROLL {code}",
    "box_demo_line": lambda word, code: f"{word} enroll {code.lower()}",
    "box_with_dash": lambda word, code: f"{word} {code[:4]}-{code[4:]}",
    "message_code_alone": lambda word, code: f" {code[:4]} {code[4:].lower()} ",
    "message_printed_line": lambda word, code: f"ENROLL: {code}",
}


def _read(services: Services, client: FlaskClient, user: str) -> tuple[str, list[str]]:
    services.worker.drain()
    body, _ = _get(client, user)
    return body["role"], [m["text"] for m in body["messages"]]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(("role", "welcome_en", "welcome_hi"), STAFF)
@pytest.mark.parametrize("form", PASTED)
def test_a_staff_tab_takes_the_code_as_it_was_printed(services, client, lang: str, role: str, welcome_en: str, welcome_hi: str, form: str) -> None:
    with services.db.write() as session:
        if role == "doctor":
            _, code = add_doctor(session, "Anita Sharma", [])
        else:
            _, code = add_health_worker(session, "Asha Kumari", "PHC Sarnath")
    suffix = next(suffix for suffix, made_for in DEMO_STAFF_SUFFIXES.items() if made_for == role)
    user = f"web-{form.replace('_', '')}{lang}{suffix}"
    if lang == "hi" and form.startswith("message"):  # typed in the message box of the Hindi page
        client.post(API.format(user=user), json={"text": "नमस्ते"})
    client.post(API.format(user=user), json={"text": PASTED[form](ENROL_WORD[lang], code)})
    got, texts = _read(services, client, user)
    assert got == role, texts
    assert any((welcome_hi if lang == "hi" else welcome_en) in text for text in texts), texts


ASK_CODE = {"en": "This chat is for doctors and health workers.", "hi": "यह चैट डॉक्टरों और स्वास्थ्य कर्मियों के लिए है।"}
REFUSED = {"en": "That code did not work.", "hi": "यह कोड काम नहीं आया।"}
LANGUAGE_QUESTION = {"en": "Which language", "hi": "किस भाषा"}
HELLO = {"en": "hello", "hi": "नमस्ते"}
EMERGENCY = {"en": ("I have chest pain", "Call 108"), "hi": ("सीने में दर्द है", "108")}


@pytest.mark.parametrize("lang", LANGS)
def test_a_doctors_tab_asks_for_the_code_and_never_registers_a_patient(services, client, lang: str) -> None:
    user = f"web-tab{lang}.doctor"
    client.post(API.format(user=user), json={"text": f"{ENROL_WORD[lang]} WRONG234"})
    role, texts = _read(services, client, user)
    assert role == "patient" and REFUSED[lang] in texts[0] and ASK_CODE[lang] in texts[-1], texts
    cursor = len(texts)
    for said in (HELLO[lang], "menu", EMERGENCY[lang][0]):
        client.post(API.format(user=user), json={"text": said})
        role, texts = _read(services, client, user)
        new = texts[cursor:]
        cursor = len(texts)
        assert ASK_CODE[lang] in new[-1], (said, new)
    assert EMERGENCY[lang][1] in new[0]  # danger signs get 108/112 first, even here
    assert not any(LANGUAGE_QUESTION[lang] in text for text in texts), texts
    with services.db.write() as session:
        _, code = add_doctor(session, "Anita Sharma", [])
    client.post(API.format(user=user), json={"text": code})
    role, texts = _read(services, client, user)
    assert role == "doctor", texts[cursor:]


@pytest.mark.parametrize("lang", LANGS)
def test_the_enrolment_word_is_one_the_bot_takes(lang: str) -> None:
    assert code_in(f"{ENROL_WORD[lang]} ABCD2345") == "ABCD2345"


# --- the page ---------------------------------------------------------------------------------


class _Page(HTMLParser):
    """The elements of a page by id, and every element's attributes and text."""

    def __init__(self, html: str):
        super().__init__()
        self.elements: list[tuple[str, dict[str, str], list[str]]] = []
        self._open: list[list[str]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        text: list[str] = []
        self.elements.append((tag, {k: v or "" for k, v in attrs}, text))
        if tag not in ("input", "link", "meta", "br"):
            self._open.append(text)

    def handle_endtag(self, tag: str) -> None:
        if self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for text in self._open:
            text.append(data)

    def by_id(self, element_id: str) -> tuple[str, dict[str, str], str]:
        found = [(tag, attrs, "".join(text).strip()) for tag, attrs, text in self.elements if attrs.get("id") == element_id]
        assert len(found) == 1, f"#{element_id}: {len(found)} elements"
        return found[0]

    def all(self, **attrs: str) -> list[tuple[str, dict[str, str], str]]:
        return [
            (tag, a, " ".join("".join(text).split()))
            for tag, a, text in self.elements
            if all(a.get(k) == v or (v == "*" and k in a) for k, v in attrs.items())
        ]


def _page(client: FlaskClient, query: str) -> _Page:
    response = client.get("/" + query)
    assert response.status_code == 200 and response.mimetype == "text/html"
    return _Page(response.get_data(as_text=True))


def _nfc(words: Any) -> Any:
    """Return strings as the catalogs hold them (NFC: ज़ is ज + nukta there)."""
    if isinstance(words, str):
        return unicodedata.normalize("NFC", words)
    return type(words)(_nfc(w) for w in words)


# (language, quick phrases, role names, enrolment label, send)
PAGE_WORDS = {
    "en": (["hello", "I have fever for 3 days", "status"], ["Patient", "Doctor", "Health worker"],
           "Enter the code your coordinator gave you", "Send"),
    "hi": (["नमस्ते", "मुझे 3 दिन से बुखार है", "स्थिति"], ["मरीज़", "डॉक्टर", "स्वास्थ्य कर्मी"],
           "आपके कोऑर्डिनेटर ने जो कोड दिया है, वह यहाँ डालें", "भेजें"),
}


@pytest.mark.parametrize("lang", LANGS)
def test_the_page_speaks_its_language_from_the_catalogs(client, lang: str) -> None:
    phrases, role_names, enrol_label, send = _nfc(PAGE_WORDS[lang])
    page = _page(client, f"?lang={lang}")
    assert [text for _, _, text in page.all(**{"data-phrase": "*"})] == phrases
    assert [a["data-phrase"] for _, a, _ in page.all(**{"data-phrase": "*"})] == phrases
    assert [text for tag, _, text in page.all(**{"data-role": "*"}) if tag == "a"] == role_names
    assert page.by_id("enrol-label")[2] == enrol_label
    assert page.by_id("send")[2] == send
    assert page.by_id("role-label")[2] == role_names[0]


@pytest.mark.parametrize("lang", LANGS)
def test_the_input_takes_devanagari_as_typed(client, lang: str) -> None:
    _, attrs, _ = _page(client, f"?lang={lang}").by_id("text")
    assert attrs["lang"] == lang
    assert (attrs["inputmode"], attrs["autocapitalize"], attrs["spellcheck"]) == ("text", "off", "false")


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(("query", "role"), [
    ("", "patient"),
    ("&role=patient", "patient"),
    ("&role=doctor", "doctor"),
    ("&role=health_worker", "health_worker"),
    ("&role=admin", "patient"),
    ("&role=%3Cscript%3E", "patient"),
])
def test_the_role_switch(client, lang: str, query: str, role: str) -> None:
    page = _page(client, f"?lang={lang}{query}")
    _, body, _ = page.by_id("role-label")
    assert body["data-role"] == role
    bodies = page.all(**{"data-api": "*"})
    # Each role is its own chat: its own API (and cookie).
    assert len(bodies) == 1 and bodies[0][1]["data-api"] == f"/api/my-chat/{role}/messages" and bodies[0][1]["data-role"] == role
    assert bodies[0][1]["data-chat-end"] == f"/api/my-chat/{role}"
    assert bodies[0][1]["data-enrol-word"] == ENROL_WORD[lang]
    links = [(a["data-role"], a["href"], "aria-current" in a) for tag, a, _ in page.all(**{"data-role": "*"}) if tag == "a"]
    assert [name for name, _, _ in links] == list(ROLES)
    for name, href, current in links:
        # Switching role keeps the tab's language.
        assert f"role={name}" in href and f"lang={lang}" in href, href
        assert current == (name == role)
    # The enrolment form is there for the script to show while a doctor or health worker is not enrolled.
    assert "hidden" in page.by_id("enrol")[1]
    assert page.by_id("enrol-code")[0] == "input"
    # The quick phrases are a patient's; a doctor or health worker has the bot's buttons.
    assert ("hidden" in page.by_id("quick-phrases")[1]) == (role != "patient")


def test_the_page_links_the_devanagari_font_and_uses_it(client) -> None:
    page = _page(client, "?lang=hi")
    sheets = [a["href"] for tag, a, _ in page.all(rel="stylesheet")]
    assert sheets[0].endswith("/static/fonts.css") and sheets[1].endswith("/static/chat.css")
    css = client.get("/static/chat.css").get_data(as_text=True)
    assert re.search(r"font-family:\s*var\(--font-ui\)", css)
    assert "Noto Sans Devanagari" in client.get("/static/fonts.css").get_data(as_text=True)


@pytest.mark.parametrize("lang", LANGS)
def test_the_language_links_keep_the_role_and_the_user(client, lang: str) -> None:
    page = _page(client, f"?lang={lang}&role=doctor&user=asha")
    links = {a["data-lang"]: a["href"] for _, a, _ in page.all(**{"data-lang": "*"})}
    assert set(links) == {"en", "hi"}
    for code, href in links.items():
        assert f"lang={code}" in href and "role=doctor" in href and "user=asha" in href
