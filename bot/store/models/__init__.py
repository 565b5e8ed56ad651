"""The shared database: typed SQLAlchemy 2 models, one module per kind of table.

| module | tables |
|---|---|
| base.py | (none) the base class, UTCDateTime, JsonDict, BigId, utcnow |
| people.py | people, patients, identities, conversations |
| messaging.py | inbound_messages, outbox, delivery_events, timers |
| clinic.py | opds, opd_days, tokens, doctors, doctor_opds, health_workers, enrolment_codes, consultations |
| service.py | operators, app_secrets, operator_sessions, worker_heartbeats, web_chats |
| voice.py | callback_requests |
| media.py | media |
| inbox.py | inbox_items, inbox_messages, operator_actions |
| broadcasts.py | broadcasts, broadcast_recipients |

This package re-exports every model, enum and column type, so that `from bot.store.models
import X` keeps working wherever it is written (the services, the webhooks, the migrations'
env.py, the tests, the benches) and so that importing it registers every table on
Base.metadata, in the order the single module defined them. The migrations in migrations/
create exactly these tables; tests/test_migrations.py checks that the two agree.
"""

from bot.store.models.base import Base, BigId, JsonDict, UTCDateTime, utcnow
from bot.store.models.broadcasts import (
    Broadcast,
    BroadcastRecipient,
    BroadcastStatus,
    RecipientStatus,
)
from bot.store.models.clinic import (
    LIVE_TOKEN_STATUSES,
    Consultation,
    ConsultationOutcome,
    Doctor,
    DoctorOpd,
    DoctorStatus,
    EnrolmentCode,
    HealthWorker,
    Opd,
    OpdDay,
    Token,
    TokenStatus,
)
from bot.store.models.inbox import InboxItem, InboxMessage, OperatorAction
from bot.store.models.media import MediaItem, MediaStatus
from bot.store.models.messaging import (
    DeliveryEvent,
    InboundMessage,
    OutboxMessage,
    OutboxStatus,
    Timer,
)
from bot.store.models.people import Conversation, Identity, Patient, Person, Role
from bot.store.models.service import (
    AppSecret,
    Operator,
    OperatorSession,
    WebChat,
    WorkerHeartbeat,
)
from bot.store.models.voice import CallbackRequest

__all__ = [
    "LIVE_TOKEN_STATUSES",
    "AppSecret",
    "Base",
    "BigId",
    "Broadcast",
    "BroadcastRecipient",
    "BroadcastStatus",
    "CallbackRequest",
    "Consultation",
    "ConsultationOutcome",
    "Conversation",
    "DeliveryEvent",
    "Doctor",
    "DoctorOpd",
    "DoctorStatus",
    "EnrolmentCode",
    "HealthWorker",
    "InboxItem",
    "InboxMessage",
    "Identity",
    "InboundMessage",
    "JsonDict",
    "MediaItem",
    "MediaStatus",
    "Opd",
    "OpdDay",
    "Operator",
    "OperatorAction",
    "OperatorSession",
    "OutboxMessage",
    "OutboxStatus",
    "Patient",
    "Person",
    "RecipientStatus",
    "Role",
    "Timer",
    "Token",
    "TokenStatus",
    "UTCDateTime",
    "WebChat",
    "WorkerHeartbeat",
    "utcnow",
]
