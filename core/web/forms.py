"""Forms of the core pages (Flask-WTF: every one carries a CSRF token)."""
from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    EqualTo,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[
        DataRequired(_l("Enter your e-mail address.")),
        Email(_l("Enter a valid e-mail address, for example nom@exemple.fr.")),
        Length(max=254)])
    password = PasswordField(_l("Password"), validators=[
        DataRequired(_l("Enter your password.")), Length(max=1024)])
    remember = BooleanField(_l("Stay logged in on this device"))
    next = HiddenField()


class LanguageForm(FlaskForm):
    lang = StringField(_l("Language"), validators=[DataRequired()])
    next = HiddenField()

    def validate_lang(self, field):
        if field.data not in current_app.config["LANGUAGES"]:
            raise ValidationError(_l("This language is not available."))


class LogoutForm(FlaskForm):
    """An empty form: logging out is a POST with a CSRF token."""


MIN_PASSWORD_LENGTH = 12


def strong_password(form, field):
    """At least 12 characters, and not the e-mail address: a sentence of a few words works."""
    password = field.data or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(_l("Choose a password of at least 12 characters (a short sentence "
                                 "of a few words is easy to remember)."))
    email = (getattr(form, "email", None) and form.email.data) or ""
    if email and password.strip().lower() == email.strip().lower():
        raise ValidationError(_l("Your password must not be your e-mail address."))


class NewPasswordMixin:
    password = PasswordField(_l("New password"), validators=[
        DataRequired(_l("Choose a password.")), Length(max=1024), strong_password])
    confirm = PasswordField(_l("Type the new password again"), validators=[
        DataRequired(_l("Type the new password again.")),
        EqualTo("password", _l("The two passwords are different."))])


class ActivationForm(FlaskForm):
    """A tenant proves who they are with what their lease says."""

    lease_reference = StringField(_l("Lease reference"), validators=[
        DataRequired(_l("Enter the reference of your lease (on your rent notice).")),
        Length(max=40)])
    postcode = StringField(_l("Postcode of your home"), validators=[
        DataRequired(_l("Enter the postcode of your home.")),
        Regexp(r"^\s*\d{5}\s*$", message=_l("A postcode has five digits, for example 11000."))])
    email = EmailField(_l("E-mail address"), validators=[
        DataRequired(_l("Enter your e-mail address.")),
        Email(_l("Enter a valid e-mail address, for example nom@exemple.fr.")),
        Length(max=254)])


class ActivationCodeForm(NewPasswordMixin, FlaskForm):
    code = StringField(_l("Code received by e-mail"), validators=[
        DataRequired(_l("Enter the code you received by e-mail.")),
        Regexp(r"^\s*\d{6}\s*$", message=_l("The code has six digits."))])


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[
        DataRequired(_l("Enter your e-mail address.")),
        Email(_l("Enter a valid e-mail address, for example nom@exemple.fr.")),
        Length(max=254)])


class ResetPasswordForm(NewPasswordMixin, FlaskForm):
    """Choose a new password from a reset or invitation link."""


class ChangePasswordForm(NewPasswordMixin, FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[
        DataRequired(_l("Enter your current password.")), Length(max=1024)])


def _optional_int(value):
    if value in (None, "", "None"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1  # not a choice: refused by validate_choice


def agency_choices() -> list:
    """The agencies as select choices, after "none (the whole landlord)"."""
    from sqlalchemy import select

    from core.estate import Agency
    from core.extensions import db

    return [SelectChoice(None, _l("None: the whole landlord")),
            *(SelectChoice(agency.id, agency.name) for agency in
              db.session.scalars(select(Agency).order_by(Agency.name)))]


class StaffAgencyForm(FlaskForm):
    """Change the agency of a staff account."""

    agency = SelectField(_l("Agency"), coerce=_optional_int, validate_choice=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.agency.choices = agency_choices()


class StaffAccountForm(FlaskForm):
    """An administrator creates a staff account; its owner chooses the password."""

    display_name = StringField(_l("Full name"), validators=[
        DataRequired(_l("Enter the person's name.")), Length(max=200)])
    email = EmailField(_l("E-mail address"), validators=[
        DataRequired(_l("Enter the e-mail address.")),
        Email(_l("Enter a valid e-mail address, for example nom@exemple.fr.")),
        Length(max=254)])
    role = SelectField(_l("Role"), validators=[DataRequired()])
    agency = SelectField(_l("Agency"), coerce=_optional_int, validate_choice=True,
                         description=_l("Agents attached to an agency see its files only; "
                                        "without an agency they work for the whole landlord."))

    def __init__(self, *args, may_create_admins: bool = False, **kwargs):
        from core.accounts import Role

        super().__init__(*args, **kwargs)
        self.agency.choices = agency_choices()
        # Only an administrator makes another administrator.
        self.role.choices = [SelectChoice(role.value, role.label) for role in Role
                             if role.is_staff and (may_create_admins or role is not Role.ADMIN)]


class EmptyForm(FlaskForm):
    """A button that changes something: a POST with its CSRF token."""


class SearchForm(FlaskForm):
    """Base of the search forms: read from the query string (GET), no CSRF token needed."""

    class Meta:
        csrf = False


class PeopleSearchForm(SearchForm):
    q = StringField(_l("Name or lease reference"), validators=[
        DataRequired(_l("Enter a name or a lease reference.")),
        Length(min=2, max=120, message=_l("Enter from 2 to 120 characters."))])


class AuditSearchForm(SearchForm):
    actor = StringField(_l("Actor (e-mail address)"), validators=[Optional(), Length(max=254)])
    action = StringField(_l("Action"), validators=[Optional(), Length(max=40)])
    object_type = StringField(_l("Object type"), validators=[Optional(), Length(max=60)])
    object_id = StringField(_l("Object number"), validators=[Optional(), Length(max=64)])
    person = StringField(_l("Person number"), validators=[
        Optional(), Regexp(r"^\s*[1-9][0-9]{0,9}\s*$",
                           message=_l("Enter a person number, for example 42."))])
    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("To"), validators=[Optional()])
    page = IntegerField(_l("Page"), default=1, validators=[
        Optional(), NumberRange(min=1, max=100000, message=_l("This page does not exist."))])

    def validate_end(self, field):
        if field.data and self.start.data and field.data < self.start.data:
            raise ValidationError(_l("The end date must not come before the start date."))


class EraseForm(FlaskForm):
    """Erasing a person cannot be undone: the administrator types the person's name."""

    confirm = StringField(_l("Type the person's name to confirm"), validators=[
        DataRequired(_l("Type the person's name to confirm.")), Length(max=260)])
