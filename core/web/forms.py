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
    StringField,
)
from wtforms.validators import (
    DataRequired,
    Email,
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
