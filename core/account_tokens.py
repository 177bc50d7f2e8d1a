"""One-time codes and links for accounts: activation codes, password resets, invitations.

Secrets are never stored: only a keyed hash (HMAC-SHA-256 with the app's secret key), so a copy
of the database alone cannot be used to activate or reset anything. Every token is single use
and expires; a short activation code also dies after a few wrong attempts. Links are built from
``PUBLIC_URL``, never from the Host header of the request that asked for them.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update

from core.accounts import AccountToken, TokenPurpose, User, utcnow
from core.extensions import db

ACTIVATION_CODE_TTL = timedelta(minutes=30)
RESET_LINK_TTL = timedelta(hours=1)
INVITATION_LINK_TTL = timedelta(days=7)
MAX_CODE_ATTEMPTS = 5
CODE_DIGITS = 6


def _digest(secret: str) -> str:
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, secret.encode(), hashlib.sha256).hexdigest()


def issue_activation_code(person_id: int, email: str) -> tuple[AccountToken, str, str]:
    """A six-digit code for a tenant to prove they read ``email``'s mailbox.

    Returns the token, the code (for the mail) and a nonce the browser keeps in its session:
    the code is short, so the stored hash covers the nonce too, which makes it unique and
    useless to anyone without that browser's session.
    """
    code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
    nonce = secrets.token_hex(16)
    token = AccountToken(purpose=TokenPurpose.ACTIVATION, token_hash=_digest(f"{nonce}:{code}"),
                         email=email, person_id=person_id,
                         expires_at=utcnow() + ACTIVATION_CODE_TTL)
    db.session.add(token)
    return token, code, nonce


def issue_link_token(purpose: TokenPurpose, user: User) -> tuple[AccountToken, str]:
    """A single-use secret for a password link (reset or invitation)."""
    secret = secrets.token_urlsafe(32)  # 256 bits
    ttl = INVITATION_LINK_TTL if purpose is TokenPurpose.INVITATION else RESET_LINK_TTL
    token = AccountToken(purpose=purpose, token_hash=_digest(secret), email=user.email,
                         user_id=user.id, expires_at=utcnow() + ttl)
    db.session.add(token)
    return token, secret


def find_link_token(secret: str, now: datetime | None = None) -> AccountToken | None:
    """The usable reset or invitation token behind a link's secret, if any."""
    if not secret or len(secret) < 32 or len(secret) > 100:
        return None
    token = db.session.scalar(select(AccountToken).where(
        AccountToken.token_hash == _digest(secret),
        AccountToken.purpose.in_([TokenPurpose.RESET, TokenPurpose.INVITATION])))
    if token is None or not token.usable(now or utcnow()):
        return None
    return token


def check_activation_code(token: AccountToken, nonce: str, code: str,
                          now: datetime | None = None) -> bool:
    """Whether ``code`` is right; a wrong one counts, and too many kill the token."""
    if not token.usable(now or utcnow()) or token.failed_attempts >= MAX_CODE_ATTEMPTS:
        return False
    expected = token.token_hash
    if hmac.compare_digest(expected, _digest(f"{nonce}:{(code or '').strip()}")):
        return True
    # Counted in SQL: parallel wrong guesses all count.
    db.session.execute(update(AccountToken).where(AccountToken.id == token.id).values(
        failed_attempts=AccountToken.failed_attempts + 1))
    return False


def claim(token: AccountToken) -> bool:
    """Use a token, once: of two requests presenting it at the same time, one wins."""
    now = utcnow()
    won = db.session.execute(
        update(AccountToken)
        .where(AccountToken.id == token.id, AccountToken.used_at.is_(None),
               AccountToken.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)).rowcount
    return won == 1


def revoke_links(user_id: int) -> None:
    """End every unused reset or invitation link of an account (its password changed, or the
    account was disabled)."""
    db.session.execute(
        update(AccountToken)
        .where(AccountToken.user_id == user_id, AccountToken.used_at.is_(None),
               AccountToken.purpose.in_([TokenPurpose.RESET, TokenPurpose.INVITATION]))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False))


def public_url(endpoint: str, **values) -> str:
    """An absolute link for people outside the app (mail, SMS, letters), from PUBLIC_URL."""
    path = current_app.url_map.bind("").build(endpoint, values)
    return current_app.config["PUBLIC_URL"].rstrip("/") + path
