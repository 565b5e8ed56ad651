"""The dashboard's Broadcasts page: write, count and preview, a second operator's approval, progress; English and Hindi.

One walk through the real app with two signed-in operators (the author and a second one): the
form makes a draft whose page counts the segment per channel and shows the advisory in every
language; a segment above TELEOPD_BROADCAST_APPROVAL_ABOVE is put up for approval, which its
author's page does not offer and the second operator's does; every POST needs the form's csrf.
"""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from bot.platform.config import Settings
from bot.runtime import Services, build_services
from bot.store.db import Database
from bot.store.models import Broadcast, BroadcastStatus
from tests.operators import form_token, signed_in
from tests.test_broadcast_sending import seed
from webhooks import create_app


@pytest.fixture
def two_operators(db: Database, catalogs) -> tuple[Services, FlaskClient, FlaskClient]:  # type: ignore[no-untyped-def]
    services = build_services(Settings(database_url=db.url, broadcast_approval_above=2), db=db, catalogs=catalogs)
    app = create_app(services)
    author, second = app.test_client(), app.test_client()
    signed_in(author, services, "asha")
    signed_in(second, services, "ravi")
    return services, author, second


def post(client: FlaskClient, path: str, **form: str):  # type: ignore[no-untyped-def]
    token = form_token(client.get("/dashboard/broadcasts").get_data(as_text=True))  # the session's token, on every form
    return client.post(path, data={"csrf": token, **form})


def test_write_preview_approve_and_send_from_the_dashboard(two_operators) -> None:  # type: ignore[no-untyped-def]
    services, author, second = two_operators
    seed(services.db, 3, prefix="p")
    seed(services.db, 1, prefix="s", channel="sms", language="hi-Latn")
    refused = post(author, "/dashboard/broadcasts", text_en="Polio drops on Sunday.")
    assert refused.status_code == 400 and "Hindi text" in refused.get_data(as_text=True)
    made = post(author, "/dashboard/broadcasts", text_en="Polio drops on Sunday.", text_hi="रविवार को पोलियो की दवा।", channel_telegram="1")
    assert made.status_code == 302
    path = made.headers["Location"].split("?")[0]
    page = author.get(path, query_string={"lang": "hi"}).get_data(as_text=True)
    assert 'data-figure="audience">3<' in page and 'data-figure="channel-telegram">3<' in page  # the SMS patient is not in it
    assert "रविवार को पोलियो की दवा।" in page and "Polio drops on Sunday." in page and "ड्राफ़्ट" in page
    assert author.post(path + "/send", data={}).status_code == 400  # no csrf
    assert post(author, path + "/send").status_code == 302
    broadcast_id = int(path.rsplit("/", 1)[1])
    with services.db.read() as session:
        assert session.get(Broadcast, broadcast_id).status == BroadcastStatus.AWAITING_APPROVAL
    assert "/approve" not in author.get(path).get_data(as_text=True)  # not its author's to approve
    assert post(author, path + "/approve").status_code == 409
    assert post(second, path + "/approve").status_code == 302
    assert post(second, path + "/send").status_code == 302
    with services.db.read() as session:
        assert session.get(Broadcast, broadcast_id).status == BroadcastStatus.SENDING
    listed = author.get("/dashboard/broadcasts", query_string={"lang": "en"}).get_data(as_text=True)
    assert f">{broadcast_id}</a>" in listed and "Sending" in listed
