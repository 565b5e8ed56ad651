"""Operators of the dashboard: their accounts, passwords and the key that signs their sessions.

`teleopd operator add` creates one and prints a generated password once; only its scrypt
hash (werkzeug.security) is kept. Each sign-in is a row in operator_sessions, named by a
random key the session cookie carries (only the key's hash is stored); signing out ends that
row, so a copy of the cookie stops working too. A reset or a removal ends every session of
the operator and bumps their session epoch (webhooks/operators/auth.py checks both on every
request). A removed operator keeps their row: the name given again later starts a newer
epoch instead of reviving an old cookie.

Every operator has a role (ROLES): an admin manages operators and settings, a coordinator
works the inbox (and sends their state's broadcasts), a viewer only reads the dashboard. A
coordinator or viewer bound to a state (`--state UP`) sees that state's patients only.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

# scrypt at werkzeug's own cost (N=2**15, r=8, p=1: about 250 ms a hash, slow for a guesser).
# Named here so the test suite can lower the cost of the hashes it makes (tests/conftest.py).
PASSWORD_HASH_METHOD = "scrypt:32768:8:1"

from bot.store.db import Database
from bot.store.models import AppSecret, Operator, OperatorSession, utcnow
from flows.understanding.india import state_by_code

# Letters and digits nobody misreads (no 0/o, 1/l/i), in lower case: typed from a printout.
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
PASSWORD_GROUPS = 4
PASSWORD_GROUP_LENGTH = 4  # 16 characters of 31: about 79 bits
USERNAME_RE = re.compile(r"[a-z0-9][a-z0-9._@-]{0,63}")
SESSION_KEY_NAME = "session_key"
# Sessions last at most TELEOPD_OPERATOR_SESSION_HOURS (up to a week): rows older than this
# are gone for good and are cleared when their operator next signs in.
SESSION_ROWS_KEPT = dt.timedelta(days=8)
ADMIN, COORDINATOR, VIEWER = "admin", "coordinator", "viewer"
ROLES = (ADMIN, COORDINATOR, VIEWER)
# Who may work the inbox (take over, reply, hand back) and close call-backs: every form but sign-out.
ACTING_ROLES = (ADMIN, COORDINATOR)


class OperatorError(Exception):
    """A request about operators that cannot be done (a duplicate, an unknown name, a bad name)."""


@dataclass(frozen=True)
class OperatorView:
    """What the dashboard and the command line need to know about an operator."""

    id: int
    username: str
    session_epoch: int
    created_at: dt.datetime
    last_login_at: dt.datetime | None
    role: str = ADMIN
    state_code: str | None = None  # "IN-UP": sees that state's patients only


def normal_username(name: str) -> str:
    """Return the stored form of a user name: stripped and lower-case."""
    return name.strip().lower()


def check_username(name: str) -> str:
    """Return the stored form of a new user name, or raise OperatorError saying what is allowed."""
    username = normal_username(name)
    if not USERNAME_RE.fullmatch(username):
        raise OperatorError(
            f"an operator name is 1-64 letters, digits and . _ @ - starting with a letter or digit, not {name!r}"
        )
    return username


def check_role(role: str, state: str | None) -> tuple[str, str | None]:
    """Return a role and its state's ISO code ("up" -> "IN-UP"), or raise OperatorError saying what is allowed."""
    role = role.strip().lower()
    if role not in ROLES:
        raise OperatorError(f"an operator's role is one of {', '.join(ROLES)}, not {role!r}")
    if state is None or not state.strip():
        return role, None
    found = state_by_code(state)
    if found is None:
        raise OperatorError(f"no state or union territory has the code {state!r}: use its ISO 3166-2 code, such as UP or IN-UP")
    return role, found.code


def new_password() -> str:
    """Return a fresh password such as 'k7mp-3xqa-nw4e-9hts' (from `secrets`)."""
    groups = ("".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_GROUP_LENGTH)) for _ in range(PASSWORD_GROUPS))
    return "-".join(groups)


def _find(session: Session, username: str, *, for_update: bool = False) -> Operator | None:
    query = select(Operator).where(Operator.username == normal_username(username))
    return session.scalars(query.with_for_update() if for_update else query).first()


def _active(session: Session, username: str) -> Operator:
    operator = _find(session, username, for_update=True)
    if operator is None or operator.disabled_at is not None:
        raise OperatorError(f"no operator called {normal_username(username)!r}: see `teleopd operator list`")
    return operator


def add_operator(
    session: Session, name: str, now: dt.datetime | None = None, *, role: str = ADMIN, state: str | None = None,
) -> tuple[Operator, str]:
    """Create an operator (or give a removed one's name a new account); return it and its password."""
    username = check_username(name)
    role, state_code = check_role(role, state)
    now = now or utcnow()
    password = new_password()
    operator = _find(session, username, for_update=True)
    if operator is not None and operator.disabled_at is None:
        raise OperatorError(f"there is already an operator called {username!r}: use `teleopd operator reset-password --name {username}`")
    if operator is None:
        operator = Operator(username=username, password_hash=generate_password_hash(password, method=PASSWORD_HASH_METHOD), created_at=now, session_epoch=0)
        session.add(operator)
    else:
        operator.password_hash = generate_password_hash(password, method=PASSWORD_HASH_METHOD)
        operator.disabled_at, operator.last_login_at, operator.created_at = None, None, now
        operator.session_epoch += 1
    operator.role, operator.state_code = role, state_code
    session.flush()
    return operator, password


