"""The gateway's tables. Only Alembic creates them (see migrations/)."""

from gateway.models.alerts import (
    Alert,
    AlertEvent,
    AlertState,
    JobState,
    KeptStatus,
    OutboxMessage,
    OutboxStatus,
    Threshold,
)
from gateway.models.base import Base
from gateway.models.cells import CusumDesign, DayCount, WindowCell
from gateway.models.channels import ChannelHealth
from gateway.models.messages import InfoMessage, InfoMessageStatus
from gateway.models.people import (
    ApiToken,
    AuditLog,
    Committee,
    CommitteeMember,
    ConsoleUser,
    LoginAddress,
    Reporter,
    Role,
    Subscription,
)
from gateway.models.places import Locality, LocalityKind, Place
from gateway.models.reports import (
    Channel,
    InboundMessage,
    Incident,
    Outcome,
    TrustRating,
    UssdSession,
)

__all__ = [
    "Alert",
    "AlertEvent",
    "AlertState",
    "ApiToken",
    "AuditLog",
    "Base",
    "Channel",
    "ChannelHealth",
    "Committee",
    "CommitteeMember",
    "ConsoleUser",
    "CusumDesign",
    "DayCount",
    "InboundMessage",
    "Incident",
    "InfoMessage",
    "InfoMessageStatus",
    "JobState",
    "KeptStatus",
    "Locality",
    "LocalityKind",
    "LoginAddress",
    "OutboxMessage",
    "OutboxStatus",
    "Outcome",
    "Place",
    "Reporter",
    "Role",
    "Subscription",
    "Threshold",
    "TrustRating",
    "UssdSession",
    "WindowCell",
]
