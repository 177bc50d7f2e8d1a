"""Forms of the notifications pages (Flask-WTF: every one carries a CSRF token)."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, RadioField, SelectChoice
from wtforms.validators import InputRequired, NumberRange, ValidationError
from wtforms.widgets import HiddenInput

from plugins.notifications.preferences import NO_PREFERENCE, KindChoice


class PreferencesBase(FlaskForm):
    """The accessibility needs; one radio group per kind of message is added by
    :func:`preferences_form`."""

    no_smartphone = BooleanField(_l("I have no smartphone"))
    visual_impairment = BooleanField(_l("I am visually impaired"))


class _AllowedChannel:
    """Only a channel offered for this kind (or no preference) is accepted."""

    def __init__(self, choice: KindChoice):
        self.allowed = choice.allowed | {NO_PREFERENCE}
        self.label = str(choice.kind.label)

    def __call__(self, form, field):
        if field.data not in self.allowed:
            raise ValidationError(_(
                "This way of contacting you cannot be chosen for “%(kind)s”: choose one of "
                "those shown.", kind=self.label))


def preferences_form(choices: list[KindChoice], **kwargs) -> PreferencesBase:
    """A form for these kinds: one radio field per kind, named after it, the saved choice
    selected (a field missing from the submitted data keeps it)."""

    class PreferencesForm(PreferencesBase):
        pass

    for choice in choices:
        options = [SelectChoice(NO_PREFERENCE, _("No preference"))] + [
            SelectChoice(option.name, option.label) for option in choice.options]
        setattr(PreferencesForm, choice.field_name, RadioField(
            str(choice.kind.label), choices=options, default=choice.chosen,
            validate_choice=False, validators=[_AllowedChannel(choice)]))
    return PreferencesForm(**kwargs)


OUTCOMES = ("reached", "message_left", "no_answer", "wrong_number")


class CallOutcomeForm(FlaskForm):
    """What happened when an agent called. ``attempt`` is the call as the agent saw it on
    the list: an outcome for a call someone else already recorded is refused."""

    outcome = RadioField(_l("What happened?"), choices=[
        SelectChoice("reached", _l("Reached: the person got the message")),
        SelectChoice("message_left", _l("Message left on the answering machine")),
        SelectChoice("no_answer", _l("No answer: try again later")),
        SelectChoice("wrong_number", _l("Wrong number")),
    ], validate_choice=False, validators=[InputRequired(_l("Choose what happened."))])
    attempt = IntegerField(widget=HiddenInput(), validators=[
        InputRequired(), NumberRange(min=0)])

    def validate_outcome(self, field):
        if field.data not in OUTCOMES:
            raise ValidationError(_("Choose one of the outcomes shown."))
