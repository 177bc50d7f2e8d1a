"""The staff form that posts a notice (Flask-WTF: it carries a CSRF token)."""
from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from core.estate import Residence
from core.extensions import db
from palier_noticeboard.models import TEXT_MAX_LENGTH, TITLE_MAX_LENGTH

# The browser's date picker sends ISO dates; someone typing by hand writes French dates.
DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]
INVALID_DATE = _l("Enter a real date, for example 14/03/2026.")


def _residence_id(value):
    """The select's value as a residence id; the empty placeholder means "none chosen"."""
    return int(value) if value not in (None, "") else None


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class NoticeForm(FlaskForm):
    residence = SelectField(
        _l("Residence"), coerce=_residence_id,
        validators=[InputRequired(_l("Choose the residence whose tenants will see the notice."))],
        invalid_value_message=_l("Choose a residence from the list."),
        invalid_choice_message=_l("Choose a residence from the list."))
    title = StringField(_l("Title"), filters=[_strip],
                        render_kw={"maxlength": TITLE_MAX_LENGTH}, validators=[
        DataRequired(_l("Enter a title, for example “Water cut on Tuesday”.")),
        Length(max=TITLE_MAX_LENGTH,
               message=_l("The title may have at most %(max)d characters."))])
    body = TextAreaField(_l("Text of the notice"), filters=[_strip],
                         render_kw={"maxlength": TEXT_MAX_LENGTH, "rows": 5}, validators=[
        DataRequired(_l("Enter the text tenants will read.")),
        Length(max=TEXT_MAX_LENGTH,
               message=_l("The text may have at most %(max)d characters."))])
    starts_on = DateField(
        _l("Shown from"), format=DATE_FORMATS, default=date.today,
        validators=[InputRequired(_l("Enter the first day the notice is shown."))],
        invalid_value_message=INVALID_DATE)
    ends_on = DateField(
        _l("Shown until (optional)"), format=DATE_FORMATS, validators=[Optional()],
        invalid_value_message=INVALID_DATE)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        residences = db.session.execute(
            select(Residence.id, Residence.name, Residence.city).order_by(Residence.name))
        self.residence.choices = [SelectChoice("", _l("Choose a residence"))] + [
            SelectChoice(str(id_), f"{name} — {city}") for id_, name, city in residences]

    def validate_ends_on(self, field):
        if field.data and self.starts_on.data and field.data < self.starts_on.data:
            raise ValidationError(_l("The last day cannot come before the first day."))
