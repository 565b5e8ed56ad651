"""The fake Twilio API's Calls resource: POST /2010-04-01/Accounts/{sid}/Calls.json, as the real one answers it.

Response shape after the Call resource (https://www.twilio.com/docs/voice/api/call-resource):
a "CA" sid and status "queued". A call needs To, From, and one of Url, Twiml or ApplicationSid
(error 21205 otherwise, as Twilio answers a call with nothing to do), and inline TwiML of at
most 4,000 characters (error 32018). The TwiML is kept as sent, so tests read it as XML.
"""

from __future__ import annotations

import re
import secrets
from email.utils import formatdate

CALLS = re.compile(r"^/2010-04-01/Accounts/(AC[0-9a-fA-F]{32})/Calls\.json$")


def create_call(account_sid: str, params: dict[str, str]) -> tuple[int, dict[str, object]]:
    """Answer one Calls.json POST: 201 with the call, or 400 with Twilio's error body."""
    if not params.get("To") or not params.get("From"):
        return 400, {"code": 21201, "message": "No 'To' or 'From' number is specified", "status": 400}
    if not (params.get("Url") or params.get("Twiml") or params.get("ApplicationSid")):
        return 400, {"code": 21205, "message": "Url parameter is required.", "status": 400}
    if len(params.get("Twiml", "")) > 4000:
        return 400, {"code": 32018, "message": "Twiml size exceeded maximum allowed value of 4000 characters", "status": 400}
    sid = "CA" + secrets.token_hex(16)
    now = formatdate(usegmt=True)
    return 201, {
        "account_sid": account_sid,
        "api_version": "2010-04-01",
        "date_created": now,
        "date_updated": now,
        "direction": "outbound-api",
        "from": params["From"],
        "to": params["To"],
        "sid": sid,
        "status": "queued",
        "uri": f"/2010-04-01/Accounts/{account_sid}/Calls/{sid}.json",
    }
