"""The dashboard's Broadcasts page: write a health advisory, see its count and preview, approve, send, follow it.

GET /dashboard/broadcasts → the latest broadcasts and the form to write one; POST it → a draft.
GET /dashboard/broadcasts/<id> → its segment's count per channel and language now, the advisory
as each language reads it, its status and progress (sent, delivered, failed, not sent, opt-outs
since it started), and the buttons its status allows: POST …/<id>/send, …/approve, …/cancel.

Its routes are the dashboard blueprint's, so the operator login (webhooks/operators/auth.py)
guards them and checks every form's csrf; the rules are bot/services/broadcasts.py's.
"""

from __future__ import annotations

from flask import abort, current_app, g, redirect, render_template, request, url_for
from sqlalchemy import select

from bot.services import broadcasts
from bot.services.broadcasts import BroadcastRefused, Segment
from bot.store.models import Broadcast, Operator, utcnow
from flows.engine import LANGUAGES
from flows.steps.advisories import TEMPLATES
from webhooks.operators.dashboard import blueprint
from webhooks.pages import page_language, t

CHANNELS = ("telegram", "whatsapp", "sms", "web")


def _operator(session) -> Operator:  # type: ignore[no-untyped-def]
    operator = session.scalars(select(Operator).where(Operator.username == g.operator)).first()
    assert operator is not None  # the login guard found them
    return operator


def refusal(code: str) -> str:
    """Return why the service refused, in the page's language."""
    reasons = {
        "texts_or_template": t("Write the advisory, or choose an approved one: not both."),
        "unknown_template": t("There is no such approved advisory."),
        "language": t("There is no such language."),
        "texts_missing": t("An advisory needs its English and its Hindi text."),
        "too_long": t("An advisory is at most {count} characters in each language.", count=broadcasts.MAX_TEXT),
        "not_ascii": t("The romanised Hindi text must be in plain English letters."),
        "segment": t("'Seen in the last days' is a number of days."),
        "second_operator": t("A broadcast is approved by a second operator, not by the one who wrote it."),
    }
    return reasons.get(code, t("This cannot be done in the broadcast's present state."))


def status_label(status: str) -> str:
    """Return a broadcast's status in the page's language."""
    labels = {
        "draft": t("Draft"), "awaiting_approval": t("Awaiting approval"), "approved": t("Approved"),
        "sending": t("Sending"), "done": t("Done"), "cancelled": t("Cancelled"),
    }
    return labels.get(status, status)


def _words(values: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in values.split(",") if v.strip())


@blueprint.get("/dashboard/broadcasts")
def broadcasts_page(problem: str | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    """List the latest broadcasts, with the form to write one."""
    services = current_app.extensions["teleopd"]
    with services.db.read() as session:
        rows = broadcasts.listed(session)
    return render_template(
        "broadcasts.html", operator=g.get("operator"), lang=page_language(), rows=rows, problem=problem,
        templates=sorted(TEMPLATES), languages=LANGUAGES, channels=CHANNELS, form=request.form,
        status_label=status_label,
    ), status


@blueprint.post("/dashboard/broadcasts")
def broadcast_create():  # type: ignore[no-untyped-def]
    """Write a draft from the form, and show it."""
    services = current_app.extensions["teleopd"]
    form = request.form
    texts = {lang: form.get(f"text_{lang}", "") for lang in LANGUAGES}
    template = form.get("template") or None
    days = form.get("seen_within_days", "").strip()
    if days and not (days.isascii() and days.isdigit() and len(days) <= 4):
        return broadcasts_page(t("'Seen in the last days' is a number of days."), 400)
    segment = Segment(
        states=tuple(s.upper() for s in _words(form.get("states", ""))), districts=_words(form.get("districts", "")),
        languages=tuple(lang for lang in LANGUAGES if form.get(f"language_{lang}")),
        channels=tuple(channel for channel in CHANNELS if form.get(f"channel_{channel}")),
        seen_within_days=int(days) if days else None,
    )
    try:
        with services.db.write() as session:
            made = broadcasts.create(
                session, _operator(session).id, segment, utcnow(),
                texts=None if template else texts, template_key=template,
            )
            broadcast_id = made.id
    except BroadcastRefused as refused:
        return broadcasts_page(refusal(refused.code), 400)
    return redirect(url_for("dashboard.broadcast_page", broadcast_id=broadcast_id, lang=page_language()))


@blueprint.get("/dashboard/broadcasts/<int:broadcast_id>")
def broadcast_page(broadcast_id: int, problem: str | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    """Show a broadcast: its count and preview per channel and language, its progress, what may be done next."""
    services = current_app.extensions["teleopd"]
    now = utcnow()
    with services.db.read() as session:
        broadcast = session.get(Broadcast, broadcast_id)
        if broadcast is None:
            abort(404)
        shown = broadcasts.preview(session, broadcast, now)
        progress = broadcasts.progress(session, broadcast)
        me = _operator(session)
        may_approve = broadcasts.may_send_broadcast(me, broadcast)
        session.expunge(broadcast)
    texts = {lang: services.catalogs.translate(shown.reply.text, lang) for lang in LANGUAGES}
    return render_template(
        "broadcast.html", operator=g.get("operator"), lang=page_language(), broadcast=broadcast, preview=shown,
        progress=progress, texts=texts, may_approve=may_approve, problem=problem,
        approval_above=services.settings.broadcast_approval_above, status_label=status_label,
    ), status


def _act(broadcast_id: int, action: str):  # type: ignore[no-untyped-def]
    services = current_app.extensions["teleopd"]
    try:
        with services.db.write() as session:
            me = _operator(session)
            if action == "send":
                broadcasts.send(session, broadcast_id, me, utcnow(), services.settings.broadcast_approval_above)
            elif action == "approve":
                broadcasts.approve(session, broadcast_id, me, utcnow())
            else:
                broadcasts.cancel(session, broadcast_id, utcnow())
    except BroadcastRefused as refused:
        if refused.code == "not_found":
            abort(404)
        return broadcast_page(broadcast_id, refusal(refused.code), 409)
    return redirect(url_for("dashboard.broadcast_page", broadcast_id=broadcast_id, lang=page_language()))


@blueprint.post("/dashboard/broadcasts/<int:broadcast_id>/send")
def broadcast_send(broadcast_id: int):  # type: ignore[no-untyped-def]
    """Send a draft (or put it up for approval), or an approved broadcast."""
    return _act(broadcast_id, "send")


@blueprint.post("/dashboard/broadcasts/<int:broadcast_id>/approve")
def broadcast_approve(broadcast_id: int):  # type: ignore[no-untyped-def]
    """Approve a broadcast as a second operator."""
    return _act(broadcast_id, "approve")


@blueprint.post("/dashboard/broadcasts/<int:broadcast_id>/cancel")
def broadcast_cancel(broadcast_id: int):  # type: ignore[no-untyped-def]
    """Stop a broadcast."""
    return _act(broadcast_id, "cancel")
