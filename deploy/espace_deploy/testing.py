"""Test helpers that need real parts: a virtual host per test, a fresh database, a service process."""
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import requests

from espace_common.migrations import upgrade
from espace_common.rpc_client import RpcClient, ServiceUnavailable

from .suite import ROOT, Suite, sqlite_urls

DEFAULT_AMQP_URI = "amqp://guest:guest@localhost:5672/"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
# Test-only secrets: letters made in tests are thrown away with their database.
TEST_LETTER_SECRET = "dGVzdC1vbmx5LWxldHRlci1zZWNyZXQtMzItYnl0ZXM="


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
        full_env = dict(os.environ, AMQP_URI=self.amqp_uri, DATABASE_URL=self.database_url,
                        LETTER_SECRET=TEST_LETTER_SECRET, SMTP_URL=f"file:{self.log_path.parent / 'mail'}")
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
        try:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log()}")
                try:
                    if client.call(self.name, "health")["status"] == "ok":
                        return
                except ServiceUnavailable:
                    pass
            raise TimeoutError(f"{self.name} did not answer within {timeout} s:\n{self.log()}")
        finally:
            client.close()

    def stop(self, timeout=10):
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
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


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_suite(var_dir, database_urls=None, **env):
    """The whole suite in a virtual host of its own, ready: on SQLite files under var_dir, or on the
    databases given by database_urls ({service name: URL}, e.g. PostgreSQL)."""
    host = VirtualHost("suite")
    port = free_port()
    suite = Suite(var_dir, host.amqp_uri, database_urls or sqlite_urls(var_dir), port=port,
                  env={"LOCAL_RUN": "true", "SECRET_KEY": "test-secret", "LETTER_SECRET": TEST_LETTER_SECRET,
                       "PUBLIC_URL": f"http://127.0.0.1:{port}",
                       "SMTP_URL": f"file:{var_dir / 'mail'}", "MAIL_OUTBOX_DIR": str(var_dir / "mail"), **env})
    suite.vhost = host
    suite.migrate()
    suite.declare_topology()
    suite.start()
    try:
        suite.wait_ready(timeout=60)
    except Exception:
        suite.stop_all()
        host.delete()
        raise
    return suite


def stop_suite(suite):
    suite.stop_all()
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
