"""The Alembic environment every service's migrations run in (Flask-Migrate, online and
offline). Logging is left as the process set it up: no fileConfig from alembic.ini."""
import logging

from alembic import context
from flask import current_app

log = logging.getLogger("alembic.env")


def _skip_empty_autogenerate(config):
    def process(_context, _revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            log.info("No changes in schema detected.")
    return process


def run() -> None:
    config = context.config
    migrate = current_app.extensions["migrate"]
    engine, metadata = migrate.db.engine, migrate.db.metadata
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(
        hide_password=False).replace("%", "%%"))
    if context.is_offline_mode():
        context.configure(url=config.get_main_option("sqlalchemy.url"),
                          target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    options = dict(migrate.configure_args)
    options.setdefault("process_revision_directives", _skip_empty_autogenerate(config))
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata, **options)
        with context.begin_transaction():
            context.run_migrations()
