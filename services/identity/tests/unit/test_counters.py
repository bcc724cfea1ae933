"""Identity's named counters (the dossier numbers) on SQLite and on PostgreSQL, where two replicas can race."""
import threading
import time
from datetime import datetime, timezone

import pytest

from espace_common.clock import FixedClock
from espace_common.launch import alembic_ini
from espace_common.migrations import upgrade
from identity import store


@pytest.fixture
def clock():
    return FixedClock(datetime(2026, 12, 2, 9, 30, tzinfo=timezone.utc))


def test_two_first_numbers_of_a_fresh_counter_taken_at_once_are_one_and_two(database_factory, identity_database,
                                                                              clock):
    """The first family of a fresh database registered by two replicas at once: the second waits for the first's
    row instead of failing on its primary key."""
    url = database_factory("identity")
    upgrade(alembic_ini("identity"), url)
    db = identity_database(url, clock)
    taken, first_holds = {}, threading.Event()

    def first():
        with db.unit_of_work() as uow:
            taken["first"] = store.next_counter(uow, "dossier")
            first_holds.set()
            time.sleep(0.5)  # the second takes its number meanwhile, and must wait for this commit
            uow.commit()

    def second():
        first_holds.wait(5)
        with db.unit_of_work() as uow:
            taken["second"] = store.next_counter(uow, "dossier")
            uow.commit()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)
    assert taken == {"first": 1, "second": 2}
    with db.unit_of_work() as uow:
        assert store.next_counter(uow, "dossier") == 3
    db.engine.dispose()
