"""Alembic glue: each service's env.py calls run_migrations with its metadata."""
from alembic import context
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from .db import create_database_engine


def run_migrations(target_metadata, database_url):
    """Run the migrations Alembic asked for, online, batch mode on SQLite."""
    engine = create_database_engine(database_url)
    with engine.connect() as connection:
        is_sqlite = connection.dialect.name == "sqlite"
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=is_sqlite,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        if connection.in_transaction():
            connection.commit()
    engine.dispose()


def alembic_config(ini_path, database_url):
    config = Config(str(ini_path))
    config.set_main_option("sqlalchemy.url", database_url)
    config.attributes["database_url"] = database_url
    return config


def schema_is_current(ini_path, database_url):
    """True when the database is at the newest migration of the service."""
    script = ScriptDirectory.from_config(alembic_config(ini_path, database_url))
    engine = create_database_engine(database_url)
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_heads()
    finally:
        engine.dispose()
    return set(current) == set(script.get_heads())


def upgrade(ini_path, database_url):
    from alembic import command
    command.upgrade(alembic_config(ini_path, database_url), "head")


def database_url_for(alembic_cfg, package):
    """The URL given by the caller, else the service's config.yml (which honours DATABASE_URL)."""
    from .config import load_config
    from .launch import config_file

    given = alembic_cfg.attributes.get("database_url") or alembic_cfg.get_main_option("sqlalchemy.url")
    if given:
        return given
    __import__(package)
    return load_config(config_file(package))["DATABASE_URL"]
