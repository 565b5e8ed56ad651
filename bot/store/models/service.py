"""The service's own housekeeping: dashboard operators and their sessions, shared secrets, worker heartbeats, web chats."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    ForeignKey,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models.base import Base, BigId, UTCDateTime, utcnow


class Operator(Base):
    """Someone who signs in to the operator dashboard (`teleopd operator add`)."""

    __tablename__ = "operators"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Kept lower-case, so "Coord" and "coord" are one operator.
    username: Mapped[str] = mapped_column(String(64), unique=True)
    # werkzeug.security's scrypt hash, never the password.
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Removed operators keep their row (so a name given again is a new epoch, not an old cookie's).
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Bumped by a password reset or a removal: a session signed with an older epoch has ended.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    # admin (operators, settings), coordinator (the inbox, broadcasts), viewer (the dashboard
    # only; no form): bot/services/operators.py ROLES. Operators from before roles are admins.
    role: Mapped[str] = mapped_column(String(16), default="admin", server_default="admin")
    # A state-bound operator (a state's coordinators) sees that state's patients only; None: all.
    state_code: Mapped[str | None] = mapped_column(String(6))


class AppSecret(Base):
    """A secret the web processes share, generated once (the session key when TELEOPD_SECRET_KEY is unset)."""

    __tablename__ = "app_secrets"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class OperatorSession(Base):
    """One sign-in to the dashboard: its cookie names it, and signing out ends it here."""

    __tablename__ = "operator_sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    operator_id: Mapped[int] = mapped_column(BigId, ForeignKey("operators.id"), index=True)
    # SHA-256 of the cookie's session key: a copy of the database opens no session.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class WorkerHeartbeat(Base):
    """When a worker process last went round its loop (GET /healthz reports the newest)."""

    __tablename__ = "worker_heartbeats"

    # host:pid, one row per worker process.
    worker: Mapped[str] = mapped_column(String(200), primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    beat_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class WebChat(Base):
    """A chat the web page opened beyond the local demo: its address, and its secret as a hash.

    The page keeps the secret in an HttpOnly cookie; only its SHA-256 is stored, so the
    table opens no chat. A revoked chat stays (its address is not given out again).
    """

    __tablename__ = "web_chats"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # The chat's address on the local channel (the Identity and outbox address): not secret.
    address: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
