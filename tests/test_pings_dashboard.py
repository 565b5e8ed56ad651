"""The coordinators' ping: the operators' dashboard shows, under "Now", a danger-sign token still
waiting after its escalation, in English and Hindi, until a doctor calls it."""

from __future__ import annotations

import datetime as dt

import pytest
from flask.testing import FlaskClient

from bot.outbox.enqueue import apply_notices
from bot.outbox.timers import TimerRunner
from bot.runtime import Services
from bot.services.pings import TIMER_HANDLERS
from bot.store.models import TokenStatus, utcnow
from flows.ports import Intake
from flows.steps.pings import ping_notices
from tests.booking_records_helpers import add_opd, add_patient, records, set_status
from tests.operators import signed_in
from webhooks import create_app

ALERT = {
    "en": ("Danger signs: no doctor has called these patients", "Token 1 in NIGHT OPD has waited 15 min."),
    "hi": ("ख़तरे के लक्षण: इन मरीज़ों को किसी डॉक्टर ने नहीं बुलाया", "NIGHT ओपीडी का टोकन 1 15 मिनट से इंतज़ार में है।"),
}


@pytest.fixture
def client(services: Services) -> FlaskClient:
    client = create_app(services).test_client()
    signed_in(client, services)
    return client


def page(client: FlaskClient, lang: str) -> str:
    response = client.get("/dashboard", query_string={"lang": lang})
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.mark.parametrize("lang", ["en", "hi"])
def test_an_unserved_danger_sign_is_shown_under_now_until_a_doctor_calls_it(services: Services, client: FlaskClient, lang: str) -> None:
    db = services.db
    opd = add_opd(db, "NIGHT", hours="24h", days="all")
    booked_at = utcnow() - dt.timedelta(minutes=15, seconds=5)
    with db.write() as session:
        intake = Intake(text="seene mein dard", red_flags=("chest_pain",))
        result = records(session, add_patient(db), booked_at).book(opd, None, intake, True)
        apply_notices(session, ping_notices(result, booked_at, escalation_minutes=10), booked_at)
    assert result.token is not None
    assert "danger-alert" not in page(client, lang)  # not before the escalation has fired
    TimerRunner(db, TIMER_HANDLERS).drain()
    html = page(client, lang)
    assert 'id="danger-alert"' in html and all(piece in html for piece in ALERT[lang]), html
    set_status(db, result.token.id, TokenStatus.CALLED)
    assert "danger-alert" not in page(client, lang)
