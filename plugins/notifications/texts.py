"""Rendering message texts: the administrators' edited templates, else the kind's files, in a
sandboxed Jinja environment where an unknown variable is an error, never a silent blank.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

from flask import current_app
from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from sqlalchemy import select

from core.extensions import db
from plugins.notifications.kinds import (
    COMMON_VARIABLES,
    LONG_CHANNELS,
    LONG_VARIABLES,
    MessageKind,
)
from plugins.notifications.models import TemplateText


class TemplateProblem(ValueError):
    """A template that cannot be rendered; the message says where and why."""


@dataclass(frozen=True)
class Text:
    subject: str
    body: str


_env = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False,
                                     keep_trailing_newline=False)


@functools.lru_cache(maxsize=512)
def _compile(source: str):
    return _env.from_string(source)


def split_subject(source: str) -> tuple[str, str]:
    """A template file's ``Subject:`` first line, and its body."""
    first, _, rest = source.partition("\n")
    if first.lower().startswith("subject:"):
        return first.split(":", 1)[1].strip(), rest.lstrip("\n")
    return "", source


def edited_texts() -> dict[tuple[str, str, str], tuple[str, str]]:
    """Every text administrators edited, by (kind, channel, locale): a worker reads them once
    per batch instead of once per message."""
    return {(row.kind, row.channel, row.locale): (row.subject, row.body)
            for row in db.session.execute(select(
                TemplateText.kind, TemplateText.channel, TemplateText.locale,
                TemplateText.subject, TemplateText.body))}


@functools.lru_cache(maxsize=256)
def _read_file(path: str, _mtime_ns: int) -> tuple[str, str]:
    with open(path, encoding="utf-8") as text:
        return split_subject(text.read())


def source_of(kind: MessageKind, channel: str, locale: str,
              edited: dict | None = None) -> tuple[str, str]:
    """The (subject, body) template sources in force: an edited one, else the kind's file.

    ``edited`` is :func:`edited_texts` read beforehand; without it the database is asked."""
    if edited is None:
        found = db.session.execute(
            select(TemplateText.subject, TemplateText.body).where(
                TemplateText.kind == kind.name, TemplateText.channel == channel,
                TemplateText.locale == locale)).first()
    else:
        found = edited.get((kind.name, channel, locale))
    if found is not None:
        return found[0], found[1]
    path = kind.template_file(channel, locale)
    if path is None:
        fallback = current_app.config["LANGUAGES"][0]
        path = kind.template_file(channel, fallback) if fallback != locale else None
    if path is None:
        raise TemplateProblem(f"{kind.name}: no text for the {channel} channel in {locale}.")
    return _read_file(str(path), path.stat().st_mtime_ns)


def allowed_context(kind: MessageKind, channel: str, context: dict) -> dict:
    """What a template of this channel may see: short texts only the common variables."""
    allowed = set(COMMON_VARIABLES)
    if channel in LONG_CHANNELS:
        allowed |= set(LONG_VARIABLES) | set(kind.variables)
    values = {"landlord": current_app.config["LANDLORD_NAME"], "link": ""}
    values.update({k: v for k, v in context.items() if k in allowed})
    return values


def render_source(subject: str, body: str, context: dict) -> Text:
    try:
        return Text(_compile(subject).render(context).strip(),
                    _compile(body).render(context).strip() + "\n")
    except TemplateError as error:
        raise TemplateProblem(str(error)) from error


def render(kind: MessageKind, channel: str, locale: str, context: dict,
           edited: dict | None = None) -> Text:
    """Render the kind's text for a channel and a language with the message's context."""
    subject, body = source_of(kind, channel, locale, edited)
    return render_source(subject, body, allowed_context(kind, channel, context))
