"""Key 3 of the voice line: a call-back request, one open per number, listed on the coordinators' dashboard.

The dashboard shows it with the number masked and the time in India's time, in English and
Hindi; "Called back" closes it, and the number may then ask again.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from bot.runtime import Services
from bot.services.erasure import erase_by_phone
from bot.services.voice import answer_call
from bot.store.models import CallbackRequest, Conversation, Identity
from tests.booking_helpers import _clear_of_midnight_ist  # noqa: F401  (fixture)
from tests.operators import signed_in
from tests.test_voice_webhook import new_sid, patient
from webhooks import create_app

PHONE = "+919745786257"
STRANGER = "+919812345678"


@pytest.fixture
def client(demo: Services) -> FlaskClient:
    client = create_app(demo).test_client()
    signed_in(client, demo)
    return client


def press_3(services: Services, phone: str, at: dt.datetime) -> str:
    """A caller presses 3 at the menu; return what they hear, as catalog ids."""
    answered = answer_call(services.db, new_sid(), phone, "menu", "3", at)
    return answered.spoken.lines[0].text.msgid


def open_requests(services: Services) -> list[CallbackRequest]:
    with services.db.read() as session:
        return list(session.scalars(select(CallbackRequest).where(CallbackRequest.done_at.is_(None))))


@pytest.mark.both_databases
@pytest.mark.parametrize("lang", ["en", "hi"])
def test_the_dashboard_lists_open_requests_masked_to_be_opened_to_call_in_ist_and_closes_them(client: FlaskClient, demo: Services, lang: str) -> None:
    patient(demo, "hi", PHONE)
    asked = dt.datetime(2026, 12, 7, 3, 35, tzinfo=dt.UTC)  # 9:05 am in India
    assert press_3(demo, PHONE, asked).startswith("Thank you. A health worker will call you back")
    assert press_3(demo, PHONE, asked).startswith("You have already asked")
    answer_call(demo.db, new_sid(), STRANGER, "language", "2", asked)  # a number we do not know chooses English first
    press_3(demo, STRANGER, asked + dt.timedelta(minutes=1))
    assert len(open_requests(demo)) == 2
    html = client.get("/dashboard", query_string={"lang": lang}).get_data(as_text=True)
    table = html[html.index('id="callbacks"'):]
    table = table[:table.index("</table>")]
    # Masked at a glance; the full number only inside the row opened to call it.
    assert "<summary>+91******6257</summary>" in table and "<summary>+91******5678</summary>" in table
    for number in (PHONE, STRANGER):
        assert html.count(number) == 2 and f'<a href="tel:{number}">{number}</a></details>' in table
    assert "Sunita Devi" in table and {"en": "not registered", "hi": "रजिस्टर नहीं"}[lang] in table
    assert {"en": "7 Dec, 09:05", "hi": "7 दिस॰, 09:05"}[lang] in table
    forms = re.findall(r'action="([^"]+)">\s*<input type="hidden" name="csrf" value="([^"]+)">\s*<input type="hidden" name="request" value="(\d+)"', table)
    assert len(forms) == 2
    action, csrf, first = forms[0]
    assert client.post(action, data={"request": first}).status_code == 400  # no csrf: refused
    assert len(open_requests(demo)) == 2
    response = client.post(action, data={"csrf": csrf, "request": first})
    assert response.status_code == 302
    assert [r.phone for r in open_requests(demo)] == [STRANGER]
    # Called back: the number may ask again.
    assert press_3(demo, PHONE, asked + dt.timedelta(hours=1)).startswith("Thank you.")
    assert sorted(r.phone for r in open_requests(demo)) == [PHONE, STRANGER]


def test_an_empty_list_says_nobody_is_waiting(client: FlaskClient) -> None:
    html = client.get("/dashboard", query_string={"lang": "hi"}).get_data(as_text=True)
    assert "कोई भी वापस फ़ोन का इंतज़ार नहीं कर रहा।" in html


@pytest.mark.both_databases
def test_erasing_a_patient_erases_their_voice_line_and_call_backs(demo: Services) -> None:
    patient(demo, "hi", PHONE)
    at = dt.datetime.now(dt.UTC)
    press_3(demo, PHONE, at)
    answer_call(demo.db, new_sid(), PHONE, "menu", "4", at)  # "call me" is kept on the line
    with demo.db.write() as session:
        erased, staff = erase_by_phone(session, PHONE, at)
    assert erased and not staff
    with demo.db.read() as session:
        assert session.scalars(select(CallbackRequest)).all() == []
        lines = session.scalars(select(Identity).where(Identity.channel == "voice")).all()
        assert [line.address.startswith("erased:") for line in lines] == [True]
        assert session.scalars(select(Conversation.data).where(Conversation.identity_id == lines[0].id)).one() == {}
