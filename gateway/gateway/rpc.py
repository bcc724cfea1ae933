"""Started RPC clients for request threads, and a monitor that knows which service is down.

A request never opens a broker connection: each worker thread keeps its own
started client. Calls to a service the monitor has seen down fail at once with
503 instead of each waiting for the timeout. A client whose broker connection
broke is dropped and the thread's next call builds a new one, so the gateway
heals by itself when RabbitMQ comes back.
"""
import logging
import threading
import time

from espace_common.rpc_client import RemoteError, RpcClient, ServiceUnavailable

log = logging.getLogger(__name__)


class ClientPool:
    """One started RpcClient per thread, replaced when its connection breaks."""

    def __init__(self, amqp_uri, timeout, caller="gateway"):
        self.amqp_uri = amqp_uri
        self.timeout = timeout
        self.caller = caller
        self._local = threading.local()

    def client(self, broker_epoch=0):
        """This thread's client; a new one if it broke, or if the broker was lost since it was made
        (`broker_epoch` changed), so that no request after an outage finds a dead connection."""
        client = getattr(self._local, "client", None)
        if client is not None and getattr(self._local, "epoch", broker_epoch) != broker_epoch:
            client.close()
        if client is None or client.closed:
            self._local.client = None
            try:
                client = RpcClient(self.amqp_uri, timeout=self.timeout, caller=self.caller)
            except ServiceUnavailable:
                raise
            except Exception as exc:  # the broker refuses us in some other way (credentials, vhost)
                raise ServiceUnavailable("broker", f"RabbitMQ cannot be reached ({exc.__class__.__name__})",
                                         broker_lost=True) from None
            self._local.client = client
            self._local.epoch = broker_epoch
        return client

    def discard(self, client):
        """Forget this thread's client (its state is unknown); the next call starts a new one."""
        if getattr(self._local, "client", None) is client:
            self._local.client = None
        client.close()


class ServiceMonitor:
    """Probes each service's health() every interval, one thread per service."""

    def __init__(self, amqp_uri, services, interval=1.0, probe_timeout=1.5):
        self.amqp_uri = amqp_uri
        self.services = tuple(services)
        self.interval = interval
        self.probe_timeout = probe_timeout
        self._state = {name: {"up": None, "checked_at": None, "detail": "not probed yet"} for name in self.services}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = []
        self.broker_reachable = None
        self.broker_epoch = 0  # counts the times the broker was lost: clients made before are dead

    def start(self):
        for name in self.services:
            thread = threading.Thread(target=self._probe_forever, args=(name,), name=f"monitor-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self):
        self._stop.set()

    def is_down(self, service):
        state = self._state.get(service)
        return bool(state) and state["up"] is False

    def snapshot(self):
        with self._lock:
            return {name: dict(state) for name, state in self._state.items()}

    def _record(self, service, up, detail, latency=None):
        with self._lock:
            previous = self._state[service]["up"]
            self._state[service] = {"up": up, "checked_at": time.time(), "detail": detail, "latency_ms": latency}
        if previous is not None and previous != up:
            log.warning("service %s is now %s", service, "up" if up else "DOWN")

    def _broker_lost(self):
        with self._lock:
            if self.broker_reachable is not False:
                self.broker_epoch += 1
            self.broker_reachable = False

    def _probe_forever(self, service):
        client = None
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                if client is None or client.closed:
                    client = RpcClient(self.amqp_uri, timeout=self.probe_timeout, caller=f"monitor-{service}")
                self.broker_reachable = True
                health = client.call(service, "health")
                latency = round((time.monotonic() - started) * 1000, 1)
                self._record(service, health.get("status") == "ok", health, latency)
            except ServiceUnavailable as exc:
                if exc.broker_lost:
                    self._broker_lost()
                self._record(service, False, {"error": exc.reason})
            except Exception as exc:  # anything else: start again with a new client; keep probing
                self._broker_lost()
                self._record(service, False, {"error": f"{exc.__class__.__name__}: {exc}"})
                if client is not None:
                    client.close()
                client = None
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - started)))


class Services:
    """What views use: `services.call("identity", "get_family", family_id)`."""

    def __init__(self, pool, monitor):
        self.pool = pool
        self.monitor = monitor

    def call(self, service, method, *args, **kwargs):
        if self.monitor is not None and self.monitor.is_down(service):
            raise ServiceUnavailable(service, "the service is not answering")
        client = self.pool.client(self.monitor.broker_epoch if self.monitor is not None else 0)
        try:
            return client.call(service, method, *args, **kwargs)
        except (RemoteError, ServiceUnavailable):
            raise  # an answer, a timeout (the client stays usable) or a lost broker (it closed itself)
        except Exception:
            self.pool.discard(client)  # never keep a client in an unknown state for the next request
            raise
