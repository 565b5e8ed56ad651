"""The coordinators' inbox at /dashboard/inbox: chats that need a person, opened, taken over, answered, handed back.

GET  /dashboard/inbox                      the open items, longest waiting first (reason, patient, state, waiting since)
GET  /dashboard/inbox/<id>                 one item: the conversation so far, the patient's details and tokens
POST /dashboard/inbox/<id>/take            take the chat over from the bot (one coordinator only)
POST /dashboard/inbox/<id>/reply (text=)   a reply to the patient, on their channel, through the outbox
POST /dashboard/inbox/<id>/hand-back       the bot answers again, at the menu

Admins and coordinators only (a viewer gets 403); a state-bound coordinator sees their state's
patients only. The login guard (webhooks/operators/auth.py) checked the session, the role for
POSTs and the form's csrf; the rules are bot/services/inbox.py's, this module only shows and routes.
"""

from __future__ import annotations

import datetime as dt

from babel.dates import format_datetime
from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.wrappers import Response

from bot.outbox.enqueue import apply_notices
from bot.platform.i18n import BABEL_LOCALE
from bot.runtime import Services
from bot.services import inbox
from bot.services.operators import ACTING_ROLES
from bot.services.reports import IST, state_name
from bot.store.models import utcnow
from flows.messages import reply_from_json
from flows.notices import Notice
from webhooks.pages import page_language, t

blueprint = Blueprint("inbox", __name__)


def _services() -> Services:
    return current_app.extensions["teleopd"]  # type: ignore[no-any-return]


def _scope() -> inbox.Scope:
    """Return who acts and what they may see; anyone but an admin or coordinator is refused (403)."""
    if g.get("operator_role") not in ACTING_ROLES or g.get("operator_id") is None:
        abort(403)
    return inbox.Scope(g.operator_id, g.get("operator_state"))


def reason_text(reason: str) -> str:
    """Return why a chat is in the inbox, as the page says it."""
    words = {
        inbox.ASKED: t("Asked for a person"),
        inbox.STUCK: t("Stuck at one question"),
        inbox.DANGER: t("Danger signs, no doctor yet"),
        inbox.UNDELIVERED: t("Message to a called patient not delivered"),
    }
    return words.get(reason, reason)


def action_text(action: str) -> str:
    """Return a step of the audit log as the page says it."""
    words = {
        inbox.OPENED: t("Opened"),
        inbox.TOOK_OVER: t("Took over"),
        inbox.REPLIED: t("Replied"),
        inbox.HANDED_BACK: t("Handed back"),
        inbox.RELEASED: t("Back in the queue: no reply in time"),
    }
    return words.get(action, action)


def _when(at: dt.datetime) -> str:
    return format_datetime(at.astimezone(IST), "d MMM, HH:mm", tzinfo=IST, locale=BABEL_LOCALE.get(page_language(), "en_IN"))


def _state(code: str | None) -> str:
    name = state_name(code, page_language())
    return name if isinstance(name, str) else t(name)


def problem_text(problem: str) -> str | None:
    """Return why an action was refused, as the page says it (None: no such problem)."""
    words = {
        "taken": t("Another coordinator has taken this chat over."),
        "not_held": t("Take the chat over before replying or handing it back."),
        "closed": t("This chat has already been handed back."),
    }
    return words.get(problem)


@blueprint.get("/dashboard/inbox")
def inbox_page() -> str:
    """List the chats that need a person."""
    scope = _scope()
    with _services().db.read() as session:
        rows = inbox.list_open(session, scope.state_code)
    return render_template(
        "inbox.html", operator=g.get("operator"), rows=rows, reason_text=reason_text, when=_when, state=_state, lang=page_language(),
    )


@blueprint.get("/dashboard/inbox/<int:item_id>")
def item_page(item_id: int) -> str:
    """Show one chat: what was said, who the patient is, their tokens, and what the coordinator may do."""
    scope = _scope()
    services = _services()
    try:
        with services.db.write() as session:  # opening it is in the audit log
            item = inbox.detail(session, item_id, scope, utcnow())
            audit = inbox.audit_log(session, item_id)
    except inbox.InboxError:
        abort(404)
    lines = [
        (said, services.catalogs.translate(reply_from_json(said.payload).text, said.language) if said.payload else said.text)
        for said in item.history
    ]
    problem = problem_text(request.args.get("problem", ""))
    return render_template(
        "inbox_item.html", operator=g.get("operator"), item=item, lines=lines, reason_text=reason_text, when=_when, state=_state,
        mine=item.held_by_id == scope.operator_id, problem=problem, lang=page_language(), audit=audit, action_text=action_text,
    )


def _act(item_id: int, action) -> Response:  # type: ignore[no-untyped-def]
    """Run an inbox action and its notices in one transaction; back to the item (with the problem, if any)."""
    scope = _scope()
    services = _services()
    now = utcnow()
    problem = None
    try:
        with services.db.write() as session:
            notices: list[Notice] = action(session, scope, now)
            if apply_notices(session, notices, now):
                services.db.notify_outbox(session)
    except inbox.InboxError as refused:
        if refused.reason == "not_found":
            abort(404)
        problem = refused.reason
    else:
        services.outbox_signal.set()
    return redirect(url_for("inbox.item_page", item_id=item_id, lang=page_language(), problem=problem))


@blueprint.post("/dashboard/inbox/<int:item_id>/take")
def take(item_id: int) -> Response:
    """Take the chat over: the bot stops answering and the patient is told."""
    minutes = _services().settings.inbox_takeover_minutes
    return _act(item_id, lambda session, scope, now: inbox.take_over(session, item_id, scope, now, minutes))


@blueprint.post("/dashboard/inbox/<int:item_id>/reply")
def reply(item_id: int) -> Response:
    """Send the coordinator's words to the patient."""
    text = request.form.get("text", "")
    return _act(item_id, lambda session, scope, now: inbox.reply(session, item_id, scope, text, now))


@blueprint.post("/dashboard/inbox/<int:item_id>/hand-back")
def hand_back(item_id: int) -> Response:
    """Give the chat back to the bot, at the menu; the patient is told."""
    return _act(item_id, lambda session, scope, now: inbox.hand_back(session, item_id, scope, now))
