"""Forms of the core pages (Flask-WTF: every one carries a CSRF token)."""
from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, Length, ValidationError


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
