"""The voice webhook fuzzed: signed forms and action URLs of any shape get TwiML a phone can play, never an error.

Twilio signs what it sends, so the fuzz signs too and reaches the parser, the stages and the
database: any CallSid, From, To, Direction and Digits, with any stage, choices and answer
number in the query. Every answer is 200 TwiML (XML with a <Response>) that says something,
rejects, or hangs up. TELEOPD_FUZZ_EXAMPLES sets the examples (default 20), as for
tests/test_fuzz_webhooks.py.
"""

from __future__ import annotations

import os
import secrets
import xml.etree.ElementTree as ET
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.booking_helpers import _clear_of_midnight_ist  # noqa: F401  (fixture)
from tests.test_voice_webhook import MISSED, VOICE_FROM, patient, services  # noqa: F401  (fixture)
from tests.twilio_helpers import INDIAN, SID, _post, client, fake  # noqa: F401  (fixtures)

EXAMPLES = int(os.environ.get("TELEOPD_FUZZ_EXAMPLES", "20"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

text = st.one_of(st.text(max_size=40), st.sampled_from(["", " ", "\x00", "+", "Anonymous", "+91", "+919745786257 ", "९८७६५४३२१०", "%00"]))
sids = st.one_of(st.builds(lambda: "CA" + secrets.token_hex(16)), text)
stages = st.one_of(st.none(), st.sampled_from(["start", "menu", "language", "cancel:1", "cancel:", "cancel:99999999999999999999", "call", "x:y:z"]), text)
keys = st.one_of(st.none(), st.sampled_from(["join:1|leave:1", "join:|", "|", "join:99999999999999999999", "a:b|c:d|e:f", "join:1\x00|x"]), text)


@pytest.fixture
def booked(demo):  # type: ignore[no-untyped-def]
    """The caller is a patient with a token (token 1, consultation ids small): cancel and join stages reach real rows."""
    patient(demo, "hi")
    return demo


@pytest.mark.both_databases
@FUZZ
@given(
    sid=sids, caller=st.one_of(st.just(INDIAN), text), to=st.one_of(st.sampled_from([VOICE_FROM, MISSED]), text),
    direction=st.one_of(st.sampled_from(["inbound", "outbound-api", "outbound-dial"]), text),
    digits=st.one_of(st.none(), st.sampled_from(list("0123456789*#")), text),
    stage=stages, choices=keys, turn=st.one_of(st.none(), st.sampled_from(["1", "0", "-1", "99999", "x"])),
)
def test_any_signed_call_gets_playable_twiml(client, booked, sid, caller, to, direction, digits, stage, choices, turn) -> None:  # type: ignore[no-untyped-def]
    form = {"CallSid": sid, "AccountSid": SID, "From": caller, "To": to, "Direction": direction}
    if digits is not None:
        form["Digits"] = digits
    query = urlencode({k: v for k, v in (("stage", stage), ("keys", choices), ("n", turn)) if v is not None})
    response = _post(client, "/webhooks/twilio/voice", form, query=query)
    assert response.status_code == 200 and response.mimetype == "text/xml", response.get_data(as_text=True)[:300]
    root = ET.fromstring(response.get_data())
    assert root.tag == "Response"
    assert root.find(".//Say") is not None or root.find("Reject") is not None or root.find("Hangup") is not None
