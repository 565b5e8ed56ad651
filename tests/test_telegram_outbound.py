"""The Telegram channel outbound: rendering texts and keyboards, and what reaches the Bot API.

Outbound tests run the real outbox worker and the real python-telegram-bot Bot against a fake
Bot API server on 127.0.0.1 (tests/fakes/telegram_api.py) and check the requests that reached it.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import Counter
from typing import Any

import pytest

from bot.channels.base import (
    OutgoingChoice,
    OutgoingMessage,
    PermanentError,
)
from bot.channels.telegram import TelegramChannel
from bot.channels.telegram.render import MAX_TEXT, inline_keyboard, split_text
from bot.platform.config import Settings
from bot.platform.ratelimit import RateLimiter
from bot.runtime import build_services
from bot.store.models import OutboxStatus, utcnow
from flows.messages import Choice, Reply, t
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram_helpers import (  # noqa: F401  (fixtures)
    CHAT,
    SECRET,
    TOKEN,
    client,
    deliver,
    fake,
    fixture,
    identity,
    later,
    message,
    outbox,
    post,
    press,
    queue,
    row,
    tg,
)

# --- rendering --------------------------------------------------------------------------------


def test_a_long_text_is_split_at_sentences_then_lines_then_words() -> None:
    sentence = "Drink plenty of water and rest. "
    text = sentence * 300  # 9,600 characters
    parts = split_text(text)
    assert len(parts) == 3 and all(len(p) <= MAX_TEXT for p in parts)
    assert all(p.endswith("rest.") for p in parts)
    assert " ".join(parts) == text.strip()
    hindi = "पानी खूब पिएँ और आराम करें। " * 300
    assert all(p.endswith("।") for p in split_text(hindi))
    lines = "\n".join(["a line without an end"] * 400)
    assert all(p.endswith("end") for p in split_text(lines))
    words = "word " * 2000
    assert all(len(p) <= MAX_TEXT and p.endswith("word") for p in split_text(words))
    assert [len(p) for p in split_text("x" * 5000)] == [MAX_TEXT, 904]
    # Telegram counts UTF-16 code units: an emoji outside the BMP is two.
    assert all(len(p.encode("utf-16-le")) // 2 <= MAX_TEXT for p in split_text("🙂" * 3000))
    assert split_text("short") == ["short"]


def test_short_labels_go_two_to_a_row_long_ones_one() -> None:
    short = inline_keyboard([OutgoingChoice("en", "English"), OutgoingChoice("hi", "हिन्दी"), OutgoingChoice("x", "Skip")])
    assert [[b.callback_data for b in row] for row in short.inline_keyboard] == [["en", "hi"], ["x"]]  # type: ignore[union-attr]
    long = inline_keyboard([OutgoingChoice("a", "General Medicine OPD, 9 am to 5 pm"), OutgoingChoice("b", "No")])
    assert [len(row) for row in long.inline_keyboard] == [1, 1]  # type: ignore[union-attr]
    many = inline_keyboard([OutgoingChoice(str(i), str(i)) for i in range(150)])
    assert sum(len(row) for row in many.inline_keyboard) == 100  # type: ignore[union-attr]


def test_a_choice_key_over_64_bytes_is_left_out_with_an_error(caplog) -> None:
    key = "अ" * 22  # 22 characters, 66 bytes
    with caplog.at_level(logging.ERROR):
        markup = inline_keyboard([OutgoingChoice(key, "Yes"), OutgoingChoice("no", "No"), OutgoingChoice("", "Empty")])
    assert [[b.callback_data for b in row] for row in markup.inline_keyboard] == [["no"]]  # type: ignore[union-attr]
    assert "66 bytes left out" in caplog.text and "0 bytes left out" in caplog.text
    assert inline_keyboard([OutgoingChoice("अ" * 21, "ok")]) is not None  # 63 bytes fit


# --- outbound: through the worker to the fake Bot API ----------------------------------------------


LANGUAGE_KEYBOARD = {
    "inline_keyboard": [
        [{"text": "English", "callback_data": "en"}], [{"text": "हिन्दी", "callback_data": "hi"}],
        [{"text": "Hinglish: Hindi in English letters", "callback_data": "hi-Latn"}],
    ]
}
CONSENT = {
    "en": ("Do you agree?", [[{"text": "I agree", "callback_data": "agree"}], [{"text": "No, I do not agree", "callback_data": "decline"}]]),
    "hi": ("क्या आप सहमत हैं?", [[{"text": "मैं सहमत हूँ", "callback_data": "agree"}, {"text": "नहीं, मैं सहमत नहीं हूँ", "callback_data": "decline"}]]),
}


@pytest.mark.parametrize("language", ["en", "hi"])
def test_start_then_a_language_button_answers_the_press_and_replies_in_that_language(client, tg, fake, language: str) -> None:
    assert post(client, message(1, "/start")).status_code == 200
    deliver(tg)
    question = fake.sent(CHAT)[-1]
    assert question["text"] == "Which language would you like to use?"
    assert question["reply_markup"] == LANGUAGE_KEYBOARD
    assert all("parse_mode" not in p for p in fake.sent())  # plain text: what users type may hold < and *

    assert post(client, press(2, language, query_id="cbq-2")).get_json() == {"status": "handled"}
    deliver(tg)
    answered = fake.requests("answerCallbackQuery")
    assert [r.params["callback_query_id"] for r in answered] == ["cbq-2"]
    consent = fake.sent(CHAT)[-1]
    text, keyboard = CONSENT[language]
    assert text in consent["text"] and consent["reply_markup"]["inline_keyboard"] == _layout(keyboard)
    assert answered[0].at < fake.requests("sendMessage")[-1].at  # the spinner stops first


def _layout(keyboard: list[list[dict[str, str]]]) -> list[list[dict[str, str]]]:
    """Return buttons laid out as the adapter does: two to a row when every label is short."""
    buttons = [b for row in keyboard for b in row]
    per_row = 2 if all(len(b["text"]) <= 16 for b in buttons) else 1
    return [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]


@pytest.mark.parametrize("language", ["en", "hi"])
def test_registration_shares_the_contact_from_a_reply_keyboard(client, tg, fake, caplog, language: str) -> None:
    caplog.set_level(logging.DEBUG)
    said = iter(range(100, 200))
    steps: list[dict[str, Any]] = [
        message(next(said), "/start"), press(next(said), language), press(next(said), "agree"),
        message(next(said), "Sunita Devi"), message(next(said), "34"), press(next(said), "female"),
        message(next(said), "Uttar Pradesh"), message(next(said), "Varanasi"),
    ]
    for update in steps:
        assert post(client, update).status_code == 200
        deliver(tg)
    ask = fake.sent(CHAT)[-1]
    keyboard = ask["reply_markup"]
    assert keyboard["one_time_keyboard"] is True and keyboard["resize_keyboard"] is True
    assert keyboard["keyboard"][0][0]["request_contact"] is True
    assert keyboard["keyboard"][0][0]["text"] == {"en": "📱 Share my mobile number", "hi": "📱 अपना मोबाइल नंबर भेजें"}[language]
    assert keyboard["keyboard"][1][0]["text"] == {"en": "Skip", "hi": "छोड़ें"}[language]

    own = fixture("contact_own.json")
    assert post(client, own).get_json() == {"status": "handled"}
    deliver(tg)
    confirm = fake.sent(CHAT)[-1]
    assert "+919876543210" in confirm["text"]
    assert "inline_keyboard" in confirm["reply_markup"]
    for secret in (TOKEN, TOKEN.partition(":")[2], "919876543210", "9876543210"):
        assert secret not in caplog.text  # logs carry neither the token nor phone numbers


def test_someone_elses_contact_is_asked_again(client, tg, fake) -> None:
    post(client, message(1, "/start"))
    deliver(tg)
    before = len(fake.sent(CHAT))
    post(client, fixture("contact_other.json"))
    deliver(tg)
    answer = [p["text"] for p in fake.sent(CHAT)[before:]]
    assert answer[0] == "I can only read text messages. Please type your answer."
    assert answer[-1] == "Which language would you like to use?"  # and the question again


def test_a_long_message_goes_in_parts_a_second_apart_with_the_keyboard_on_the_last(tg, fake) -> None:
    advice = "Take paracetamol 500 mg if the fever is above 100 F. " * 100  # 5,300 characters
    row_id = queue(tg, Reply(t("Advice from Dr. {doctor}:\n────────\n{advice}\n────────\nHow was your consultation? Give 1 to 5 stars.",
                               doctor="Mehta", advice=advice.strip()), (Choice("5", t("Thank you")),)))
    assert tg.worker.drain() == 1
    parts = fake.sent(CHAT)
    assert len(parts) == 2 and all(len(p["text"]) <= MAX_TEXT for p in parts)
    assert parts[0]["text"].endswith("100 F.") and "reply_markup" not in parts[0]
    assert parts[1]["reply_markup"]["inline_keyboard"] == [[{"text": "Thank you", "callback_data": "5"}]]
    # Telegram: one message a second in a chat. (Measured at the fake, a loaded machine may
    # delay the first request by more than the limiter's edge pad; the spacing is what we send.)
    first, second = fake.requests("sendMessage")
    assert second.at - first.at >= 0.95
    sent = row(tg.db, row_id)
    assert (sent.status, sent.provider_id) == (OutboxStatus.SENT, "1")  # the first part's message id


def test_a_chat_whose_second_is_used_gives_its_row_back_instead_of_holding_a_thread(tg, fake) -> None:
    # Telegram: about one message a second in one chat. A second message to the same chat
    # within that second is handed back (RateLimited, due when the chat opens) at once, so
    # the sending thread is free for another chat's message meanwhile.
    from bot.channels.base import RateLimited

    adapter = tg.channels["telegram"]
    adapter.send(str(CHAT), OutgoingMessage(text="Token 5 is booked."), outbox_id=1)
    started = time.monotonic()
    with pytest.raises(RateLimited) as refused:
        adapter.send(str(CHAT), OutgoingMessage(text="You are 3rd in the queue."), outbox_id=2)
    assert time.monotonic() - started < 0.5  # not slept through
    assert 0.05 < refused.value.retry_after <= 1.1
    adapter.send(str(CHAT + 1), OutgoingMessage(text="टोकन 6 बुक हो गया।"), outbox_id=3)  # another chat is not held up
    assert [m["text"] for m in fake.sent(CHAT)] == ["Token 5 is booked."]
    assert [m["text"] for m in fake.sent(CHAT + 1)] == ["टोकन 6 बुक हो गया।"]


def test_a_key_too_long_for_telegram_never_reaches_it(tg, fake) -> None:
    queue(tg, Reply(t("Do you agree?"), (Choice("सहमति-" * 11, t("I agree")), Choice("decline", t("No, I do not agree")))))
    tg.worker.drain()
    (sent,) = fake.sent(CHAT)
    assert sent["reply_markup"] == {"inline_keyboard": [[{"text": "No, I do not agree", "callback_data": "decline"}]]}


def test_a_message_without_buttons_takes_away_an_earlier_reply_keyboard(tg, fake) -> None:
    queue(tg, Reply(t("Welcome back!")))
    tg.worker.drain()
    assert fake.sent(CHAT)[0]["reply_markup"] == {"remove_keyboard": True}


def test_flood_control_puts_the_message_back_for_as_long_as_telegram_says(tg, fake) -> None:
    fake.fail_next(1, status=429, retry_after=7)
    row_id = queue(tg, Reply(t("Welcome back!")))
    before = utcnow()
    tg.worker.drain()
    waiting = row(tg.db, row_id)
    assert (waiting.status, waiting.error_code) == (OutboxStatus.PENDING, "429")
    assert before + dt.timedelta(seconds=7) <= _aware(waiting.due_at) <= utcnow() + dt.timedelta(seconds=7)
    assert tg.worker.drain() == 0 and len(fake.requests("sendMessage")) == 1  # not before it is due
    later(tg, seconds=8)
    tg.worker.drain()
    assert row(tg.db, row_id).status == OutboxStatus.SENT and len(fake.sent(CHAT)) == 1


@pytest.mark.parametrize("status", [500, 502])
def test_a_server_error_is_tried_again(tg, fake, status: int) -> None:
    fake.fail_next(1, status=status)
    row_id = queue(tg, Reply(t("Welcome back!")))
    tg.worker.drain()
    waiting = row(tg.db, row_id)
    assert (waiting.status, waiting.error_code, waiting.attempts) == (OutboxStatus.PENDING, "network", 1)
    later(tg, seconds=60)
    tg.worker.drain()
    assert row(tg.db, row_id).status == OutboxStatus.SENT and len(fake.sent(CHAT)) == 1


def test_a_user_who_blocked_the_bot_is_opted_out_and_not_tried_again(tg, fake) -> None:
    fake.block(CHAT)
    row_id = queue(tg, Reply(t("Welcome back!")))
    tg.worker.drain()
    failed = row(tg.db, row_id)
    assert (failed.status, failed.error_code) == (OutboxStatus.FAILED, "403")
    assert identity(tg.db, str(CHAT)).opted_out is True
    later(tg, seconds=3600)
    assert tg.worker.drain() == 0 and len(fake.requests("sendMessage")) == 1


def test_a_chat_telegram_does_not_know_fails_for_good_without_an_opt_out(tg, fake) -> None:
    fake.forget_chat(CHAT)
    row_id = queue(tg, Reply(t("Welcome back!")))
    tg.worker.drain()
    assert (row(tg.db, row_id).status, row(tg.db, row_id).error_code) == (OutboxStatus.FAILED, "400")
    assert identity(tg.db, str(CHAT)).opted_out is False


def test_a_button_press_answered_too_late_is_no_failure(client, tg, fake) -> None:
    fake.fail_next(1, status=400, methods=("answerCallbackQuery",),
                   description="Bad Request: query is too old and response timeout expired or query id is invalid")
    post(client, press(5, "en"))
    deliver(tg)
    (ack,) = [r for r in outbox(tg.db, str(CHAT)) if r.kind == "ack"]
    assert ack.status == OutboxStatus.SENT
    assert fake.sent(CHAT), "the reply still goes"


def test_a_wrong_token_fails_with_a_clear_log_and_never_shows_the_token(db, catalogs, caplog) -> None:
    with FakeTelegram(tokens={"999:other"}) as fake:
        settings = Settings(database_url=db.url, telegram_token=TOKEN, telegram_secret=SECRET, telegram_api_url=fake.base_url)
        tg = build_services(settings, db=db, catalogs=catalogs)
        row_id = queue(tg, Reply(t("Welcome back!")))
        with caplog.at_level(logging.DEBUG):
            tg.worker.drain()
        tg.channels["telegram"].close()  # type: ignore[attr-defined]
    failed = row(db, row_id)
    assert (failed.status, failed.error_code) == (OutboxStatus.FAILED, "invalid_token")
    assert "TELEOPD_TELEGRAM_TOKEN" in caplog.text and TOKEN not in caplog.text and TOKEN not in (failed.error or "")


def test_the_send_threads_are_spread_over_the_loops_each_keeping_to_its_own() -> None:
    """Eight threads, four loops: two threads a loop, each thread's calls on one loop; a Bot (one getMe) a loop."""
    with FakeTelegram() as server:
        channel = TelegramChannel(TOKEN, RateLimiter(), base_url=server.base_url, loops=4)
        start = threading.Barrier(8)
        seen: dict[str, set[str]] = {}

        def calls() -> None:
            async def where(bot: Any) -> str:
                await bot.get_me()
                return threading.current_thread().name

            start.wait(10)
            seen[threading.current_thread().name] = {channel.run(where) for _ in range(3)}

        threads = [threading.Thread(target=calls, name=f"lane-{i}") for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        channel.close()
        after_close = len(server.requests("getMe"))
        # A closed channel starts again on its next call (a worker's lane restarts after a drain).
        channel.run(lambda bot: bot.get_me())
        channel.close()
    assert all(len(loops) == 1 for loops in seen.values()) and len(seen) == 8
    per_loop = Counter(next(iter(loops)) for loops in seen.values())
    assert sorted(per_loop) == [f"telegram-loop-{i}" for i in range(4)] and set(per_loop.values()) == {2}
    # initialize() asks getMe once a loop; the threads asked it 3 times each.
    assert after_close == 4 + 8 * 3
    assert len(server.requests("getMe")) == after_close + 2


def test_the_adapter_refuses_an_address_that_is_no_chat_id() -> None:
    with pytest.raises(PermanentError):
        TelegramChannel(TOKEN, RateLimiter()).send("whatsapp:+919876543210", OutgoingMessage("hi"), 1)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
