"""The senders' shared pace: one row per sending identity, the time its next free send slot starts."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tracker.models.base import Base


class SendLimiter(Base):
    """Every dispatcher reserves its send slots here, so all of them together keep one sender's rate."""

    __tablename__ = "send_limiter"

    # The sending identity (a from number or messaging service; "console"): never a recipient.
    key: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    # Seconds since the epoch (the dispatchers' wall clock) at which the next unreserved slot starts.
    next_free: Mapped[float] = mapped_column(sa.Float(), nullable=False)
