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

from .paybox_settings import SANDBOX_PORT, local_payment_env

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("identity", "canteen", "childcare", "billing", "payment")
READY_SETTLE_SECONDS = 3.0


class RestartPolicy:
    """When to start again a process that died, as an orchestrator would (Kubernetes' CrashLoopBackOff):
    after `first` seconds, twice as long after each new death, at most `longest`; a process that had
    stayed up `stable_after` seconds starts again from `first`."""

    def __init__(self, first=1.0, longest=30.0, stable_after=60.0):
        self.first = first
        self.longest = longest
        self.stable_after = stable_after
        self._delays = {}

    def delay(self, name, ran_for):
        """Seconds to wait before starting `name` again, which died after running `ran_for` seconds."""
        previous = self._delays.get(name)
        if previous is None or ran_for >= self.stable_after:
            delay = self.first
        else:
            delay = min(previous * 2, self.longest)
        self._delays[name] = delay
        return delay


def sqlite_urls(var_dir):
    return {name: f"sqlite:///{Path(var_dir).resolve() / (name + '.sqlite')}" for name in SERVICES}


class Suite:
    """The whole suite on one machine: one process per service, plus the gateway."""

    def __init__(self, var_dir, amqp_uri, database_urls, port=8000, env=None, sandbox_port=None):
        self.var_dir = Path(var_dir)
        self.sandbox_port = int(sandbox_port or os.environ.get("PAYBOX_SANDBOX_PORT") or SANDBOX_PORT)
        self.amqp_uri = amqp_uri
        self.database_urls = dict(database_urls)
        self.port = port
        self.extra_env = dict(env or {})
        self.processes = {}
        self._commands = {}  # name -> (argv, env), to start a process again the same way
        self._started_at = {}
        self._restart_at = {}
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
        self._commands[name] = (argv, env)
        self._started_at[name] = time.monotonic()
        self._restart_at.pop(name, None)
        (self.var_dir / "run" / f"{name}.pid").write_text(f"{process.pid}\n")
        return process

    def start_service(self, name, **env):
        if name == "payment" and self.paybox_is_local():
            env = {**local_payment_env(self.sandbox_port, self._env().get("PUBLIC_URL") or
                                       f"http://localhost:{self.port}"), **env}
        return self._spawn(name, [sys.executable, "-m", name],
                           self._env(DATABASE_URL=self.database_urls[name], **env))

    # --- The Paybox sandbox (issue #10): in place of Paybox unless PAYBOX_ENV names a real one ---------------------

    def paybox_is_local(self):
        return not self._env().get("PAYBOX_ENV")

    def start_paybox_sandbox(self):
        return self._spawn("paybox-sandbox", [sys.executable, "-m", "espace_deploy.paybox_sandbox"],
                           self._env(PAYBOX_SANDBOX_PORT=str(self.sandbox_port)))

    @property
    def sandbox_url(self):
        return f"http://127.0.0.1:{self.sandbox_port}"

    def start_gateway(self, **env):
        return self._spawn("gateway", [sys.executable, "-m", "gateway"], self._env(PORT=str(self.port), **env))

    def start(self):
        if self.paybox_is_local():
            self.start_paybox_sandbox()
        for name in SERVICES:
            self.start_service(name)
        self.start_gateway()

    def signal(self, name, signum):
        os.killpg(self.processes[name].pid, signum)

    def stop(self, name, timeout=10, signalled=False):
        """Stop one process: SIGTERM (unless `signalled` says it was sent already), then SIGKILL after `timeout`.

        Never a second SIGTERM: nameko starts a second graceful stop that waits for the first, and the
        process hangs until the SIGKILL."""
        process = self.processes.pop(name, None)
        if process is None:
            return
        if process.poll() is None:
            try:
                if not signalled:
                    os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            except ProcessLookupError:
                pass
        (self.var_dir / "run" / f"{name}.pid").unlink(missing_ok=True)

    def stop_all(self):
        """Every process at once: all are signalled, then waited for."""
        for name in list(self.processes):
            if self.processes[name].poll() is None:
                try:
                    os.killpg(self.processes[name].pid, signal.SIGCONT)
                    os.killpg(self.processes[name].pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for name in list(self.processes):
            self.stop(name, signalled=True)

    def exited(self):
        """Names of the processes that died on their own."""
        return [name for name, p in self.processes.items() if p.poll() is not None]

    def restart_exited(self, policy, report=print):
        """Start again each process that died on its own, once the policy's delay has passed.

        Call it periodically; `report` receives one sentence per death and per restart. Returns the
        names restarted by this call.
        """
        now = time.monotonic()
        restarted = []
        for name in self.exited():
            due = self._restart_at.get(name)
            if due is None:
                ran_for = now - self._started_at.get(name, now)
                delay = policy.delay(name, ran_for)
                self._restart_at[name] = now + delay
                report(f"{name} exited with code {self.processes[name].returncode} after {ran_for:.0f} s; "
                       f"starting it again in {delay:g} s (log: {self.var_dir / 'log' / (name + '.log')})")
            elif now >= due:
                argv, env = self._commands[name]
                process = self._spawn(name, argv, env)
                report(f"{name} started again (pid {process.pid})")
                restarted.append(name)
        return restarted

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

    # --- Replicas (issue #13): more processes of a service or of the gateway, competing for the same queues -------

    @staticmethod
    def replica_name(name, index):
        """The process key of a replica: the first is the service's own name (`canteen`), the others `canteen-2`..."""
        return name if index == 1 else f"{name}-{index}"

    def start_replica(self, name, index, **env):
        """Replica `index` of a service: the same database and queues as the others, its own process and log."""
        if index == 1:
            return self.start_service(name, **env)
        if name == "payment" and self.paybox_is_local():
            env = {**local_payment_env(self.sandbox_port, self._env().get("PUBLIC_URL") or
                                       f"http://localhost:{self.port}"), **env}
        return self._spawn(self.replica_name(name, index), [sys.executable, "-m", name],
                           self._env(DATABASE_URL=self.database_urls[name], **env))

    def start_gateway_replica(self, index, port, **env):
        """Gateway process `index` on a port of its own (index 1 is the suite's own gateway, on self.port)."""
        if index == 1:
            return self.start_gateway(**env)
        self.gateway_ports = {**getattr(self, "gateway_ports", {}), index: port}
        return self._spawn(self.replica_name("gateway", index), [sys.executable, "-m", "gateway"],
                           self._env(PORT=str(port), **env))

    def gateway_url(self, index):
        return self.url if index == 1 else f"http://127.0.0.1:{self.gateway_ports[index]}"
