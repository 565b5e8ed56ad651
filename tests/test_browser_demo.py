"""The README's demo, in a real browser: a patient books in one tab, a doctor calls them in another,
and the consultation shows on the operators' dashboard.

`teleopd demo` prints what a newcomer needs (the doctor's enrolment code, the dashboard's
sign-in) and `teleopd serve` runs as a subprocess, exactly as the README says; Debian's
Chromium, driven by Playwright, plays both tabs of one browser (tests/browser.py). It runs on
SQLite and, when TELEOPD_TEST_DATABASE_URL is set, on PostgreSQL. Everything is read off the
pages; the database is read only to know when the server has nothing more to show. A
browser with JavaScript off then signs in (after a wrong password) and still sees the numbers
and the charts.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.cli.main import main as teleopd
from bot.store.db import Database
from bot.store.models import Conversation, Identity, OutboxMessage, OutboxStatus
from tests.browser import (
    bars_drawn,
    record_policy_violations,
    shows_devanagari,
    wait_until,
)
from tests.doctor_helpers import ADVICE, ANSWERS, COMPLAINT, OPEN, REGISTER, WORDS, T
from tests.serving import ServeProcess, free_port

pytestmark = pytest.mark.slow

# The page's hooks (webhooks/templates/chat.html, webhooks/static/chat.js).
BOT_MESSAGE = "#messages .msg.bot"
# A function of a text: whether a bot message on the page holds it.
SHOWS_TEXT = "text => Array.from(document.querySelectorAll('#messages .msg.bot .text')).some(p => p.textContent.includes(text))"
CHOICE_BUTTONS = "#messages .choices button"
INPUT, SEND = "#text", "#send"
SETTLED = (OutboxStatus.SENT, OutboxStatus.DELIVERED, OutboxStatus.FAILED, OutboxStatus.SUPPRESSED)
SHOWN = (OutboxStatus.SENT, OutboxStatus.DELIVERED)
WAIT_S = 20.0
PATIENT = {"en": "Sunita Devi", "hi": "सुनीता देवी"}
# What `teleopd demo` sets up (bot/cli/demo.py cmd_demo, bot/services/opds.py): the doctor sits in the round-the-clock OPD.
DEMO_DOCTOR = "Anita Sharma"
DEMO_OPD = {"en": "General Medicine (24 hours)", "hi": "सामान्य चिकित्सा (24 घंटे)"}
# The dashboard's hooks (webhooks/templates/dashboard.html).
TODAY_CONSULTATIONS = "[data-figure='consultations-today']"
PER_DAY_CHART, STATE_CHART, OPD_CHART = "#chart-per-day svg", "#chart-states svg", "#chart-opds svg"
DEVANAGARI_WORD = ".dashboard-head h1"  # "डैशबोर्ड": one word, so one headline


class Demo:
    """What `teleopd demo` printed, and the server `teleopd serve` started."""

    def __init__(self, db: Database, printed: str, server: ServeProcess):
        self.db, self.printed, self.server = db, printed, server
        self.base = server.base

    def code(self, role: str) -> str:
        found = re.search(rf"role={role}\b.*?enroll\s+(\S+)", self.printed)
        assert found, f"teleopd demo printed no enrolment code for {role}:\n{self.printed}"
        return found.group(1)

    def operator(self) -> tuple[str, str]:
        found = re.search(r"(?im)^\s*(?:user ?name|login|operator)\s*:\s*(\S+).*?password\s*:\s*(\S+)", self.printed, re.S)
        assert found, f"teleopd demo printed no dashboard sign-in:\n{self.printed}"
        return found.group(1), found.group(2)

    def shown_count(self, user: str) -> int | None:
        """Return how many messages the server has for this web chat user, or None while some are unsent."""
        with self.db.read() as session:
            rows = session.execute(
                select(OutboxMessage.status, func.count()).where(OutboxMessage.channel == "local", OutboxMessage.address == user)
                .group_by(OutboxMessage.status)
            ).all()
        if any(status not in SETTLED for status, _ in rows):
            return None
        return sum(n for status, n in rows if status in SHOWN)


@pytest.fixture
def demo(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[Demo]:
    port = free_port()
    env = {"TELEOPD_DATABASE_URL": db.url, "TELEOPD_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert teleopd(["demo"]) == 0
    printed = capsys.readouterr().out
    server = ServeProcess({**os.environ, **env}, port, tmp_path / "serve.log")
    try:
        yield Demo(db, printed, server)
    finally:
        server.stop()


class Tab:
    """One browser tab on the web chat, as one user."""

    def __init__(self, demo: Demo, page: Any, lang: str):
        self.demo, self.page, self.lang = demo, page, lang

    @property
    def user(self) -> str:
        return str(self.page.evaluate("document.body.dataset.user"))

    def bot_texts(self) -> list[str]:
        return [text.strip() for text in self.page.locator(BOT_MESSAGE + " .text").all_inner_texts()]

    def settle(self) -> None:
        """Wait until the page shows every message the server has for this user."""
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            expected = self.demo.shown_count(self.user)
            if expected is not None and self.page.locator(BOT_MESSAGE).count() >= expected:
                return
            self.page.wait_for_timeout(100)
        raise AssertionError(f"the page did not show the server's messages: {self.bot_texts()[-3:]}")

    def answer(self, reply: str) -> None:
        """Tap the choice button that says this, or type it and send."""
        before = self.page.locator(BOT_MESSAGE).count()
        button = self.page.locator(CHOICE_BUTTONS).filter(has_text=re.compile(rf"^\s*{re.escape(reply)}"))
        if button.count():
            button.first.click()
        else:
            self.page.fill(INPUT, reply)
            self.page.click(SEND)
        wait_until(self.page, f"document.querySelectorAll({BOT_MESSAGE!r}).length > {before}", timeout_s=WAIT_S)
        self.settle()

    def last(self) -> str:
        return self.bot_texts()[-1]

    def t(self, key: str, **params: Any) -> str:
        return T[self.lang][key].format(**params)


def _step(db: Database, user: str) -> str | None:
    with db.read() as session:
        return session.scalars(
            select(Conversation.step).join(Identity, Identity.id == Conversation.identity_id)
            .where(Identity.channel == "local", Identity.address == user)
        ).first()


def _open(demo: Demo, context: Any, lang: str, role: str = "patient") -> Tab:
    page = context.new_page()
    page.goto(f"{demo.base}/?role={role}&lang={lang}")
    page.wait_for_selector("body[data-ready='true']", timeout=WAIT_S * 1000)
    # Marks this document: a reload or a navigation would lose it.
    page.evaluate("window.sameDocument = true")
    return Tab(demo, page, lang)


def _book(demo: Demo, patient: Tab) -> None:
    """Register and book as the README tells a newcomer: greet, tap or type each answer."""
    lang = patient.lang
    for reply in OPEN[lang]:
        patient.answer(reply)
    for line in REGISTER[lang]:
        patient.answer(line.format(name=PATIENT[lang]))
    assert patient.t("menu") in patient.last()
    patient.answer(COMPLAINT[lang])
    for _ in range(8):
        step = _step(demo.db, patient.user)
        if step == "menu":
            break
        if step == "opd_suggest":
            # Take the round-the-clock OPD the demo doctor sits in, whatever was suggested.
            reply = "1" if DEMO_OPD[lang] in patient.last() else "2"
        elif step == "opd_pick":
            reply = DEMO_OPD[lang]
        else:
            reply = ANSWERS[lang][step]
        patient.answer(reply)
    assert any(patient.t("booked") in text for text in patient.bot_texts()), patient.bot_texts()[-3:]


def _sign_in(demo: Demo, page: Any, lang: str) -> None:
    username, password = demo.operator()
    page.goto(f"{demo.base}/dashboard?lang={lang}")
    assert "/dashboard/login" in page.url
    page.fill("#username", username)
    page.fill("#password", password)
    page.press("#password", "Enter")
    page.wait_for_url(re.compile(r"/dashboard(\?|$)"))


@pytest.mark.parametrize("lang", ["en", "hi"])
def test_a_newcomer_books_calls_and_sees_it_on_the_dashboard(demo: Demo, browser: Any, lang: str, tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    violations = record_policy_violations(context)  # the pages work under their Content-Security-Policy
    try:
        patient = _open(demo, context, lang)
        _book(demo, patient)

        # A second tab of the same browser, switched to the doctor's role, enrols with the code,
        # pasted as a newcomer pastes it: the word and all (issue 13, item 15).
        doctor = _open(demo, context, lang, role="doctor")
        assert doctor.user != patient.user
        assert doctor.page.locator("#enrol").is_visible()
        doctor.page.fill("#enrol-code", f"ENROLL: {demo.code('doctor')}")
        before = doctor.page.locator(BOT_MESSAGE).count()
        doctor.page.click("#enrol-send")
        wait_until(doctor.page, f"document.querySelectorAll({BOT_MESSAGE!r}).length > {before}", timeout_s=WAIT_S)
        doctor.settle()
        assert doctor.t("welcome", name=DEMO_DOCTOR) in " ".join(doctor.bot_texts())
        doctor.page.wait_for_selector("body[data-api-role='doctor']")
        assert not doctor.page.locator("#enrol").is_visible()

        # The doctor calls the next patient and gets the summary …
        doctor.answer(WORDS[lang]["next"])
        assert any(PATIENT[lang] in text for text in doctor.bot_texts()[-3:]), doctor.bot_texts()[-3:]
        # … and the patient's tab shows the call without a reload.
        ready = doctor.t("ready", name=DEMO_DOCTOR)
        wait_until(patient.page, SHOWS_TEXT, ready, timeout_s=WAIT_S)
        assert patient.page.evaluate("window.sameDocument") is True
        patient.settle()

        # The patient taps "I am joining"; the doctor is told, advises and closes.
        patient.page.locator(CHOICE_BUTTONS).first.click()
        wait_until(doctor.page, SHOWS_TEXT, doctor.t("joining", number=1), timeout_s=WAIT_S)
        assert doctor.page.evaluate("window.sameDocument") is True
        doctor.settle()
        doctor.answer(ADVICE[lang][0])
        doctor.answer(WORDS[lang]["done"])
        assert doctor.t("closed", name=PATIENT[lang]) in " ".join(doctor.bot_texts()[-3:])

        # A third tab: the operator's dashboard shows the consultation.
        board = context.new_page()
        _sign_in(demo, board, lang)
        assert board.locator(TODAY_CONSULTATIONS).inner_text().strip() == "1"
        board.screenshot(path=str(tmp_path / f"dashboard-{lang}.png"), full_page=True)
        for chart in (PER_DAY_CHART, OPD_CHART, STATE_CHART):
            bars, hits, area = bars_drawn(board, chart)
            assert bars == 1 and hits >= 0.5 * area, (chart, bars, hits, area)
        if lang == "hi":
            ok, why = shows_devanagari(board, DEVANAGARI_WORD)
            assert ok, why
        assert violations == []
    finally:
        context.close()

    # With JavaScript off, signing in and the dashboard's numbers and charts still work.
    no_script = browser.new_context(java_script_enabled=False)
    violations = record_policy_violations(no_script)
    try:
        board = no_script.new_page()
        # A wrong password is refused on the page, kindly, and the name stays typed in.
        username, _ = demo.operator()
        board.goto(f"{demo.base}/dashboard/login?lang={lang}")
        board.fill("#username", username)
        board.fill("#password", "not-the-password")
        with board.expect_response(lambda r: r.request.method == "POST") as refused:
            board.press("#password", "Enter")
        assert refused.value.status == 401
        assert board.locator("#login-error").is_visible()
        assert board.input_value("#username") == username
        _sign_in(demo, board, lang)
        assert board.locator(TODAY_CONSULTATIONS).inner_text().strip() == "1"
        bars, hits, area = bars_drawn(board, PER_DAY_CHART)
        assert bars == 1 and hits >= 0.5 * area, (bars, hits, area)
        assert violations == []
    finally:
        no_script.close()
