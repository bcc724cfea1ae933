"""Test helpers that need real parts: a virtual host per test, a fresh database, a service process."""
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import requests

from espace_common.amqp import check_broker
from espace_common.config import ConfigError
from espace_common.migrations import upgrade
from espace_common.rpc_client import RpcClient, ServiceUnavailable

from .paybox_settings import local_payment_env
from .suite import ROOT, Suite, sqlite_urls

DEFAULT_AMQP_URI = "amqp://guest:guest@localhost:5672/"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
# Test-only secrets: letters made in tests are thrown away with their database.
TEST_LETTER_SECRET = "dGVzdC1vbmx5LWxldHRlci1zZWNyZXQtMzItYnl0ZXM="
# Test-only password hashing cost (Argon2id with 1 pass over 8 MiB, ~0.02 s of CPU against ~0.4 s with the
# production 3 passes over 64 MiB): the tests register and log in hundreds of people on two shared cores. A test
# may still ask for other costs through the environment it passes.
CHEAP_PASSWORD_HASHES = {"PASSWORD_TIME_COST": "1", "PASSWORD_MEMORY_KIB": "8192"}


def management_url():
    return os.environ.get("RABBITMQ_MANAGEMENT_URL", "http://guest:guest@localhost:15672")


def base_amqp_uri():
    return os.environ.get("AMQP_URI", DEFAULT_AMQP_URI)


class VirtualHost:
    """A RabbitMQ virtual host of its own, so that a test sees no other test's messages."""

    def __init__(self, prefix="test"):
        self.name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        self._api = management_url()
        user = urlsplit(base_amqp_uri()).username or "guest"
        requests.put(f"{self._api}/api/vhosts/{quote(self.name, safe='')}", timeout=10).raise_for_status()
        requests.put(f"{self._api}/api/permissions/{quote(self.name, safe='')}/{user}",
                     json={"configure": ".*", "write": ".*", "read": ".*"}, timeout=10).raise_for_status()
        parts = urlsplit(base_amqp_uri())
        self.amqp_uri = urlunsplit((parts.scheme, parts.netloc, "/" + quote(self.name, safe=""), "", ""))

    def queue(self, name):
        response = requests.get(f"{self._api}/api/queues/{quote(self.name, safe='')}/{quote(name, safe='')}", timeout=10)
        return response.json() if response.ok else None

    def delete(self):
        requests.delete(f"{self._api}/api/vhosts/{quote(self.name, safe='')}", timeout=10)


def postgres_admin_url():
    return os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def postgres_available():
    import pg8000.native
    parts = urlsplit(postgres_admin_url())
    try:
        connection = pg8000.native.Connection(
            user=parts.username or "postgres", password=parts.password, host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432, database=parts.path.lstrip("/") or "postgres", timeout=3)
    except Exception:  # any failure means: no PostgreSQL to test against here
        return False
    connection.close()
    return True


