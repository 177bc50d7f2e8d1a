"""Accounts and roles: who may log in, with which role.

Passwords are hashed with argon2id (a fresh salt per hash). Every account carries a session
version: it is part of the identifier stored in the session and remember-me cookies, so bumping
it (logout, password change, disabling) ends every session of that account at its next request.
"""
from __future__ import annotations

import enum
import functools
from datetime import datetime, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, bindparam, func, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db, login_manager

_hasher = PasswordHasher()  # argon2id with the library's recommended parameters


class Role(str, enum.Enum):
    """Roles of the people who use Palier (see DESIGN.md §1)."""

    TENANT = "tenant"                        # locataire
    CARETAKER = "caretaker"                  # gardien
    TECHNICIAN = "technician"                # technicien
    AGENT = "agent"                          # chargé de clientèle
    MANAGER = "manager"                      # responsable d'agence
    COMMITTEE_MEMBER = "committee_member"    # membre de la CALEOL
    COMMITTEE_CHAIR = "committee_chair"      # président(e) de la CALEOL
    ADMIN = "admin"                          # administrateur

    @property
    def is_staff(self) -> bool:
        return self is not Role.TENANT

    @property
    def label(self) -> str:
        return str(_ROLE_LABELS[self])


_ROLE_LABELS = {
    Role.TENANT: _l("tenant"),
    Role.CARETAKER: _l("caretaker"),
    Role.TECHNICIAN: _l("technician"),
    Role.AGENT: _l("customer agent"),
    Role.MANAGER: _l("manager"),
    Role.COMMITTEE_MEMBER: _l("committee member"),
    Role.COMMITTEE_CHAIR: _l("committee chair"),
    Role.ADMIN: _l("administrator"),
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class User(UserMixin, db.Model):
    """A login: a tenant of the portal or a member of staff."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(db.Enum(Role, native_enum=False, length=32,
                                               values_callable=lambda e: [m.value for m in e]))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    session_version: Mapped[int] = mapped_column(default=1)
    locale: Mapped[str | None] = mapped_column(String(8))
    # One account per person at most (staff accounts have none).
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL"), unique=True)
    # The agency (agence) a customer agent or a manager works for. An agent sees their
    # agency's claims; an agent without one sees none until an administrator sets it.
    agency_id: Mapped[int | None] = mapped_column(
        ForeignKey("agency.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())

    person = relationship("Person")
    agency = relationship("Agency")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.active

    @property
    def is_staff(self) -> bool:
        return self.role.is_staff

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    def set_password(self, password: str) -> None:
        self.password_hash = _hasher.hash(password)

    def check_password(self, password: str) -> bool:
        if not self.password_hash:
            return False
        try:
            _hasher.verify(self.password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
        if _hasher.check_needs_rehash(self.password_hash):
            self.password_hash = _hasher.hash(password)
        return True

    def end_all_sessions(self) -> None:
        """Invalidate every session and remember-me cookie of this account."""
        self.session_version += 1

    @classmethod
    def by_email(cls, email: str) -> User | None:
        return db.session.scalar(select(cls).where(cls.email == normalise_email(email)))


class TokenPurpose(str, enum.Enum):
    """What a one-time token is for."""

    ACTIVATION = "activation"  # a tenant's code sent by mail (activation du compte)
    RESET = "reset"            # a password reset link
    INVITATION = "invitation"  # a staff member's first password, set from a link


class AccountToken(db.Model):
    """A one-time code or link: stored as a keyed hash, single use, with an expiry.

    Activation codes are short (people type them), so they also count failed attempts.
    """

    __tablename__ = "account_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[TokenPurpose] = mapped_column(db.Enum(
        TokenPurpose, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    failed_attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def usable(self, now: datetime) -> bool:
        return self.used_at is None and now < self.expires_at


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def dummy_password_check() -> None:
    """Spend the time of a real check, so that unknown e-mails cannot be told apart."""
    try:
        _hasher.verify(_DUMMY_HASH, "not the password")
    except VerificationError:
        pass


_DUMMY_HASH = _hasher.hash("palier-dummy-password")


@functools.cache
def _active_user_query():
    # Built once: this runs on every request of a logged-in user.
    return select(User).where(User.id == bindparam("user_id"),
                              User.session_version == bindparam("version"), User.active)


@login_manager.user_loader
def load_user(identifier: str) -> User | None:
    """The account behind a session, if that session is still valid (same session version)."""
    user_id, _, version = identifier.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    return db.session.execute(
        _active_user_query(), {"user_id": int(user_id), "version": int(version)}
    ).scalar_one_or_none()
