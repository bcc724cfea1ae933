"""The card-payment routes beside the one-RPC floor, at 1, 10 and 50 clients (issue #10).

`python tests/bench/card_payment.py` starts the suite (with the Paybox sandbox) on its own; `--quick` measures one
client only. Two routes: a parent starting a card payment (billing's invoice, identity's payer, a transaction and
the signed form: three RPCs behind one) and Paybox's notification (an RSA signature checked, a transaction
updated). The notifications are refusals signed with the sandbox's key, so the invoices stay payable and each
repeat is the idempotent path Paybox's retries take.
"""
import sys
import tempfile
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import CHEAP_HASHES, LEVELS, PASSWORD, measure, print_beside_floor, scenarios  # noqa: E402

import requests  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from billing import orm as billing_orm  # noqa: E402
from espace_common.db import create_database_engine  # noqa: E402
from espace_common.rpc_client import RpcClient  # noqa: E402
from espace_deploy import paybox_sandbox  # noqa: E402
from espace_deploy.testing import start_suite, stop_suite  # noqa: E402

PAYING_FAMILIES = 40
SIGNED_NOTIFICATIONS = 200


def paying_families(suite, count=PAYING_FAMILIES):
    """Families with a parent's API token and one issued invoice each (written in billing's tables)."""
    local = threading.local()
    engine = create_database_engine(suite.database_urls["billing"])

    def family(index):
        if not hasattr(local, "client"):
            local.client = RpcClient(suite.vhost.amqp_uri, timeout=60, caller="bench")
        client = local.client
        made = client.call("identity", "register_family", {
            "request_id": f"bench-card-{index}",
            "representatives": [{"first_name": "Parent", "last_name": f"Carte{index}", "address": {
                "line1": "12 rue de la Gare", "line2": "", "postal_code": "44480", "city": "Donges"}}],
            "children": [{"first_name": "Enfant", "last_name": f"Carte{index}", "birth_date": "2018-01-01"}]})
        key = client.call("identity", "issue_key", made["representatives"][0]["id"])["key"]
        client.call("identity", "create_account", key, f"carte.{index}", f"carte{index}@example.org", PASSWORD)
        token = client.call("identity", "login", f"carte.{index}", PASSWORD, "127.0.0.1", "api")["token"]
        run_id, invoice_id, now = str(uuid.uuid4()), str(uuid.uuid4()), datetime.now(timezone.utc)
        with engine.begin() as db:
            db.execute(insert(billing_orm.invoicing_runs).values(id=run_id, regie="affaires_scolaires",
                                                                 month="2026-11", status="final", done=1, total=1,
                                                                 started_at=now))
            db.execute(insert(billing_orm.invoices).values(
                id=invoice_id, run_id=run_id, family_id=made["id"], regie="affaires_scolaires", period="2026-11",
                number=f"AS-2026-{index + 1:06d}", status="issued", total_cents=4215, paid_cents=0, credited_cents=0,
                balance_cents=4215, issued_on=date(2026, 12, 1), due_date=date(2026, 12, 31), created_at=now,
                finalized_at=now, direct_debit=False))
        return {"headers": {"Authorization": f"Bearer {token}"}, "invoice": invoice_id}

    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            return list(pool.map(family, range(count)))
    finally:
        engine.dispose()


def signed_refusals(suite, families, count=SIGNED_NOTIFICATIONS):
    """Notifications of refusals (00151) for payments started beforehand, signed as the sandbox signs them."""
    key = paybox_sandbox.SandboxSettings.from_environ({}).private_key
    queries = []
    for index in range(count):
        family = families[index % len(families)]
        form = requests.post(f"{suite.url}/api/v1/invoices/{family['invoice']}/card-payments",
                             headers=family["headers"], timeout=20).json()
        fields = dict(form["fields"])
        queries.append(paybox_sandbox.returned_query(fields["PBX_RETOUR"], {
            "M": str(int(fields["PBX_TOTAL"])), "R": fields["PBX_CMD"], "A": "", "E": "00151", "S": str(index),
            "T": str(index)}, key))
    return queries


def card_payment_scenarios(base, families, queries):
    def start(session, index):
        family = families[index % len(families)]
        response = session.post(f"{base}/api/v1/invoices/{family['invoice']}/card-payments",
                                headers=family["headers"], timeout=10)
        return 200 if response.status_code == 201 else response.status_code

    def notify(session, index):
        return session.get(f"{base}/api/v1/paybox/notifications?{queries[index % len(queries)]}",
                           timeout=10).status_code

    return {"POST /api/v1/invoices/{id}/card-payments (start a card payment)": start,
            "GET /api/v1/paybox/notifications (a signed notification)": notify}


def main(quick=False):
    levels = (1,) if quick else LEVELS
    with tempfile.TemporaryDirectory(prefix="espace-bench-card-") as var_dir:
        suite = start_suite(Path(var_dir), **CHEAP_HASHES)
        try:
            floor_name, floor_fn = next(iter(scenarios(suite.url).items()))
            results = {floor_name: {n: measure(floor_fn, n) for n in levels}}
            families = paying_families(suite)
            queries = signed_refusals(suite, families)
            for name, fn in card_payment_scenarios(suite.url, families, queries).items():
                results[name] = {n: measure(fn, n) for n in levels}
        finally:
            stop_suite(suite)
    print_beside_floor(results, floor_name)
    return 0


if __name__ == "__main__":
    sys.exit(main(quick="--quick" in sys.argv[1:]))