class PostgresDatabase:
    """A throw-away PostgreSQL database, dropped at the end of the test."""

    def __init__(self):
        import pg8000.native
        self._parts = urlsplit(postgres_admin_url())
        self.name = f"ef_test_{uuid.uuid4().hex[:12]}"
        self._connect = lambda: pg8000.native.Connection(
            user=self._parts.username or "postgres", password=self._parts.password,
            host=self._parts.hostname or "127.0.0.1", port=self._parts.port or 5432,
            database=self._parts.path.lstrip("/") or "postgres")
        admin = self._connect()
        admin.run(f'CREATE DATABASE "{self.name}"')
        admin.close()
        self.url = urlunsplit((self._parts.scheme, self._parts.netloc, "/" + self.name, "", ""))

    def drop(self):
        admin = self._connect()
        admin.run(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        admin.close()


class ServiceProcess:
    """One service started with `python -m <name>` against a given broker and database."""

    def __init__(self, name, amqp_uri, database_url, log_dir, env=None):
        self.name = name
        self.amqp_uri = amqp_uri
        self.database_url = database_url
        self.log_path = Path(log_dir) / f"{name}.log"
        self.env = dict(env or {})
        self.process = None

    def migrate(self):
        upgrade(ROOT / "services" / self.name / "alembic.ini", self.database_url)

    def start(self, wait=True, **env):
        full_env = dict(os.environ, **CHEAP_PASSWORD_HASHES, AMQP_URI=self.amqp_uri, DATABASE_URL=self.database_url,
                        LETTER_SECRET=TEST_LETTER_SECRET, SMTP_URL=f"file:{self.log_path.parent / 'mail'}",
                        BILLING_FILES_DIR=str(self.log_path.parent / "billing-files"),
                        CANTEEN_FILES_DIR=str(self.log_path.parent / "canteen-files"),
                        CHILDCARE_FILES_DIR=str(self.log_path.parent / "childcare-files"),
                        IDENTITY_FILES_DIR=str(self.log_path.parent / "identity-files"))  # the wallet, messages' attachments
        if self.name == "payment":  # the local sandbox's account; a test may point it elsewhere
            full_env.update(local_payment_env())
        full_env.update(self.env, **env)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", self.name], env=full_env, stdout=log,
                                            stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
        if wait:
            self.wait_healthy()
        return self

    def wait_healthy(self, timeout=30):
        client = RpcClient(self.amqp_uri, timeout=1, caller="test-wait")
        deadline = time.monotonic() + timeout
        # A call sent before the service has declared its queue is lost: ask again soon, then less often
        # (a loaded machine may take more than the first wait to answer).
        wait = 0.25
        try:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log()}")
                try:
                    if client.call(self.name, "health", timeout=wait)["status"] == "ok":
                        return
                except ServiceUnavailable:
                    wait = min(wait * 1.5, 2.0)
            raise TimeoutError(f"{self.name} did not answer within {timeout} s:\n{self.log()}")
        finally:
            client.close()

    def stop(self, timeout=10):
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        self.wait_stopped(timeout)

    def wait_stopped(self, timeout=10):
        """Wait for a process sent SIGTERM (once: a second one makes nameko hang), SIGKILL after `timeout`."""
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def log(self):
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""


def stop_processes(processes, timeout=10):
    """Stop ServiceProcesses all at once: each takes a second or two to stop gracefully."""
    running = [p for p in processes if p.process is not None and p.process.poll() is None]
    for process in running:
        process.process.terminate()
    for process in running:
        process.wait_stopped(timeout)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_suite(var_dir, database_urls=None, amqp_uri=None, **env):
    """The whole suite, ready: in a virtual host of its own on the shared broker, or on the broker at
    amqp_uri (a RabbitNode of the test's own); on SQLite files under var_dir, or on the databases given
    by database_urls ({service name: URL}, e.g. PostgreSQL)."""
    host = VirtualHost("suite") if amqp_uri is None else None
    port = free_port()
    suite = Suite(var_dir, host.amqp_uri if host else amqp_uri, database_urls or sqlite_urls(var_dir), port=port,
                  env={**CHEAP_PASSWORD_HASHES, "LOCAL_RUN": "true", "SECRET_KEY": "test-secret",
                       "LETTER_SECRET": TEST_LETTER_SECRET,
                       "PUBLIC_URL": f"http://127.0.0.1:{port}",
                       "SMTP_URL": f"file:{var_dir / 'mail'}", "MAIL_OUTBOX_DIR": str(var_dir / "mail"),
                       "BILLING_FILES_DIR": str(var_dir / "billing-files"),
                       "CANTEEN_FILES_DIR": str(var_dir / "canteen-files"),
                       "CHILDCARE_FILES_DIR": str(var_dir / "childcare-files"),
                       "IDENTITY_FILES_DIR": str(var_dir / "identity-files"), **env},  # the wallet, messages' attachments
                  sandbox_port=free_port())
    suite.vhost = host
    suite.migrate()
    suite.declare_topology()
    suite.start()
    try:
        suite.wait_ready(timeout=60)
    except Exception:
        suite.stop_all()
        if host:
            host.delete()
        raise
    return suite


