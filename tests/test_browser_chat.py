"""The chat page in a real browser, at a phone's width: its language, its storage, emergencies, one-line labels,
a patient's photo shown on the doctor's desk.

One `teleopd serve` (the local demo, SQLite) for the module; each test its own browser
context, so its own cookies and storage: its own chats. Debian's Chromium through
Playwright (tests/browser.py); the page and the flows are driven as a person would.
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select

from bot.media.storage import FolderStorage
from bot.outbox.enqueue import enqueue_reply
from bot.services.webchats import revoke
from bot.store.db import Database
from bot.store.models import Identity, MediaItem, MediaStatus, WebChat, utcnow
from flows.steps.media import arrived
from tests.browser import record_policy_violations
from tests.doctor_helpers import OPEN, REGISTER
from tests.serving import ServeProcess, free_port
from tests.test_browser_demo import BOT_MESSAGE, Demo, _open
from tests.webchat_push_helpers import PAGE_WORDS, _nfc

pytestmark = pytest.mark.slow

PHONE = {"width": 390, "height": 844}
LANGS = ["en", "hi"]
OTHER = {"en": "hi", "hi": "en"}
LANGUAGE_BUTTON = {"en": "English", "hi": "हिन्दी"}
PLACEHOLDER = {"en": "Type a message", "hi": "संदेश लिखें"}
CONSENT = {"en": "Do you agree?", "hi": "क्या आप सहमत हैं?"}
NAME = {"en": "What is your full name?", "hi": "आपका पूरा नाम क्या है?"}
PATIENT = {"en": "Sunita Devi", "hi": "सुनीता देवी"}
# (what the patient writes, the numbers the emergency reply must let them call)
EMERGENCIES = {
    "chest-pain-en": ("I have severe chest pain", ["108", "112"]),
    "chest-pain-hi": ("सीने में तेज़ दर्द है", ["108", "112"]),
    "self-harm-en": ("I want to end my life", ["14416", "112"]),
    "self-harm-hi": ("मैं मरना चाहता हूँ", ["14416", "112"]),
}
ALERT_LABEL = {"en": "Emergency", "hi": "इमरजेंसी"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Demo]:
    """`teleopd serve` on loopback, on a SQLite copy (the database is not what these are about)."""
    folder = tmp_path_factory.mktemp("chat-page")
    shutil.copy(sqlite_template, folder / "teleopd.db")
    db = Database(f"sqlite:///{folder / 'teleopd.db'}")
    env = {**os.environ, "TELEOPD_DATABASE_URL": db.url, "TELEOPD_MEDIA_STORAGE": str(folder / "media")}
    server = ServeProcess(env, free_port(), folder / "serve.log")
    try:
        yield Demo(db, "", server)
    finally:
        server.stop()
        db.dispose()


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    """A browser context of its own at a 390 px phone's viewport."""
    context = browser.new_context(viewport=PHONE)
    try:
        yield context
    finally:
        context.close()


def _one_line(page: Any, selector: str) -> dict[str, Any]:
    """Return how an element lies: lines of text, whether all of it shows, whether it stays on screen."""
    return page.eval_on_selector(selector, """node => {
        const box = node.getBoundingClientRect(), style = getComputedStyle(node);
        return {text: node.textContent, lines: Math.round(box.height / parseFloat(style.lineHeight)),
                whole: node.scrollWidth <= node.clientWidth, inside: box.left >= 0 && box.right <= innerWidth};
    }""")


