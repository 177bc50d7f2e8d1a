"""Staff accounts (comptes agents): created by an administrator, never by self-service."""
from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core.account_tokens import issue_link_token, public_url, revoke_links
from core.accounts import Role, TokenPurpose, User, normalise_email
from core.extensions import db
from core.mail import MailNotSent, send_mail


class AccountError(ValueError):
    """A request about an account that cannot be carried out, said in the user's language."""


def _check_agency(agency_id: int | None) -> int | None:
    from core.estate import Agency

    if agency_id in (None, "", 0):
        return None
    if db.session.get(Agency, int(agency_id)) is None:
        raise AccountError(_("This agency does not exist."))
    return int(agency_id)


def create_staff_account(email: str, display_name: str, role: Role,
                         password: str | None = None,
                         agency_id: int | None = None) -> tuple[User, str | None, bool]:
    """Create a staff account (committed); without a password, an invitation link is mailed.

    ``agency_id``: the agency (agence) the person works for; an agent without one works for
    the whole landlord (a customer relation centre) and sees every agency's files.

    Returns the account, the invitation link (None when a password was given) and whether the
    invitation went out: when the relay fails, the caller hands the link over another way.
    """
    email = normalise_email(email)
    if role is Role.TENANT:
        raise AccountError(_("Tenants create their own account from their lease reference."))
    if User.by_email(email) is not None:
        raise AccountError(_("This e-mail address is already used by another account."))
    user = User(email=email, display_name=display_name.strip() or email, role=role,
                agency_id=_check_agency(agency_id))
    if password:
        user.set_password(password)
    db.session.add(user)
    db.session.flush()
    if password:
        db.session.commit()
        return user, None, False
    _token, secret = issue_link_token(TokenPurpose.INVITATION, user)
    db.session.commit()
    link = public_url("account.reset_password", secret=secret)
    try:
        send_mail(email, _l("Your account on %(landlord)s's platform",
                            landlord=current_app.config["LANDLORD_NAME"]),
                  "invitation", name=user.display_name, role=role.label, url=link)
    except MailNotSent:
        return user, link, False
    return user, link, True


def set_agency(user: User, agency_id: int | None) -> None:
    """Attach a staff account to an agency, or to none (the whole landlord). Not committed.

    The account's sessions go on: what it may see is asked again at each request.
    """
    if user.role is Role.TENANT:
        raise AccountError(_("Tenants do not belong to an agency."))
    user.agency_id = _check_agency(agency_id)


def set_active(user: User, active: bool) -> None:
    """Enable or disable an account; disabling ends its sessions at their next request."""
    user.active = active
    if not active:
        user.end_all_sessions()
        revoke_links(user.id)
