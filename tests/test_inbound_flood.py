"""The inbound flood limit: 100 messages in a minute get one polite notice and no outbox flood."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from bot.channels import local
from bot.channels.base import InboundMessage
from bot.dispatch import RATE_LIMITED_STEP, Result
from bot.platform.config import Settings
from bot.runtime import Services, build_services
from bot.store.models import Identity, OutboxMessage
from bot.store.models import InboundMessage as InboundRow
from tests.helpers import LocalUser

# The database is what is tested here: the flood limit counts inbound rows in a time window.
pytestmark = pytest.mark.both_databases

LIMIT = 30
NOTICE = {
    "en": "You are sending messages very fast; I will answer again in a minute. In an emergency call 108 or 112 now.",
    "hi": "आप बहुत जल्दी-जल्दी संदेश भेज रहे हैं। मैं एक मिनट बाद फिर जवाब दूँगा। इमरजेंसी हो तो अभी 108 या 112 पर कॉल करें।",
}
OPEN = {"en": ["hello", "English"], "hi": ["नमस्ते", "हिंदी"]}
# Tap, tap, type: a whole registration, as fast as a person goes.
REGISTER = {
    "en": ["yes", "Asha Kumari", "34", "female", "Bihar", "Gaya", "skip", "yes"],
    "hi": ["हाँ", "आशा कुमारी", "३४", "महिला", "बिहार", "गया", "छोड़ें", "हाँ"],
}
MENU = {"en": "What would you like to do?", "hi": "आप क्या करना चाहेंगे?"}
T0 = dt.datetime(2026, 11, 25, 9, 30, tzinfo=dt.UTC)


@pytest.fixture
def flood_services(db, catalogs) -> Services:  # type: ignore[no-untyped-def]
    return build_services(Settings(database_url=db.url, inbound_per_minute=LIMIT), db=db, catalogs=catalogs)


def _send(services: Services, user: str, n: int, text: str, at: dt.datetime) -> Result:
    return services.dispatcher.dispatch(
        InboundMessage(channel=local.NAME, address=user, provider_id=f"{user}:{n}", text=text, received_at=at)
    ).result


def _outbox(services: Services, user: str) -> list[OutboxMessage]:
    with services.db.read() as session:
        return list(session.scalars(select(OutboxMessage).where(OutboxMessage.address == user).order_by(OutboxMessage.id)))


@pytest.mark.parametrize("lang", ["en", "hi"])
def test_a_hundred_messages_in_a_minute_get_one_notice(flood_services: Services, lang: str) -> None:
    user = f"flood-{lang}"
    for n, line in enumerate(OPEN[lang]):
        _send(flood_services, user, n, line, T0)
    before = len(_outbox(flood_services, user))
    results = [_send(flood_services, user, 100 + n, "help", T0 + dt.timedelta(seconds=n * 0.5)) for n in range(100)]
    # The two opening messages count: LIMIT - 2 more are answered, the rest are recorded only.
    assert results.count(Result.HANDLED) == LIMIT - 2
    assert results.count(Result.RATE_LIMITED) == 100 - (LIMIT - 2)
    said = LocalUser(flood_services, user).receive().texts
    assert said.count(NOTICE[lang]) == 1
    rows = _outbox(flood_services, user)[before:]
    # Help answers with two messages (the help, the question again); the notice is one more.
    assert len(rows) == 2 * (LIMIT - 2) + 1
    with flood_services.db.read() as session:
        steps = session.scalars(select(InboundRow.step_after).order_by(InboundRow.id)).all()
    assert steps.count(RATE_LIMITED_STEP) == 100 - (LIMIT - 2)
    assert len(steps) == 102  # every message recorded


@pytest.mark.parametrize("lang", ["en", "hi"])
def test_after_the_window_the_person_is_answered_again_and_a_new_flood_gets_a_new_notice(flood_services: Services, lang: str) -> None:
    user = f"calm-{lang}"
    for n, line in enumerate(OPEN[lang]):
        _send(flood_services, user, n, line, T0)
    for n in range(60):
        _send(flood_services, user, 100 + n, "help", T0 + dt.timedelta(seconds=n * 0.5))
    chat = LocalUser(flood_services, user)
    chat.receive()
    later = T0 + dt.timedelta(seconds=30 + 61)
    assert _send(flood_services, user, 500, "help", later) is Result.HANDLED
    assert NOTICE[lang] not in chat.receive().texts
    # Duplicates of flooded messages stay duplicates, then and now.
    assert _send(flood_services, user, 150, "help", later) is Result.DUPLICATE
    results = [_send(flood_services, user, 600 + n, "help", later + dt.timedelta(seconds=n)) for n in range(LIMIT + 5)]
    # The message at `later` is in this minute too: LIMIT - 1 more are answered.
    assert results.count(Result.RATE_LIMITED) == LIMIT + 5 - (LIMIT - 1)
    assert chat.receive().texts.count(NOTICE[lang]) == 1


@pytest.mark.parametrize("lang", ["en", "hi"])
def test_a_fast_registration_never_hits_the_limit(flood_services: Services, lang: str) -> None:
    user = f"fast-{lang}"
    lines = OPEN[lang] + REGISTER[lang]
    results = [_send(flood_services, user, n, line, T0 + dt.timedelta(seconds=n)) for n, line in enumerate(lines)]
    assert results == [Result.HANDLED] * len(lines)
    said = LocalUser(flood_services, user).receive().texts
    assert said[-1] == MENU[lang] and NOTICE[lang] not in said


def test_one_identity_flooding_does_not_limit_another(flood_services: Services) -> None:
    for n in range(LIMIT + 10):
        _send(flood_services, "noisy", n, "hello", T0)
    assert _send(flood_services, "quiet", 1, "hello", T0) is Result.HANDLED
    with flood_services.db.read() as session:
        quiet = session.scalars(select(Identity.id).where(Identity.address == "quiet")).one()
        answered = session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.identity_id == quiet))
    assert answered == 2


def test_an_enrolled_doctor_at_a_busy_desk_is_not_limited(flood_services: Services) -> None:
    from bot.services.enrolment import add_doctor
    from bot.services.opds import find_opd, load_demo

    with flood_services.db.write() as session:
        load_demo(session)
        _, code = add_doctor(session, "Anita Sharma", [find_opd(session, "GEN24")])
    assert _send(flood_services, "desk", 0, f"enroll {code}", T0) is Result.HANDLED
    results = [_send(flood_services, "desk", 1 + n, "status", T0 + dt.timedelta(seconds=n * 0.5)) for n in range(LIMIT + 10)]
    assert results == [Result.HANDLED] * (LIMIT + 10)
