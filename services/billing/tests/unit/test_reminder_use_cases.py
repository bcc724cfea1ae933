"""What identity's reminders ask billing (issue #12): the issued, unpaid invoices falling due, on migrated SQLite."""
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import insert

from billing import orm
from billing.reminder_use_cases import invoices_falling_due
from espace_common.clock import FixedClock
from espace_common.errors import InvalidInput
from espace_deploy.testing import SqliteUnits, migrated_sqlite

NOW = datetime(2026, 12, 2, 9, 30, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    return migrated_sqlite("billing", tmp_path_factory.mktemp("billing-reminders"))


@pytest.fixture
def units(migrated, tmp_path):
    units = SqliteUnits(migrated, tmp_path / "billing.sqlite", orm.metadata, FixedClock(NOW))
    yield units
    units.dispose()


def invoice(number, status, due, paid=0, total=4980, direct_debit=False, family=None, period="2026-11"):
    return {"id": f"inv-{number}", "run_id": "run-1", "family_id": family or f"fam-{number}", "regie": "affaires_scolaires",
            "period": period, "number": f"AS-2026-{number:06d}", "status": status, "total_cents": total,
            "paid_cents": paid, "credited_cents": 0, "balance_cents": total - paid, "issued_on": date(2026, 12, 1),
            "due_date": date.fromisoformat(due), "created_at": NOW, "direct_debit": direct_debit}


@pytest.fixture
def invoices(units):
    with units() as uow:
        uow.execute(insert(orm.invoicing_runs).values(id="run-1", regie="affaires_scolaires", month="2026-11",
                                                      status="final", started_at=NOW))
        uow.execute(insert(orm.invoices), [
            invoice(1, "issued", "2026-12-05"),
            invoice(2, "partially_paid", "2026-12-07", paid=1000, family="fam-2"),
            invoice(3, "paid", "2026-12-05", paid=4980),
            invoice(4, "issued", "2026-12-05", direct_debit=True),
            invoice(5, "issued", "2026-12-08"),  # beyond the window
            invoice(6, "issued", "2026-12-01", period="2026-10"),  # already overdue
            {**invoice(7, "draft", "2026-12-05"), "number": None},
            invoice(8, "cancelled", "2026-12-05", period="2026-09"),
        ])
        uow.commit()


def test_only_issued_unpaid_invoices_not_debited_falling_due_in_the_window(units, invoices):
    found = invoices_falling_due(units, "2026-12-02", "2026-12-07")
    assert [i["number"] for i in found] == ["AS-2026-000001", "AS-2026-000002"]
    assert found[1] == {"invoice_id": "inv-2", "family_id": "fam-2", "regie": "affaires_scolaires",
                        "number": "AS-2026-000002", "period": "2026-11", "due_date": "2026-12-07",
                        "balance_cents": 3980}


@pytest.mark.parametrize("window", [("2026-12-07", "2026-12-02"), ("2026-12-02", "2027-03-01"), ("hier", "demain"),
                                    (None, "2026-12-02"), ("x" * 100_000, "2026-12-02")])
def test_a_bad_window_is_refused(units, window):
    with pytest.raises(InvalidInput):
        invoices_falling_due(units, *window)
