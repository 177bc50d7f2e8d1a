"""Alembic environment of Palier: one database, one branch for the core and one per plugin."""
import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

config = context.config
if config.config_file_name and not logging.getLogger().handlers:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
log = logging.getLogger("alembic.env")

target_db = current_app.extensions["migrate"].db
# Set by `palier db revision --plugin NAME`: autogenerate compares only that plugin's tables
# (or, for "core", the tables of no plugin).
owner = config.get_main_option("palier_owner") or ""
plugin_prefixes = tuple(
    p + "_" for p in (config.get_main_option("palier_plugins") or "").split(",") if p
)


def include_object(obj, name, type_, reflected, compare_to):
    if type_ != "table" or not owner:
        return True
    if owner == "core":
        return not name.startswith(plugin_prefixes) and name != "alembic_version"
    return name.startswith(owner + "_")


def process_revision_directives(ctx, revision, directives):
    # No empty revision when autogenerate finds nothing to do.
    if getattr(config.cmd_opts, "autogenerate", False):
        script = directives[0]
        if script.upgrade_ops.is_empty():
            directives[:] = []
            log.info("No changes in schema detected.")


def run_migrations_online():
    conf_args = dict(current_app.extensions["migrate"].configure_args)
    conf_args.setdefault("process_revision_directives", process_revision_directives)
    with target_db.engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_db.metadata,
                          include_object=include_object, **conf_args)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("Offline migrations are not supported: run them against a database.")
run_migrations_online()