def stop_suite(suite):
    suite.stop_all()
    if suite.vhost is not None:
        suite.vhost.delete()


class MailCatcher:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message it receives."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.messages = []
        self._controller = Controller(self, hostname="127.0.0.1", port=free_port())
        self._controller.start()
        self.url = f"smtp://127.0.0.1:{self._controller.port}"

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes, policy
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted"

    def to(self, address):
        return [m for m in self.messages if address.casefold() in str(m["To"]).casefold()]

    def wait_for(self, address, count=1, timeout=15):
        """The messages sent to an address, once there are at least `count` of them."""
        deadline = time.monotonic() + timeout
        while len(self.to(address)) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        found = self.to(address)
        if len(found) < count:
            raise TimeoutError(f"{count} mail(s) to {address} expected, {len(found)} received")
        return found

    def stop(self):
        self._controller.stop()


def link_in(message, path):
    """The first link in a mail's body whose path starts with `path`."""
    import re
    body = message.get_body(preferencelist=("plain",)).get_content()
    match = re.search(rf"https?://\S+/{path}/\S+", body)
    if not match:
        raise AssertionError(f"no /{path}/ link in:\n{body}")
    return match.group(0)


RABBITMQ_BIN = Path("/usr/lib/rabbitmq/bin")


class RabbitNode:
    """A RabbitMQ node of one test's own, to stop and start at will while the machine's broker serves others.

    Its own node name, AMQP and distribution ports, data and log folders, configuration (management
    off, listening on 127.0.0.1 only) and Erlang cookie (in HOME, which rabbitmqctl reads too), so
    that `rabbitmqctl -n <node>` reaches this node and no other. The scripts are called from
    RABBITMQ_BIN directly: Debian's /usr/sbin wrappers switch to the rabbitmq user and its cookie.
    """

    def __init__(self, folder):
        self.folder = Path(folder)
        self.name = f"ef-fault-{uuid.uuid4().hex[:8]}@localhost"
        self.port = free_port()
        self.amqp_uri = f"amqp://guest:guest@127.0.0.1:{self.port}/"
        self.process = None
        for sub in ("mnesia", "log"):
            (self.folder / sub).mkdir(parents=True, exist_ok=True)
        (self.folder / "rabbitmq.conf").write_text(f"listeners.tcp.default = 127.0.0.1:{self.port}\n")
        (self.folder / "enabled_plugins").write_text("[].\n")
        (self.folder / "rabbitmq-env.conf").write_text("")  # not the machine's, which names its own node
        cookie = self.folder / ".erlang.cookie"
        cookie.write_text(secrets.token_hex(16))
        cookie.chmod(0o400)
        self.env = dict(
            os.environ, HOME=str(self.folder), RABBITMQ_NODENAME=self.name, RABBITMQ_NODE_PORT=str(self.port),
            RABBITMQ_DIST_PORT=str(free_port()), RABBITMQ_MNESIA_BASE=str(self.folder / "mnesia"),
            RABBITMQ_LOG_BASE=str(self.folder / "log"), RABBITMQ_CONFIG_FILE=str(self.folder / "rabbitmq.conf"),
            RABBITMQ_CONF_ENV_FILE=str(self.folder / "rabbitmq-env.conf"),
            RABBITMQ_ENABLED_PLUGINS_FILE=str(self.folder / "enabled_plugins"),
            RABBITMQ_PID_FILE=str(self.folder / "rabbitmq.pid"), ERL_EPMD_ADDRESS="127.0.0.1",
        )

    @staticmethod
    def available():
        """None when a node can be started here, else the reason why not."""
        if not (RABBITMQ_BIN / "rabbitmq-server").exists() or not (RABBITMQ_BIN / "rabbitmqctl").exists():
            return f"rabbitmq-server is not installed (no {RABBITMQ_BIN}/rabbitmq-server)"
        if shutil.which("erl") is None and not Path("/usr/lib/erlang/bin/erl").exists():
            return "Erlang is not installed"
        return None

    def start(self, timeout=90):
        with open(self.folder / "server.log", "ab") as log:
            self.process = subprocess.Popen([str(RABBITMQ_BIN / "rabbitmq-server")], env=self.env, cwd=self.folder,
                                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.wait_answering(timeout)
        return self

    def wait_answering(self, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"RabbitMQ node {self.name} exited with {self.process.returncode}:\n{self.log()}")
            try:
                check_broker(self.amqp_uri, timeout=1)
                return
            except ConfigError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"RabbitMQ node {self.name} did not answer within {timeout} s:\n{self.log()}")
                time.sleep(0.3)

    def ctl(self, *args, timeout=60):
        """rabbitmqctl against this node only."""
        return subprocess.run([str(RABBITMQ_BIN / "rabbitmqctl"), "-n", self.name, *args], env=self.env,
                              cwd=self.folder, capture_output=True, text=True, timeout=timeout, check=True)

    def stop_app(self):
        """RabbitMQ stops (connections closed, port refused); the Erlang node stays up for start_app."""
        self.ctl("stop_app")

    def start_app(self):
        self.ctl("start_app")
        self.wait_answering()

    def shutdown(self):
        if self.process is None or self.process.poll() is not None:
            return
        try:
            self.ctl("shutdown", timeout=30)
            self.process.wait(15)
        except (subprocess.SubprocessError, OSError):
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def log(self):
        path = self.folder / "server.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""


