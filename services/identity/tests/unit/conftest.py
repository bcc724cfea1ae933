"""Identity's use cases on a real SQLite file migrated once by Alembic; each test module brings its own clock."""
import pytest
from sqlalchemy import func, select

from espace_common.db import UnitOfWork, create_database_engine
from espace_deploy.testing import migrated_sqlite
from identity import orm


class IdentityDatabase:
    """What a use case needs of the service's database access: units of work on one SQLite file, and the clock."""

    def __init__(self, url, clock):
        self.engine = create_database_engine(url)
        self.clock = clock

    def unit_of_work(self, read_only=False):
        return UnitOfWork(self.engine, outbox=orm.outbox, processed=orm.processed_events, mail_outbox=orm.mail_outbox,
                          clock=self.clock, read_only=read_only)

    def count(self, table, *conditions):
        with self.engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(table).where(*conditions)).scalar()

    def rows(self, table, *conditions):
        with self.engine.connect() as connection:
            return connection.execute(select(table).where(*conditions)).all()

    def mails_to(self, recipient):
        with self.engine.connect() as connection:
            return connection.execute(select(orm.mail_outbox).where(orm.mail_outbox.c.recipient == recipient)
                                      .order_by(orm.mail_outbox.c.position)).all()

    def mails(self, subject_part=""):
        with self.engine.connect() as connection:
            return [r for r in connection.execute(select(orm.mail_outbox).order_by(orm.mail_outbox.c.position))
                    if subject_part in r.subject]


@pytest.fixture
def identity_database():
    """The class, for a test that migrates a file of its own."""
    return IdentityDatabase


@pytest.fixture(scope="session")
def migrated(tmp_path_factory):
    return migrated_sqlite("identity", tmp_path_factory.mktemp("identity-template"))


@pytest.fixture
def db(migrated, tmp_path, clock):
    import shutil
    path = tmp_path / "identity.sqlite"
    shutil.copy(migrated, path)
    database = IdentityDatabase(f"sqlite:///{path}", clock)
    yield database
    database.engine.dispose()
