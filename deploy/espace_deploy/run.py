"""`make run`: the whole suite on this machine with demo data; Ctrl-C stops everything."""
import os
import secrets
import signal
import sys
import time
from pathlib import Path

from cryptography.fernet import Fernet

from espace_common.config import ConfigError
from espace_common.rpc_client import RpcClient

from .broker import ensure_broker
from .demo import (
    agent_credentials, demo_keys, ensure_admin_agent, load_billing_demo, load_canteen_demo, load_childcare_demo,
    load_demo_data, wait_for_projection,
)
from .suite import ROOT, SERVICES, RestartPolicy, Suite, sqlite_urls

DEFAULT_AMQP_URI = "amqp://guest:guest@localhost:5672/"


def local_secret(var_dir, name, make):
    """A secret kept under var/, so that a restart neither logs everybody out nor loses the key letters."""
    path = var_dir / name
    if not path.exists():
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


def main():
    started = time.monotonic()
    var_dir = ROOT / "var"
    var_dir.mkdir(exist_ok=True)
    amqp_uri = os.environ.get("AMQP_URI", DEFAULT_AMQP_URI)
    port = int(os.environ.get("PORT", "8000"))
    try:
        ensure_broker(amqp_uri)
    except ConfigError as exc:
        print(f"Cannot start: {exc}", file=sys.stderr)
        return 2
    suite = Suite(var_dir, amqp_uri, sqlite_urls(var_dir), port=port, env={
        "LOCAL_RUN": "true",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or local_secret(var_dir, "secret_key", lambda: secrets.token_hex(32)),
        "LETTER_SECRET": os.environ.get("LETTER_SECRET") or local_secret(
            var_dir, "letter_secret", lambda: Fernet.generate_key().decode()),
        "PUBLIC_URL": os.environ.get("PUBLIC_URL") or f"http://localhost:{port}",
        "SMTP_URL": os.environ.get("SMTP_URL") or f"file:{var_dir / 'mail'}",
        "MAIL_OUTBOX_DIR": str(var_dir / "mail"),
        # The invoices' PDFs and paper batches (in production, a volume every billing replica mounts).
        "BILLING_FILES_DIR": os.environ.get("BILLING_FILES_DIR") or str(var_dir / "billing-files"),
        # The document wallet's files (issue #12; in production, a volume every identity replica mounts).
        "IDENTITY_FILES_DIR": os.environ.get("IDENTITY_FILES_DIR") or str(var_dir / "identity-files"),
    })

    def stop(signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        print("Applying migrations…", flush=True)
        suite.migrate()
        suite.declare_topology()
        print("Starting the services and the gateway…", flush=True)
        start_with_metrics(suite)
        suite.wait_ready(timeout=90)
        client = RpcClient(amqp_uri, timeout=30, caller="demo")
        families = load_demo_data(client)
        ensure_admin_agent(client)
        wait_for_projection(client, families)
        load_canteen_demo(client, families)
        load_childcare_demo(client, families)
        load_billing_demo(client, families)
        keys = demo_keys(client, families, var_dir / "demo_keys.json")
        client.close()
        username, password = agent_credentials()
        print(f"\nEspace Famille is running at http://localhost:{port}/ (ready in {time.monotonic() - started:.0f} s)")
        print(f"  Agent (all rights): {username} / {password}")
        for family in families:
            names = ", ".join(f"{r['first_name']} {r['last_name']}" for r in family["representatives"])
            print(f"  Demo family, dossier {family['dossier']}: {names}")
        print("  Demo keys (create a parent's space at /creer-mon-espace):")
        for name, key in keys:
            print(f"    {name:20} {key or 'space already created'}")
        if suite.paybox_is_local():
            print(f"  Paybox sandbox: {suite.sandbox_url}/ (card 1111 2222 3333 4444 accepted, "
                  "1111 2222 3333 4441 refused with 00151)")
        print(f"  Mails sent by the suite: http://localhost:{port}/dev/courriels (files in {var_dir / 'mail'})")
        if os.environ.get("METRICS_PORTS") != "off":
            print(f"  Metrics: http://localhost:{port}/metrics, and the services' at http://localhost:"
                  f"{METRICS_FIRST_PORT}..{METRICS_FIRST_PORT + len(SERVICES) - 1}/metrics")
        print(f"  Logs: {var_dir / 'log'}   Stop: Ctrl-C\n", flush=True)
        # A process that dies is started again with a growing delay, as an orchestrator would:
        # the rest of the suite keeps serving (the gateway answers 503 for what is missing).
        policy = RestartPolicy()
        while True:
            suite.restart_exited(policy, report=lambda line: print(
                f"{time.strftime('%H:%M:%S')} {line}", file=sys.stderr, flush=True))
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nStopping…", flush=True)
        return 0
    except (RuntimeError, TimeoutError, ConfigError) as exc:
        print(f"Cannot start: {exc}", file=sys.stderr)
        for name in SERVICES + ("gateway", "paybox-sandbox"):
            tail = suite.log_tail(name, 5)
            if tail:
                print(f"--- {name}\n{tail}", file=sys.stderr)
        return 1
    finally:
        suite.stop_all()


# Issue #13: each service's /metrics on a port of its own here (in Kubernetes every pod uses 9100); the
# gateway serves its own on its port. METRICS_PORTS=off starts them without.
METRICS_FIRST_PORT = 9101


def start_with_metrics(suite):
    """suite.start(), with METRICS_PORT 9101..9105 given to identity, canteen, childcare, billing, payment."""
    if os.environ.get("METRICS_PORTS") == "off":
        return suite.start()
    if suite.paybox_is_local():
        suite.start_paybox_sandbox()
    for offset, name in enumerate(SERVICES):
        suite.start_service(name, METRICS_PORT=str(METRICS_FIRST_PORT + offset))
    suite.start_gateway()


if __name__ == "__main__":
    sys.exit(main())