class TcpProxy:
    """A TCP proxy on 127.0.0.1 in front of a real server, that a test can cut (connections reset,
    new ones refused) and restore, to disconnect one client from the broker and no one else."""

    def __init__(self, target_host, target_port):
        self.target = (target_host, target_port)
        self.port = free_port()
        self._lock = threading.Lock()
        self._sockets = set()
        self._listener = None
        self.restore()

    def restore(self):
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self):
        """Reset every connection through the proxy and refuse new ones until restore()."""
        listener, self._listener = self._listener, None
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() in progress, so it stops accepting
            except OSError:
                pass
            listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                sock.close()
            except OSError:
                pass

    def close(self):
        self.cut()

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source, sink):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        with self._lock:
            done = [sock for sock in (source, sink) if sock in self._sockets]
            self._sockets.difference_update(done)
        for sock in done:
            sock.close()


def migrated_sqlite(service, folder):
    """A SQLite file of the service migrated once by its real Alembic history, to copy for each test."""
    from espace_common.launch import alembic_ini
    path = Path(folder) / f"{service}.sqlite"
    upgrade(alembic_ini(service), f"sqlite:///{path}")
    return path


class SqliteUnits:
    """What a service's Database gives a worker, on a fresh copy of a migrated file: units of work with the clock."""

    def __init__(self, template, path, metadata, clock):
        from espace_common.db import create_database_engine
        shutil.copy(template, path)
        self.engine = create_database_engine(f"sqlite:///{path}")
        self.clock = clock
        self._tables = metadata.tables

    def __call__(self, read_only=False):
        from espace_common.db import UnitOfWork
        tables = self._tables
        return UnitOfWork(self.engine, outbox=tables["outbox"], processed=tables["processed_events"],
                          mail_outbox=tables.get("mail_outbox"), clock=self.clock, read_only=read_only)

    def dispose(self):
        self.engine.dispose()


def computed_run(rpc, run, timeout=120):
    """An invoicing run once billing has computed it: a run may work in the background (status "running")."""
    deadline = time.monotonic() + timeout
    while run["status"] == "running":
        if time.monotonic() > deadline:
            raise TimeoutError(f"the invoicing run {run['id']} was still running after {timeout} s")
        time.sleep(0.2)
        run = rpc.call("billing", "invoicing_run", run["id"])
    return run


