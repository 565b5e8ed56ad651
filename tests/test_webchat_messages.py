"""The web channel's HTTP contract for messages: POST a message, poll the replies, choices, emergencies,
duplicates, users kept apart, and odd texts that get a re-ask.

Everything goes through the real app (`webhooks.create_app`) on the real database; the
outbox worker is drained by hand, since tests have no background worker.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from bot.store.models import OutboxMessage, OutboxStatus
from tests.webchat_helpers import (  # noqa: F401  (fixtures)
    API,
    WebUser,
    _has_devanagari,
    app,
    client,
)

# --- POST and GET: the happy path ---------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"text": "hello"}, id="text"),
        pytest.param({"text": "hello", "id": "client-1"}, id="text-with-client-id"),
        pytest.param({"choice": "en"}, id="choice"),
    ],
)
def test_post_is_accepted_with_status_and_id(services, client, body: dict[str, Any]) -> None:
    response = client.post(API.format(user="acc-1"), json=body)
    assert response.status_code == 202
    answer = response.get_json()
    assert answer["status"] == "accepted", answer
    assert isinstance(answer["id"], str) and answer["id"]


@pytest.mark.both_databases
def test_poll_returns_each_message_once_per_cursor(services, client) -> None:
    user = WebUser(services, client, "poller")
    answer = user.post(text="hello")
    assert isinstance(answer["id"], str) and answer["id"]
    services.worker.drain()

    first = client.get(API.format(user="poller"), query_string={"after": ""})
    assert first.status_code == 200 and first.is_json
    body = first.get_json()
    assert set(body) == {"messages", "cursor", "role", "lang", "chat"}
    assert (body["role"], body["lang"], body["chat"]) == ("patient", "en", "poller")
    messages, cursor = body["messages"], body["cursor"]
    assert isinstance(cursor, str) and cursor
    # The greeting, then the language question with its three buttons.
    assert len(messages) == 2
    assert "Namaste" in messages[0]["text"]
    assert messages[1]["text"] == "Which language would you like to use?"
    assert messages[1]["choices"] == [
        {"key": "en", "label": "English"}, {"key": "hi", "label": "हिन्दी"}, {"key": "hi-Latn", "label": "Hinglish: Hindi in English letters"},
    ]
    for message in messages:
        assert set(message) == {"id", "text", "choices", "at", "emergency"} and message["emergency"] is False
        assert isinstance(message["id"], str) and isinstance(message["text"], str) and message["text"]
        assert all(set(c) == {"key", "label"} and all(isinstance(v, str) and v for v in c.values()) for c in message["choices"])
        at = dt.datetime.fromisoformat(message["at"])
        assert at.tzinfo is not None
        assert abs(dt.datetime.now(dt.UTC) - at) < dt.timedelta(minutes=5)
    ids = [m["id"] for m in messages]
    assert len(set(ids)) == len(ids)
    assert [m["at"] for m in messages] == sorted(m["at"] for m in messages)

    # With the cursor: nothing new, and the cursor stays where it was.
    again = client.get(API.format(user="poller"), query_string={"after": cursor}).get_json()
    assert again == {"messages": [], "cursor": cursor, "role": "patient", "lang": "en", "chat": "poller"}
    # Without one (or with "after" left out): the same messages again — reading consumes nothing.
    assert client.get(API.format(user="poller"), query_string={"after": ""}).get_json() == body
    assert client.get(API.format(user="poller")).get_json() == body
    # A cursor taken after the first message gives only the second.
    middle = client.get(API.format(user="poller"), query_string={"after": ids[0]}).get_json()
    assert [m["id"] for m in middle["messages"]] == ids[1:]
    assert middle["cursor"] == cursor

    # The next answer's messages come after the cursor, and only they.
    user.cursor = cursor
    later = user.say(choice="en")
    assert later and not {m["id"] for m in later} & set(ids)
    assert "Do you agree?" in later[-1]["text"]
    assert user.poll() == []


def test_nothing_is_shown_before_the_worker_sends(services, client) -> None:
    user = WebUser(services, client)
    user.post(text="hello")
    response = client.get(user.url, query_string={"after": ""}).get_json()
    assert response["messages"] == []
    assert len(user.poll()) == 2


# --- choices move the conversation on ------------------------------------------------------

# (choice pressed, what the next message must look like)
CHOICE_CASES = [
    pytest.param("en", lambda m: "Do you agree?" in m["text"] and not _has_devanagari(m["text"]), id="english"),
    pytest.param("hi", lambda m: "क्या आप सहमत हैं?" in m["text"] and _has_devanagari(m["choices"][0]["label"]), id="hindi-devanagari"),
]


@pytest.mark.parametrize(("choice", "looks_right"), CHOICE_CASES)
def test_choice_from_the_previous_message_moves_on(services, client, choice: str, looks_right) -> None:  # type: ignore[no-untyped-def]
    user = WebUser(services, client)
    question = user.say("hello")[-1]
    assert choice in [c["key"] for c in question["choices"]]
    consent = user.say(choice=choice)
    assert looks_right(consent[-1]), consent
    assert [c["key"] for c in consent[-1]["choices"]] == ["agree", "decline"]
    name = user.say(choice="agree")
    expected = "What is your full name?" if choice == "en" else "आपका पूरा नाम क्या है?"
    assert expected in name[-1]["text"]


@pytest.mark.parametrize(
    "choice",
    [
        pytest.param("hi", id="button-of-an-earlier-question"),
        pytest.param("no-such-key", id="unknown-key"),
        pytest.param("edit_name", id="button-of-a-later-question"),
    ],
)
def test_a_choice_not_offered_now_asks_the_current_question_again(services, client, choice: str) -> None:
    user = WebUser(services, client)
    user.say("hello")
    user.say(choice="en")  # now at consent
    answer = user.say(choice=choice)
    assert "That button belongs to an earlier question." in answer[0]["text"]
    assert "Do you agree?" in answer[-1]["text"]
    assert "What is your full name?" in user.say(choice="agree")[-1]["text"]


# --- emergencies ----------------------------------------------------------------------------

# (first message, its language, the emergency reply, the number(s) it gives)
EMERGENCIES = [
    pytest.param("I have severe chest pain", "en", "Call 108 now for an ambulance", ("108", "112"), id="en-chest-pain"),
    pytest.param("सीने में तेज़ दर्द है", "hi", "तुरंत 108 पर कॉल करके एम्बुलेंस बुलाएँ", ("108", "112"), id="hi-chest-pain"),
    pytest.param("I want to kill myself", "en", "Tele-MANAS on 14416", ("14416", "112"), id="en-self-harm"),
    pytest.param("mujhe marna hai, khud ko khatam karna chahta hoon", "en", "Tele-MANAS on 14416", ("14416",), id="romanised-self-harm"),
]


@pytest.mark.parametrize(("text", "lang", "advice", "numbers"), EMERGENCIES)
def test_an_emergency_reply_comes_first_and_is_marked_as_one(services, client, text: str, lang: str, advice: str, numbers: tuple[str, ...]) -> None:
    user = WebUser(services, client)
    shown = user.say(text)
    assert advice in shown[0]["text"] and all(number in shown[0]["text"] for number in numbers), shown[0]
    assert shown[0]["emergency"] is True
    # The greeting and the language question after it are ordinary messages.
    assert [m["emergency"] for m in shown[1:]] == [False] * (len(shown) - 1) and len(shown) > 1
    assert _has_devanagari(shown[0]["text"]) == (lang == "hi")


# --- duplicates -----------------------------------------------------------------------------


@pytest.mark.both_databases
@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param({"text": "hello", "id": "m-1"}, {"text": "hello", "id": "m-1"}, id="same-body"),
        pytest.param({"text": "hello", "id": "m-1"}, {"text": "something else", "id": "m-1"}, id="same-id-other-text"),
        pytest.param({"choice": "en", "id": "c-7"}, {"choice": "en", "id": "c-7"}, id="choice"),
    ],
)
def test_same_client_id_twice_is_handled_once(services, client, first: dict[str, Any], second: dict[str, Any]) -> None:
    user = WebUser(services, client)
    if "choice" in first:
        user.say("hello")
    one = user.post(**first)
    assert one["status"] != "duplicate"
    shown = user.poll()
    assert shown
    two = user.post(**second)
    assert two["status"] == "duplicate"
    assert two["id"] == one["id"]
    assert user.poll() == []
    with services.db.read() as session:
        rows = session.scalars(select(OutboxMessage.id).where(OutboxMessage.address == user.user)).all()
    assert len(rows) == len(shown) + (2 if "choice" in first else 0)


@pytest.mark.both_databases
def test_client_ids_are_per_user(services, client) -> None:
    a, b = WebUser(services, client), WebUser(services, client)
    assert a.post(text="hello", id="same")["status"] != "duplicate"
    assert b.post(text="hello", id="same")["status"] != "duplicate"
    assert len(a.poll()) == 2 and len(b.poll()) == 2


# --- users are separate ---------------------------------------------------------------------


def test_two_users_do_not_see_each_others_messages(services, client) -> None:
    asha, ravi = WebUser(services, client, "asha"), WebUser(services, client, "ravi")
    asha_first = asha.say("hello")
    ravi_first = ravi.say("नमस्ते")
    asha_second = asha.say(choice="en")
    ravi_second = ravi.say(choice="hi")

    asha_all = client.get(asha.url).get_json()["messages"]
    ravi_all = client.get(ravi.url).get_json()["messages"]
    assert [m["id"] for m in asha_all] == [m["id"] for m in asha_first + asha_second]
    assert [m["id"] for m in ravi_all] == [m["id"] for m in ravi_first + ravi_second]
    assert not {m["id"] for m in asha_all} & {m["id"] for m in ravi_all}
    # Each one's language choice is their own.
    assert not any(_has_devanagari(m["text"]) for m in asha_second)
    assert all(_has_devanagari(m["text"]) for m in ravi_second)
    # Another user's cursor shows nothing of theirs either.
    assert client.get(asha.url, query_string={"after": ravi.cursor}).get_json()["messages"] == [
        m for m in asha_all if int(m["id"]) > int(ravi.cursor)
    ]
    assert client.get(API.format(user="nobody")).get_json()["messages"] == []


# --- odd texts get a re-ask, and the conversation goes on -----------------------------------

ODD_TEXTS = [
    pytest.param("दर्द और बुखार " * 715, id="10000-chars-devanagari"),
    pytest.param("a" * 10_000, id="10000-chars-latin"),
    pytest.param("😀🤒🏥👍🏽🇮🇳", id="emoji-only"),
    pytest.param("\u0000\u0000\u0000", id="only-nul-bytes"),
    pytest.param("ab\u0000c\u0000", id="text-with-nul-bytes"),
    pytest.param("Hello नमस्ते مرحبا Привет 你好", id="mixed-scripts"),
    pytest.param("", id="empty-string"),
    pytest.param("   \t\n  ", id="whitespace-only"),
    pytest.param("\u200b\ufeff\u202e", id="invisibles-only"),
]

# Where the odd text is sent: (how to get there, does the last message show the question, the next valid answer, what it leads to)
POSITIONS = {
    "first-message": ([], lambda m: [c["key"] for c in m["choices"]] == ["en", "hi", "hi-Latn"], {"choice": "en"}, "Do you agree?"),
    "language": (
        [{"text": "hello"}],
        lambda m: m["text"] == "Which language would you like to use?",
        {"text": "English"},
        "Do you agree?",
    ),
    "age": (
        [{"text": "hello"}, {"choice": "en"}, {"choice": "agree"}, {"text": "Asha"}],
        lambda m: "How old are you, Asha?" in m["text"],
        {"text": "34"},
        "Are you female, male or other?",
    ),
}


@pytest.mark.parametrize("position", POSITIONS)
@pytest.mark.parametrize("odd", ODD_TEXTS)
def test_odd_text_gets_a_question_and_the_conversation_goes_on(services, client, odd: str, position: str) -> None:
    before, is_the_question, valid, leads_to = POSITIONS[position]
    user = WebUser(services, client)
    for body in before:
        user.say(**body)
    answer = user.post(text=odd)
    assert answer["status"] != "duplicate"
    shown = user.poll()
    assert shown, "the bot must always answer"
    assert "?" in shown[-1]["text"]
    assert is_the_question(shown[-1]), shown
    nxt = user.say(**valid)
    assert leads_to in nxt[-1]["text"], nxt
    with services.db.read() as session:
        statuses = set(session.scalars(select(OutboxMessage.status).where(OutboxMessage.address == user.user)))
    assert statuses == {OutboxStatus.SENT}
