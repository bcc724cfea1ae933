"""Each service's migrations build exactly the tables its orm.py declares (a missing or stray column fails)."""
import importlib

import pytest

SERVICES = ("identity", "canteen", "childcare", "billing", "payment")


@pytest.mark.parametrize("service", SERVICES)
def test_the_migrated_schema_matches_the_tables(service, tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from espace_common.db import create_database_engine
    from espace_deploy.testing import migrated_sqlite
    metadata = importlib.import_module(f"{service}.orm").metadata
    engine = create_database_engine(f"sqlite:///{migrated_sqlite(service, tmp_path)}")
    try:
        with engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), metadata) == []
    finally:
        engine.dispose()
