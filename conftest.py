"""Fixtures shared by every test folder: real broker, real databases, real processes."""
import pytest

# Import the real package before pytest's importlib mode names gateway/tests/*
# "gateway.tests.*" and would otherwise make a hollow "gateway" module for it.
import gateway  # noqa: F401

from espace_common.rpc_client import RpcClient
from espace_deploy.testing import (
    MailCatcher, PostgresDatabase, ServiceProcess, VirtualHost, postgres_available, start_suite, stop_processes,
    stop_suite,
)

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]

# Rough cost of one test, in seconds, by what it starts: to hand the longest modules out first.
STARTS_PROCESSES = {"suite", "module_services", "start_service", "browser"}


def _cost(item):
    marks = {mark.name for mark in item.iter_markers()}
    cost = 0.05
    if "slow" in marks or "browser" in marks:
        cost = 8.0
    elif "broker" in marks or STARTS_PROCESSES & set(item.fixturenames):
        cost = 3.0
    if "postgres" in marks:
        cost *= 1.5
    return cost


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Whole modules, the costliest first, each in the order pytest chose (which limits fixture set-ups).

    `make test` runs the modules on several pytest-xdist workers (--dist loadscope: a module stays on one worker,
    so its module fixtures start once); a worker takes the next module when it is done with one, so starting with
    the long ones keeps the end of the run from waiting on a long module started last. Serially it changes nothing
    but the order.
    """
    modules = {}
    for index, item in enumerate(items):
        modules.setdefault(item.nodeid.split("::")[0], []).append((index, item))
    ranked = sorted(modules.values(), key=lambda entries: (-sum(_cost(item) for _, item in entries), entries[0][0]))
    items[:] = [item for entries in ranked for _, item in entries]


@pytest.fixture
def vhost():
    """A RabbitMQ virtual host for this test alone."""
    host = VirtualHost()
    yield host
    host.delete()


@pytest.fixture(params=BACKENDS)
def database_factory(request, tmp_path):
    """make(name) gives a fresh database URL on the backend under test (SQLite, then PostgreSQL)."""
    created = []
    if request.param == "postgresql" and not postgres_available():
        pytest.skip("no PostgreSQL answers at TEST_POSTGRES_URL")

    def make(name):
        if request.param == "sqlite":
            return f"sqlite:///{tmp_path / (name + '.sqlite')}"
        database = PostgresDatabase()
        created.append(database)
        return database.url

    make.backend = request.param
    yield make
    for database in created:
        database.drop()


@pytest.fixture
def start_service(vhost, database_factory, tmp_path):
    """start_service(name, **env) migrates and starts a service process in this test's vhost."""
    started = []

    def start(name, wait=True, **env):
        process = ServiceProcess(name, vhost.amqp_uri, database_factory(name), tmp_path)
        process.migrate()
        process.start(wait=wait, **env)
        started.append(process)
        return process

    yield start
    stop_processes(started)


@pytest.fixture
def rpc(vhost):
    client = RpcClient(vhost.amqp_uri, timeout=10, caller="test")
    yield client
    client.close()


@pytest.fixture(scope="session")
def suite(tmp_path_factory):
    """The whole suite (five services and the gateway) on SQLite, shared by the tests that only read or add."""
    running = start_suite(tmp_path_factory.mktemp("suite-var"))
    yield running
    stop_suite(running)


@pytest.fixture
def mail():
    """A real SMTP server for this test; services are pointed at it with SMTP_URL=mail.url."""
    catcher = MailCatcher()
    yield catcher
    catcher.stop()


class ModuleServices:
    """Services started once for a whole test module, in their own vhost, on one backend."""

    def __init__(self, backend, folder):
        self.backend = backend
        self.folder = folder
        self.vhost = VirtualHost()
        self.databases = []
        self.processes = {}
        self._starting = []
        self.rpc = RpcClient(self.vhost.amqp_uri, timeout=20, caller="test")

    def database_url(self, name):
        if self.backend == "sqlite":
            return f"sqlite:///{self.folder / (name + '.sqlite')}"
        database = PostgresDatabase()
        self.databases.append(database)
        return database.url

    def start(self, name, wait=True, **env):
        """Migrate and start a service; with wait=False it starts while the next one is migrated and started, and
        wait_healthy() waits for all of them (each takes seconds to start)."""
        process = ServiceProcess(name, self.vhost.amqp_uri, self.database_url(name), self.folder)
        process.migrate()
        process.start(wait=wait, **env)
        self.processes[name] = process
        if not wait:
            self._starting.append(process)
        return process

    def wait_healthy(self):
        starting, self._starting = self._starting, []
        for process in starting:
            process.wait_healthy()

    def close(self):
        self.rpc.close()
        stop_processes(self.processes.values())
        for database in self.databases:
            database.drop()
        self.vhost.delete()


@pytest.fixture(scope="module", params=BACKENDS)
def module_services(request, tmp_path_factory):
    """Start services once per module and backend; each test keeps to its own data."""
    if request.param == "postgresql" and not postgres_available():
        pytest.skip("no PostgreSQL answers at TEST_POSTGRES_URL")
    services = ModuleServices(request.param, tmp_path_factory.mktemp(f"services-{request.param}"))
    yield services
    services.close()
