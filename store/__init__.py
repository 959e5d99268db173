"""The store: SQLAlchemy 2 async models, repositories and Alembic migrations.

The bottom layer: it imports nothing from the rest of hisgraph. SQLite file by default, PostgreSQL in
production; the same migrations build both.
"""

from store import audit, followers, inbound, jobs, messages, reconciliation, statistics, surveys, uploads  # noqa: F401 - their tables join Base.metadata, so Alembic sees them
from store.accounts import Account, AccountCard, AccountRepository, OneTimeCode, Operator, ShimNonce
from store.cards import DuplicateCardNumber, HealthCardChanges, HealthCardRepository, generate_card_number
from store.db import Database, alembic_config
from store.models import Base, HealthCard
from store.orders import Order, OrderEvent, OrderState, OutboxJob, Refund

__all__ = [
    "Account",
    "AccountCard",
    "AccountRepository",
    "Base",
    "Database",
    "DuplicateCardNumber",
    "HealthCard",
    "HealthCardChanges",
    "HealthCardRepository",
    "OneTimeCode",
    "Operator",
    "Order",
    "OrderEvent",
    "OrderState",
    "OutboxJob",
    "Refund",
    "ShimNonce",
    "alembic_config",
    "generate_card_number",
]
