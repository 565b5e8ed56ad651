"""Web chats beyond the local demo: each one a secret the server issues, kept as a hash, revocable.

A chat page's first message opens a chat (open_chat): a 256-bit secret goes to the browser
once, in an HttpOnly cookie, and only its SHA-256 is stored beside the chat's address on
the local channel. Every later request finds its chat by that hash (address_for). A
revoked chat (the page's "new chat", or `teleopd webchat revoke`) opens nothing any more.
A doctor's or health worker's web desk is such a chat plus their enrolment code, as on
every channel; the address is no secret (the page shows it, to tell an operator which
chat to revoke).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session

from bot.channels import local
from bot.services.enrolment import role_of
from bot.store.db import Database
from bot.store.models import Identity, WebChat, utcnow

SECRET_BYTES = 32  # 256 bits: token_urlsafe gives 43 characters
SECRET = re.compile(r"[A-Za-z0-9_-]{43}")
ADDRESS_PREFIX = "web-"


@dataclass(frozen=True)
class OpenedChat:
    """A chat just opened: its address, and its secret (the only time the secret exists in clear)."""

    address: str
    secret: str


@dataclass(frozen=True)
class ChatView:
    """A web chat as `teleopd webchat list` shows it."""

    address: str
    role: str | None  # None before its first message was handled
    name: str | None  # a doctor's or health worker's name; None for a patient's chat
    opened_at: dt.datetime
    last_message_at: dt.datetime | None


def secret_hash(secret: str) -> str:
    """Return the stored form of a chat secret."""
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def open_chat(db: Database, now: dt.datetime | None = None) -> OpenedChat:
    """Open a new chat and return its address and secret."""
    opened = OpenedChat(address=ADDRESS_PREFIX + secrets.token_hex(8), secret=secrets.token_urlsafe(SECRET_BYTES))
    assert local.valid_user_id(opened.address)
    with db.write() as session:
        session.add(WebChat(address=opened.address, secret_hash=secret_hash(opened.secret), created_at=now or utcnow()))
    return opened


def address_for(db: Database, secret: str) -> str | None:
    """Return the address of the open chat a secret belongs to; None for an unknown or revoked one."""
    if not SECRET.fullmatch(secret):
        return None
    with db.read() as session:
        return session.scalar(
            select(WebChat.address).where(WebChat.secret_hash == secret_hash(secret), WebChat.revoked_at.is_(None))
        )


def revoke(db: Database, address: str, now: dt.datetime | None = None) -> bool:
    """Revoke an open chat by its address; return False when there is no open chat there."""
    with db.write() as session:
        done = session.execute(
            update(WebChat).where(WebChat.address == address, WebChat.revoked_at.is_(None)).values(revoked_at=now or utcnow())
        )
    return bool(done.rowcount)


def open_chats(session: Session) -> list[ChatView]:
    """Return the chats not revoked, oldest first, with who is behind each."""
    rows = session.execute(
        select(WebChat, Identity)
        .outerjoin(Identity, and_(Identity.channel == local.NAME, Identity.address == WebChat.address))
        .where(WebChat.revoked_at.is_(None))
        .order_by(WebChat.id)
    ).all()
    views = []
    for chat, identity in rows:
        role = None if identity is None else str(role_of(identity))
        staff = identity is not None and identity.person is not None and role != "patient"
        views.append(ChatView(
            address=chat.address,
            role=role,
            name=identity.person.name if staff else None,  # type: ignore[union-attr]
            opened_at=chat.created_at,
            last_message_at=None if identity is None else identity.last_inbound_at,
        ))
    return views