# --- Helpers shared with the replicas' test (issue #13), moved here from the test modules that had them ------------

def bearer(gateway_url, username, password):
    """The Authorization header of a person's API token, asked from the gateway at gateway_url."""
    answer = requests.post(f"{gateway_url}/api/v1/auth/token", json={"username": username, "password": password},
                           timeout=30)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def pay_in_the_sandbox(suite, parent, invoice_id, card, notify_count="1", gateway_url=None):
    """A parent starts a card payment through the gateway (the suite's, or gateway_url) and pays it with `card`
    in the Paybox sandbox, which notifies `notify_count` times; returns (card payment id, the return URL)."""
    started = requests.post(f"{gateway_url or suite.url}/api/v1/invoices/{invoice_id}/card-payments",
                            headers=parent["headers"], timeout=20)
    assert started.status_code == 201, started.text
    return pay_form_in_the_sandbox(suite, started.json(), card, notify_count)


def pay_form_in_the_sandbox(suite, form, card, notify_count="1"):
    """The sandbox's part of pay_in_the_sandbox: the card payment's form (the gateway's 201) posted and paid."""
    import re
    assert form["action_url"].startswith(suite.sandbox_url)
    page = requests.post(form["action_url"], data=[tuple(pair) for pair in form["fields"]], timeout=10)
    assert page.status_code == 200 and "Paiement par carte bancaire" in page.text
    token = re.search(r'name="payment" value="([^"]+)"', page.text).group(1)
    back = requests.post(f"{suite.sandbox_url}/cgi/paiement", allow_redirects=False, timeout=10, data={
        "payment": token, "card_number": card, "expiry": "12/30", "cvv": "123", "action": "pay",
        "notify_count": notify_count})
    assert back.status_code == 303
    return form["id"], back.headers["Location"]


def wait_until(condition, timeout=30):
    """True once condition() is true, False if it still is not after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def start_replicated_suite(var_dir, database_urls, count=2, **env):
    """The whole suite as start_suite gives it, then `count` processes of every service and of the gateway (each
    gateway on a free port of its own: suite.gateway_url(index)), every one of them answering before this returns."""
    from .suite import SERVICES
    suite = start_suite(var_dir, database_urls=database_urls, **env)
    try:
        for index in range(2, count + 1):
            for name in SERVICES:
                suite.start_replica(name, index)
            suite.start_gateway_replica(index, free_port())
        wait_replicas(suite, count)
    except Exception:
        stop_suite(suite)
        raise
    return suite


def wait_replicas(suite, count, timeout=90):
    """Wait until each service's `count` processes have each answered health() (it gives its pid: the broker hands
    the calls to the queue's consumers in turn) and each gateway process says it is ready."""
    from .suite import SERVICES
    client = RpcClient(suite.amqp_uri, timeout=2, caller="test-wait")
    deadline = time.monotonic() + timeout
    try:
        for name in SERVICES:
            expected = {suite.processes[suite.replica_name(name, i)].pid for i in range(1, count + 1)}
            seen = set()
            while not expected <= seen:
                dead = suite.exited()
                if dead:
                    raise RuntimeError(f"{', '.join(dead)} stopped during start-up; see {suite.var_dir / 'log'}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{name}: only the processes {seen} of {expected} answered in {timeout} s")
                try:
                    seen.add(client.call(name, "health")["pid"])
                except ServiceUnavailable:
                    time.sleep(0.2)
        for index in range(2, count + 1):
            url = suite.gateway_url(index)
            while True:
                try:
                    if requests.get(f"{url}/readyz", timeout=2).json().get("status") == "ready":
                        break
                except (requests.RequestException, ValueError):
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the gateway at {url} was not ready after {timeout} s")
                time.sleep(0.3)
    finally:
        client.close()
