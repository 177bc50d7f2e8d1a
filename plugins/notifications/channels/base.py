"""What every channel is: a typed class with a name, a configuration schema and ``deliver``.

Plugins add channels through the ``register_notification_channels`` hook (the voice plugin adds
``voice``). A channel does not touch the message rows: the worker hands it a :class:`Outgoing`
(already rendered) and records what ``deliver`` returns or raises. The one exception is the
letter channel, which attaches a stored letter to its print batch in a short transaction of
its own, so that a letter is in exactly one batch.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from core.config import ConfigError, Setting


class DeliveryError(Exception):
    """A delivery that did not happen; the message explains why, for staff."""


class TemporaryFailure(DeliveryError):
    """Worth trying again later (a 5xx, a timeout, a 429): the worker backs off.

    ``retry_after`` (seconds) is the provider's own ``Retry-After``; the worker honours it.
    """

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class PermanentFailure(DeliveryError):
    """Will never work as it stands (a 4xx, an invalid number, an opt-out): not retried; the
    message becomes a dead letter at once and its fallback channel is queued."""


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    media_type: str


@dataclass
class Outgoing:
    """A message ready to leave: the outbox row's data, its texts rendered."""

    id: int
    idempotency_key: str
    kind: str
    channel: str
    address: str
    recipient_name: str
    locale: str
    subject: str
    text: str
    urgent: bool = False
    context: dict = field(default_factory=dict)
    attachments: list[Attachment] = field(default_factory=list)


@dataclass(frozen=True)
class Accepted:
    """What a channel answers when the message left: the provider's reference, and whether
    the channel already knows it reached the person (``delivered``)."""

    provider_ref: str | None = None
    detail: str = ""
    delivered: bool = False


class Channel:
    """Base class of channels.

    Subclasses set ``name`` (unique), ``label`` (shown to people), ``address_kind`` (which of
    a person's contacts it needs: ``email``, ``phone``, ``postal`` or ``fax``), ``quiet_hours``
    (no sending at night unless urgent: SMS and calls), ``short_text`` (the template may only
    use the variables safe for an SMS or a voice message: a notice and a link), and
    ``settings``: its configuration schema, checked at start-up by :meth:`check_config`.
    """

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""
    address_kind: ClassVar[str] = "email"
    quiet_hours: ClassVar[bool] = False
    short_text: ClassVar[bool] = False
    settings: ClassVar[tuple[Setting, ...]] = ()

    def __init__(self, config: dict):
        self.config = config

    @classmethod
    def check_config(cls, config: dict) -> None:
        """Raise :class:`core.config.ConfigError` with what to fix when the configuration
        cannot work. The default checks that declared settings exist."""
        for setting in cls.settings:
            if setting.name not in config:
                raise ConfigError(f"{cls.name}: setting {setting.name} is missing.")

    def address_of(self, person, contacts: dict) -> str | None:
        """The address this channel uses for ``person``, from ``contacts`` (``email``,
        ``phone``, ``postal``, ``fax``), or None when the person has none."""
        return contacts.get(self.address_kind) or None

    def deliver(self, outgoing: Outgoing) -> Accepted:
        """Send one message. Return :class:`Accepted`; raise :class:`TemporaryFailure` or
        :class:`PermanentFailure`. Must be safe to call again with the same message after a
        crash: pass ``outgoing.idempotency_key`` to the provider when it takes one."""
        raise NotImplementedError

    def close(self) -> None:
        """Release connections kept between deliveries (the worker calls it when idle)."""
