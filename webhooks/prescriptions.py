"""GET /rx/<link>: a patient's e-prescription PDF, behind a signed link that expires.

The link is made by bot/services/prescriptions.py and sent by WhatsApp (Twilio fetches it as
MediaUrl) and SMS (the patient opens it). A link that was altered, is not ours or has expired
gets a short page in the reader's language saying what to do, never an error trace; a
prescription that is gone (the patient erased their data) is answered the same way. The PDF
is drawn from the consultation on each request (bot/services/prescription_pdf.py, about a
tenth of a second of CPU, the last few kept in memory): Twilio fetches it once, a patient a
few times; no copy is stored.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, g, render_template

from bot.services.prescriptions import LINK_MAX_AGE, LinkError
from webhooks.pages import page_language

log = logging.getLogger(__name__)
blueprint = Blueprint("prescriptions", __name__)

# Personal health data: no proxy or shared cache may keep a copy (RFC 9111 §5.2.2: no-store,
# private), and a browser need not either; the PDF opens inline in the phone's viewer.
NO_CACHE = "private, no-store, max-age=0"
# A link is a signed token: no longer than this, whatever someone types.
MAX_LINK = 200


@blueprint.get("/rx/<string:link>")
def prescription(link: str) -> Response | tuple[str, int, dict[str, str]]:
    """Serve the PDF a valid link names, or a kind page saying the link is expired or not valid."""
    prescriptions = current_app.extensions["teleopd"].prescriptions
    if len(link) > MAX_LINK:
        return _unavailable("invalid", 404)
    try:
        consultation_id, lang = prescriptions.read_link(link)
    except LinkError as error:
        if error.lang:
            g.page_lang = error.lang  # the page in the language the link was made in
        return _unavailable("expired" if error.expired else "invalid", 410 if error.expired else 404)
    g.page_lang = lang
    facts = prescriptions.facts(consultation_id)
    if facts is None:
        return _unavailable("gone", 410)
    pdf = prescriptions.pdf(facts, lang)
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{prescriptions.filename(facts)}"'
    response.headers["Cache-Control"] = NO_CACHE
    return response


def _unavailable(why: str, status: int) -> tuple[str, int, dict[str, str]]:
    """Return the page for a link that gives no prescription."""
    page_language()
    page = render_template("prescription_unavailable.html", why=why, days=LINK_MAX_AGE.days)
    return page, status, {"Cache-Control": NO_CACHE}
