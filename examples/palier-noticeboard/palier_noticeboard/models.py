"""The plugin's table. Its name starts with the plugin's name, as Palier requires."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.accounts import User, utcnow
from core.estate import Residence
from core.extensions import db

TITLE_MAX_LENGTH = 200
TEXT_MAX_LENGTH = 5000


class Notice(db.Model):
    """A notice (avis) on a residence's noticeboard.

    It is shown to the residence's tenants from ``starts_on`` to ``ends_on``, both days
    included; without an end date it stays until someone purges it.
    """

    __tablename__ = "noticeboard_notice"
    # The tenant's question, "what is shown in my residence today?", reads this index.
    __table_args__ = (
        Index("ix_noticeboard_notice_residence_id_starts_on", "residence_id", "starts_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    residence_id: Mapped[int] = mapped_column(ForeignKey("residence.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(TITLE_MAX_LENGTH))
    body: Mapped[str] = mapped_column(Text)
    starts_on: Mapped[date]
    ends_on: Mapped[date | None]
    posted_at: Mapped[datetime] = mapped_column(default=utcnow)
    posted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))

    residence: Mapped[Residence] = relationship()
    posted_by: Mapped[User | None] = relationship()

    def state_on(self, day: date) -> str:
        """``"upcoming"``, ``"current"`` or ``"ended"`` on ``day``."""
        if day < self.starts_on:
            return "upcoming"
        if self.ends_on is not None and self.ends_on < day:
            return "ended"
        return "current"
