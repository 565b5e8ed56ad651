"""The floor for bench/webhook_load.py: the least a Twilio webhook can do and still be honest.

    gunicorn --chdir bench 'minimal_endpoint:create_app()'

It checks the X-Twilio-Signature over the public URL and the form (twilio's
RequestValidator, as webhooks/twilio.py does), commits one
row to a PostgreSQL table of its own, and answers empty TwiML. No conversation, no outbox,
no catalogs: whatever the full path costs beyond this is teleopd's own work. The table is
created and dropped by webhook_load.py (MINIMAL_TABLE in the run's schema).

Environment: MINIMAL_DATABASE_URL, MINIMAL_TABLE, MINIMAL_PUBLIC_URL, TWILIO_AUTH_TOKEN.
"""

from __future__ import annotations

import os
import re

from flask import Flask, Response, abort, request
from sqlalchemy import create_engine, text
from twilio.request_validator import RequestValidator

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response />'


def create_app() -> Flask:
    """Build the one-route app from the environment."""
    table = os.environ["MINIMAL_TABLE"]
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", table):
        raise SystemExit(f"MINIMAL_TABLE {table!r} is not a plain table name")
    public_url = os.environ["MINIMAL_PUBLIC_URL"].rstrip("/")
    validator = RequestValidator(os.environ["TWILIO_AUTH_TOKEN"])
    # The pool the full app uses (bot/store/db.py), so the two differ only in the work per request.
    engine = create_engine(os.environ["MINIMAL_DATABASE_URL"], pool_size=10, max_overflow=10, pool_pre_ping=True)
    insert = text(f"INSERT INTO {table} (message_sid, sender, body) VALUES (:sid, :sender, :body)")
    app = Flask(__name__)

    @app.post("/webhooks/twilio/<channel>")
    def inbound(channel: str) -> Response:
        """Check the signature, commit one row, answer empty TwiML."""
        form = request.form
        if not validator.validate(public_url + request.path, form.to_dict(flat=True), request.headers.get("X-Twilio-Signature", "")):
            abort(403)
        with engine.begin() as connection:
            connection.execute(insert, {"sid": form.get("MessageSid"), "sender": form.get("From"), "body": form.get("Body")})
        return Response(EMPTY_TWIML, mimetype="text/xml")

    return app
