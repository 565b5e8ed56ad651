"""Voice lines: the identity a telephone number has on the voice line, and what it keeps.

A voice line (channel "voice", address the number) keeps the language chosen by keypad and,
in its conversation's data, whether "the doctor is ready" should phone it (`call_me`). The
desk asks it whom to ring (bot/services/desk.py), a health worker sets it for a walk-in
(bot/services/walkins.py), erasure takes it (bot/services/erasure.py); the voice line's
answers are bot/services/voice.py.
"""

from __future__ import annotations

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from bot.store.models import CallbackRequest, Conversation, Identity
from flows.ports import Party

VOICE = "voice"
CALL_ME = "call_me"


def conversation_of(session: Session, identity: Identity) -> Conversation:
    """Return a voice line's conversation row (ensure_identity made it)."""
    return session.scalars(select(Conversation).where(Conversation.identity_id == identity.id)).one()


def set_call_me(session: Session, identity: Identity, on: bool) -> None:
    """Remember on a voice line whether "the doctor is ready" phones it (a new dict: the ORM sees the change)."""
    conversation = conversation_of(session, identity)
    conversation.data = {**(conversation.data or {}), CALL_ME: on}
    conversation.version += 1


def ring_party(session: Session, person_id: int, phones: set[str]) -> Party | None:
    """Return the voice line to phone for a patient called by the doctor, when one of their numbers asked for it."""
    lines = session.execute(
        select(Identity.id, Conversation.data)
        .join(Conversation, Conversation.identity_id == Identity.id)
        .where(Identity.channel == VOICE, Identity.address.in_(sorted(p for p in phones if p)))
        .order_by(Identity.id)
    ).all()
    found = next((identity_id for identity_id, data in lines if (data or {}).get(CALL_ME)), None)
    return Party(found, about=person_id) if found is not None else None


def voice_lines_erased(session: Session, phones: set[str], person_ids: list[int]) -> list[Identity]:
    """Delete the call-back requests of erased people and numbers; return those numbers' voice lines, to be erased with their chats."""
    if not phones and not person_ids:
        return []
    session.execute(delete(CallbackRequest).where(or_(CallbackRequest.person_id.in_(person_ids), CallbackRequest.phone.in_(sorted(phones)))))
    return list(session.scalars(select(Identity).where(Identity.channel == VOICE, Identity.address.in_(sorted(phones))).order_by(Identity.id)))
