"""Start, watch and stop the services and the gateway as processes, for `make run` and the tests."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests
from kombu import Connection

from espace_common.amqp import declare_topology
from espace_common.migrations import upgrade

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("identity", "canteen", "childcare", "billing", "payment")
READY_SETTLE_SECONDS = 3.0


def sqlite_urls(var_dir):
    return {name: f"sqlite:///{Path(var_dir).resolve() / (name + '.sqlite')}" for name in SERVICES}


class Suite:
    """The whole suite on one machine: one process per service, plus the gateway."""

    def __init__(self, var_dir, amqp_uri, database_urls, port=8000, env=None):
        self.var_dir = Path(var_dir)
        self.amqp_uri = amqp_uri
        self.database_urls = dict(database_urls)
        self.port = port
        self.extra_env = dict(env or {})
        self.processes = {}
        (self.var_dir / "run").mkdir(parents=True, exist_ok=True)
        (self.var_dir / "log").mkdir(parents=True, exist_ok=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def migrate(self):
        for name in SERVICES:
            upgrade(ROOT / "services" / name / "alembic.ini", self.database_urls[name])

    def declare_topology(self):
        with Connection(self.amqp_uri) as connection:
            declare_topology(connection)

    def _env(self, **more):
        env = dict(os.environ)
        env.update(self.extra_env)
        env.update(AMQP_URI=self.amqp_uri, **more)
        return env

    def _spawn(self, name, argv, env):
        log = open(self.var_dir / "log" / f"{name}.log", "ab")
        process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
                                   start_new_session=True)
        log.close()
        self.processes[name] = process
        (self.var_dir / "run" / f"{name}.pid").write_text(f"{process.pid}\n")
        return process

    def start_service(self, name, **env):
        return self._spawn(name, [sys.executable, "-m", name],
                           self._env(DATABASE_URL=self.database_urls[name], **env))

    def start_gateway(self, **env):
        return self._spawn("gateway", [sys.executable, "-m", "gateway"], self._env(PORT=str(self.port), **env))

    def start(self):
        for name in SERVICES:
            self.start_service(name)
        self.start_gateway()

    def signal(self, name, signum):
        os.killpg(self.processes[name].pid, signum)

    def stop(self, name, timeout=10):
        process = self.processes.pop(name, None)
        if process is None:
            return
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            except ProcessLookupError:
                pass
        (self.var_dir / "run" / f"{name}.pid").unlink(missing_ok=True)

    def stop_all(self):
        for name in list(self.processes):
            if self.processes[name].poll() is None:
                try:
                    os.killpg(self.processes[name].pid, signal.SIGCONT)
                    os.killpg(self.processes[name].pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for name in list(self.processes):
            self.stop(name)

    def exited(self):
        """Names of the processes that died on their own."""
        return [name for name, p in self.processes.items() if p.poll() is not None]

    def readiness(self):
        try:
            return requests.get(f"{self.url}/readyz", timeout=2).json()
        except (requests.RequestException, ValueError):
            return None

    def wait_ready(self, timeout=90):
        deadline = time.monotonic() + timeout
        ready_since = None
        while time.monotonic() < deadline:
            dead = self.exited()
            if dead:
                raise RuntimeError(f"{', '.join(dead)} stopped during start-up; see {self.var_dir / 'log'}")
            state = self.readiness()
            if state and state.get("status") == "ready":
                ready_since = ready_since or time.monotonic()
                # Each gunicorn worker has its own monitor: ready only once every one of
                # them has probed since start-up, i.e. after a whole probe cycle.
                if time.monotonic() - ready_since >= READY_SETTLE_SECONDS:
                    return state
            else:
                ready_since = None
            time.sleep(0.3)
        raise TimeoutError(f"the suite was not ready after {timeout} s: {self.readiness()}")

    def log_tail(self, name, lines=30):
        path = self.var_dir / "log" / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""