@pytest.mark.parametrize("start", LANGS)
def test_the_page_follows_the_chats_language_without_a_reload(served: Demo, phone: Any, start: str) -> None:
    chosen = OTHER[start]
    tab = _open(served, phone, start)
    page = tab.page
    tab.answer(OPEN[start][0])
    tab.answer(LANGUAGE_BUTTON[chosen])
    assert CONSENT[chosen] in tab.last()
    page.wait_for_function("lang => document.documentElement.lang === lang", arg=chosen)
    phrases, role_names, enrol_label, send = _nfc(PAGE_WORDS[chosen])
    assert page.inner_text("#send").strip() == send
    assert page.get_attribute("#text", "placeholder") == PLACEHOLDER[chosen]
    assert page.get_attribute("#text", "lang") == chosen
    assert [b.strip() for b in page.locator("#quick-phrases button").all_inner_texts()] == phrases
    assert [a.strip() for a in page.locator("#role-switch a").all_inner_texts()] == role_names
    assert page.inner_text("#role-label").strip() == role_names[0]
    assert page.inner_text("#enrol-label").strip() == enrol_label
    assert page.title() == f"teleopd — {role_names[0]}"
    assert page.get_attribute(f".langs a[data-lang={chosen}]", "aria-current") == "true"
    # The same document, the chat going on: a tap and a typed answer in the new language.
    assert page.evaluate("window.sameDocument") is True
    tab.answer(REGISTER[chosen][0])
    assert NAME[chosen] in tab.last()
    # A reload opens in the chat's language, with the chat.
    shown = page.locator(BOT_MESSAGE).count()
    page.reload()
    page.wait_for_selector("body[data-ready='true']")
    assert page.evaluate("document.documentElement.lang") == chosen
    assert page.locator(BOT_MESSAGE).count() == shown


@pytest.mark.parametrize("lang", LANGS)
def test_nothing_typed_is_kept_in_local_storage_and_new_chat_forgets_the_rest(served: Demo, phone: Any, lang: str) -> None:
    """A shared clinic phone: the next person finds nothing of the last one's chat."""
    tab = _open(served, phone, lang)
    page = tab.page
    # What an earlier version of the page left behind is cleared.
    page.evaluate("localStorage.setItem('teleopd.sent.web-old', JSON.stringify([{text: 'Asha, +919876543210'}]))")
    page.reload()
    page.wait_for_selector("body[data-ready='true']")
    for reply in OPEN[lang] + [line.format(name=PATIENT[lang]) for line in REGISTER[lang][:2]]:
        tab.answer(reply)
    assert page.evaluate("localStorage.length") == 0, page.evaluate("JSON.stringify(localStorage)")
    # The history comes from the server; the patient's own lines stay with this tab for a reload.
    shown = page.locator(BOT_MESSAGE).count()
    page.reload()
    page.wait_for_selector("body[data-ready='true']")
    assert page.locator(BOT_MESSAGE).count() == shown
    assert PATIENT[lang] in page.locator("#messages .msg.user").all_inner_texts()[-1]
    chat = tab.user
    # "new chat": the server ends the chat, the tab forgets it all.
    page.click("#new-chat")
    page.wait_for_function("address => document.body.dataset.ready === 'true' && document.body.dataset.user !== address", arg=chat)
    assert page.locator("#messages .msg").count() == 0
    assert PATIENT[lang] not in page.evaluate("JSON.stringify(sessionStorage) + JSON.stringify(localStorage)")
    assert page.evaluate("localStorage.length") == 0
    with served.db.read() as session:
        assert session.scalar(select(WebChat.revoked_at).where(WebChat.address == chat)) is not None