def reset_password(session: Session, name: str, now: dt.datetime | None = None) -> tuple[Operator, str]:
    """Give an operator a new password and end their sessions; return it and the password."""
    operator = _active(session, name)
    password = new_password()
    operator.password_hash = generate_password_hash(password, method=PASSWORD_HASH_METHOD)
    operator.session_epoch += 1
    _end_sessions(session, operator.id, now or utcnow())
    session.flush()
    return operator, password


def remove_operator(session: Session, name: str, now: dt.datetime | None = None) -> Operator:
    """Stop an operator signing in and end their sessions."""
    operator = _active(session, name)
    operator.disabled_at = now or utcnow()
    operator.session_epoch += 1
    _end_sessions(session, operator.id, operator.disabled_at)
    session.flush()
    return operator


def _end_sessions(session: Session, operator_id: int, now: dt.datetime) -> None:
    session.execute(
        update(OperatorSession)
        .where(OperatorSession.operator_id == operator_id, OperatorSession.ended_at.is_(None))
        .values(ended_at=now)
    )


def list_operators(session: Session) -> list[OperatorView]:
    """Return the operators who can sign in, by name."""
    rows = session.scalars(select(Operator).where(Operator.disabled_at.is_(None)).order_by(Operator.username)).all()
    return [_view(row) for row in rows]


def _view(operator: Operator) -> OperatorView:
    return OperatorView(
        operator.id, operator.username, operator.session_epoch, operator.created_at, operator.last_login_at,
        operator.role, operator.state_code,
    )


@functools.cache
def _decoy_hash() -> str:
    """A hash no password matches, checked for unknown names so they take as long as known ones."""
    return generate_password_hash(secrets.token_urlsafe(16), method=PASSWORD_HASH_METHOD)


def verify(session: Session, username: str, password: str, now: dt.datetime | None = None) -> OperatorView | None:
    """Return the operator these credentials sign in (noting the time), or None.

    An unknown or removed name is checked against a decoy hash, so the answer takes as long
    as for a wrong password: timing does not tell which names exist.
    """
    operator = _find(session, username)
    if operator is None or operator.disabled_at is not None:
        check_password_hash(_decoy_hash(), password)
        return None
    if not check_password_hash(operator.password_hash, password):
        return None
    operator.last_login_at = now or utcnow()
    session.flush()
    return _view(operator)


def current(session: Session, operator_id: int, epoch: int) -> OperatorView | None:
    """Return the operator a session belongs to while it still counts (not removed, not reset since)."""
    operator = session.get(Operator, operator_id)
    if operator is None or operator.disabled_at is not None or operator.session_epoch != epoch:
        return None
    return _view(operator)


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()


def start_session(session: Session, operator_id: int, now: dt.datetime | None = None) -> str:
    """Record a new sign-in of an operator; return the key its cookie carries."""
    now = now or utcnow()
    # The operator's ended and long-expired sign-ins go now: nothing can open them again.
    session.execute(
        delete(OperatorSession).where(
            OperatorSession.operator_id == operator_id,
            or_(OperatorSession.ended_at.is_not(None), OperatorSession.created_at < now - SESSION_ROWS_KEPT),
        )
    )
    key = secrets.token_urlsafe(32)
    session.add(OperatorSession(operator_id=operator_id, key_hash=_key_hash(key), created_at=now))
    session.flush()
    return key


def session_operator(session: Session, operator_id: int, epoch: int, key: str) -> OperatorView | None:
    """Return the operator of a sign-in while it counts: not signed out, not reset or removed since."""
    found = session.execute(
        select(OperatorSession.id)
        .where(
            OperatorSession.key_hash == _key_hash(key), OperatorSession.operator_id == operator_id,
            OperatorSession.ended_at.is_(None),
        )
    ).first()
    return current(session, operator_id, epoch) if found is not None else None


def end_session(session: Session, key: str, now: dt.datetime | None = None) -> bool:
    """End one sign-in (signing out); return whether it was still open."""
    result = session.execute(
        update(OperatorSession)
        .where(OperatorSession.key_hash == _key_hash(key), OperatorSession.ended_at.is_(None))
        .values(ended_at=now or utcnow())
    )
    return bool(result.rowcount)


def shared_secret_key(db: Database) -> str:
    """Return the session signing key kept in the database, generating it the first time.

    Every web process (gunicorn workers, restarts) reads the same row, so a cookie signed by
    one is read by all. Two processes starting together may both try to store one: the
    second's insert fails on the primary key and it reads the first's.
    """
    with db.read() as session:
        row = session.get(AppSecret, SESSION_KEY_NAME)
        if row is not None:
            return row.value
    try:
        with db.write() as session:
            row = session.get(AppSecret, SESSION_KEY_NAME)
            if row is not None:
                return row.value
            value = secrets.token_urlsafe(48)
            session.add(AppSecret(name=SESSION_KEY_NAME, value=value))
        return value
    except IntegrityError:
        with db.read() as session:
            row = session.get(AppSecret, SESSION_KEY_NAME)
            assert row is not None, "the session key was stored by another process"
            return row.value
