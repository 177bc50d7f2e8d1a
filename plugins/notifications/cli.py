"""``palier worker`` and ``palier notify test``."""
from __future__ import annotations

import time
import uuid

import click
from flask import current_app
from flask.cli import with_appcontext

from core.extensions import db


@click.command("worker")
@click.option("--until-idle", is_flag=True,
              help="Stop when no message is due instead of waiting for more.")
@click.option("--batch-size", type=click.IntRange(1, 10000), default=None,
              help="Messages claimed at once (default: NOTIFICATIONS_BATCH_SIZE).")
@click.option("--name", default=None, help="Name of this worker in the delivery log.")
@with_appcontext
def worker_command(until_idle, batch_size, name):
    """Deliver the notifications outbox (run one per machine; several on PostgreSQL)."""
    from plugins.notifications.worker import Worker, WorkerBusy

    worker = Worker(current_app._get_current_object(), name=name, batch_size=batch_size)
    worker.install_signal_handlers()
    click.echo(f"Worker {worker.name} delivering notifications (Ctrl+C to stop).")
    try:
        handled = worker.run(until_idle=until_idle)
    except WorkerBusy as busy:
        raise click.ClickException(str(busy)) from None
    click.echo(f"Worker {worker.name} stopped after {handled} message(s).")


@click.group("notify")
def notify_cli():
    """Notifications: send a test message."""


@notify_cli.command("test")
@click.option("--channel", required=True, help="mail, letter, fax, sms, phone...")
@click.option("--to", "address", required=True,
              help="E-mail address, phone or fax number, or postal address (lines separated "
                   "by '|').")
@click.option("--locale", default=None, help="Language of the message (fr, en).")
@click.option("--timeout", type=float, default=60.0, show_default=True,
              help="Seconds to wait for the outcome.")
@with_appcontext
def notify_test(channel, address, locale, timeout):
    """Send a test message through the outbox, a worker and the channel; print the outcome."""
    from plugins.notifications.channels import registry
    from plugins.notifications.models import Message, Status
    from plugins.notifications.outbox import notify, typed_address
    from plugins.notifications.worker import Worker, WorkerBusy

    if channel not in registry():
        enabled = ", ".join(registry().enabled) or "none"
        raise click.ClickException(
            f"The {channel} channel is not switched on (switched on: {enabled}; see "
            "NOTIFICATIONS_CHANNELS).")
    messages = notify(None, "notifications.test", {"sent_by": "palier notify test"},
                      event=f"test:{uuid.uuid4().hex}", channel=channel,
                      address=typed_address(channel, address),
                      locale=locale or current_app.config["LANGUAGES"][0])
    db.session.flush()
    message_id = messages[0].id
    # Committed, and no transaction left open: on SQLite an open one would hold the write
    # lock the worker needs.
    db.session.commit()
    click.echo(f"Message {message_id} queued for {channel}.")
    deadline = time.monotonic() + timeout
    worker = Worker(current_app._get_current_object(), name="notify-test", poll_seconds=0.2)
    own_worker = True
    while time.monotonic() < deadline:
        if own_worker:
            try:
                worker.run(max_batches=1)
            except WorkerBusy:
                own_worker = False
                click.echo("A worker is running: waiting for it to deliver.")
        db.session.expire_all()
        message = db.session.get(Message, message_id)
        status, last_error = message.status, message.last_error
        db.session.rollback()
        if status not in (Status.QUEUED, Status.SENDING):
            break
        if last_error and own_worker:
            break  # a temporary failure: retried later, but the operator wants to know now
        time.sleep(0.2)
    message = db.session.get(Message, message_id)
    for event in message.events:
        click.echo(f"  {event.at:%Y-%m-%d %H:%M:%S}  {event.status:<9} {event.detail}")
    outcome = message.status.value
    if message.status in (Status.SENT, Status.DELIVERED):
        click.echo(f"Outcome: {outcome} ({message.provider_ref or 'no reference'}).")
        return
    reason = f": {message.last_error}" if message.last_error else ""
    raise click.ClickException(f"Outcome: {outcome}{reason}")


@notify_cli.command("print-batch")
@click.option("--day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Day of the batch, YYYY-MM-DD (default: today, in NOTIFICATIONS_TIMEZONE).")
@with_appcontext
def print_batch(day):
    """Close a day's letters and put them in one PDF to print: a cover sheet, then every
    letter. Letters sent afterwards go to the next day's batch. Safe to run again."""
    from core import audit
    from core.pdf import PdfError, warm_up
    from plugins.notifications.letters import assemble, letters_folder, local_today

    day = day.date() if day else local_today()
    warm_up()
    started = time.monotonic()
    try:
        batch = assemble(day)
    except PdfError as error:
        raise click.ClickException(f"The cover sheet could not be rendered: {error}") from None
    if batch is None:
        click.echo(f"No letter for {day.isoformat()}: nothing to print.")
        return
    audit.record("notifications.print_batch_assembled", obj=batch,
                 detail={"day": day.isoformat(), "letters": batch.letters, "pages": batch.pages})
    db.session.commit()
    click.echo(f"Print batch of {day.isoformat()}: {batch.letters} letter(s), {batch.pages} "
               f"page(s), in {time.monotonic() - started:.1f} s: "
               f"{letters_folder() / batch.filename}")