@pytest.mark.parametrize("case", EMERGENCIES)
def test_an_emergency_reply_stands_out_with_numbers_to_tap(served: Demo, phone: Any, case: str) -> None:
    text, numbers = EMERGENCIES[case]
    lang = case.rsplit("-", 1)[1]
    tab = _open(served, phone, lang)
    page = tab.page
    tab.answer(text)
    alert = page.locator("#messages .msg.bot.emergency")
    assert alert.count() == 1
    assert alert.get_attribute("role") == "alert"
    assert alert.locator(".alert-label").inner_text().strip().lower() == ALERT_LABEL[lang].lower()
    calls = alert.locator("a.tel")
    assert [a.get_attribute("href") for a in calls.all()] == [f"tel:{n}" for n in numbers]
    assert [a.inner_text() for a in calls.all()] == numbers
    # It looks like no other message: its own colours, and it comes first.
    ordinary = page.locator("#messages .msg.bot:not(.emergency)").first
    style = "node => [getComputedStyle(node).backgroundColor, getComputedStyle(node).borderLeftWidth]"
    assert alert.evaluate(style) != ordinary.evaluate(style)
    assert page.locator("#messages .msg.bot").first.evaluate("node => node.classList.contains('emergency')")
    assert ordinary.locator("a.tel").count() == 0


@pytest.mark.parametrize("lang", LANGS)
def test_the_status_line_and_the_role_label_stay_on_one_line_at_390px(served: Demo, phone: Any, lang: str) -> None:
    tab = _open(served, phone, lang, role="health_worker")
    page = tab.page
    label = _one_line(page, "#role-label")
    assert label["lines"] == 1 and label["whole"] and label["inside"], label
    statuses = []

    def status_after(action: Any) -> None:
        before = page.inner_text("#status")
        action()
        page.wait_for_function("before => document.getElementById('status').textContent !== before && "
                               "document.getElementById('status').textContent !== ''", arg=before)
        statuses.append(_one_line(page, "#status"))

    def submit(code: str) -> None:
        page.fill("#enrol-code", code)
        page.click("#enrol-send")

    status_after(lambda: submit("    "))  # blank: no code at all
    tab.answer("enroll ABCD2345")  # a wrong code: the chat opens
    assert revoke(served.db, tab.user)  # as `teleopd webchat revoke` does
    status_after(lambda: submit("ABCD2345"))  # the chat has ended
    page.route("**/api/my-chat/*/messages", lambda route: route.fulfill(status=400, body="{}"))
    status_after(lambda: submit("ABCD2345"))  # refused
    page.route("**/api/my-chat/*/messages", lambda route: route.fulfill(status=503, body="{}"))
    status_after(lambda: submit("ABCD2345"))  # the connection is lost
    assert len({s["text"] for s in statuses}) == 4, statuses
    for status in statuses:
        assert status["lines"] == 1 and status["whole"] and status["inside"], status


def test_the_doctors_desk_shows_a_patients_photo_inline(served: Demo, phone: Any) -> None:
    """The notice of a file (sent by the server's own worker) shows the photo, loaded under the page's policy."""
    violations = record_policy_violations(phone)
    tab = _open(served, phone, "en", role="doctor")
    tab.answer(OPEN["en"][0])  # the doctor's tab has a chat now
    picture = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 60, 60)).save(picture, "PNG")
    folder = Path(served.db.url.removeprefix("sqlite:///")).parent
    key, digest = FolderStorage(folder / "media").put(picture.getvalue())
    with served.db.write() as session:
        photo = MediaItem(channel="telegram", kind="photo", mime="image/png", storage_key=key, sha256=digest,
                          provider_key="desk".ljust(64, "0"), status=MediaStatus.STORED)
        session.add(photo)
        session.flush()
        desk = session.scalars(select(Identity).where(Identity.address == tab.user)).one()
        enqueue_reply(session, desk, arrived(7, "photo", "the link made when it was stored", photo.id), utcnow())
    page = tab.page
    image = page.wait_for_selector("#messages .msg.bot .media[data-kind='photo'] a img", timeout=15_000)
    page.wait_for_function("img => img.complete", arg=image)
    assert image.evaluate("img => img.naturalWidth") == 40  # fetched from /media/ and drawn
    link = page.locator("#messages .msg.bot .media a").last
    assert link.get_attribute("href") == image.get_attribute("src") and "/media/" in link.get_attribute("href")
    assert link.get_attribute("target") == "_blank" and "noopener" in link.get_attribute("rel")
    assert violations == []
