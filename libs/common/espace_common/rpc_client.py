"""A thread-confined RPC client speaking nameko's wire protocol over kombu.

Every request carries a deadline: the broker drops it when it expires in the
queue (per-message TTL) and the service drops it when it is delivered late
(a frozen consumer's prefetched messages), so that nothing runs after the
caller gave up. Late replies to abandoned calls are ignored by correlation id,
so the client stays usable after a timeout. A lost broker connection closes
the client (`closed` becomes true) and the call raises ServiceUnavailable:
its owner then builds a new client instead of reusing a dead one.
"""
import socket
import time
import uuid

from kombu import Connection, Consumer, Producer, Queue

from .amqp import BROKER_ERRORS, rpc_exchange
from .errors import DOMAIN_ERRORS
from .observability import REQUEST_ID_AMQP_HEADER, current_request_id

DEADLINE_HEADER = "nameko.deadline"


class ServiceUnavailable(Exception):
    """The service did not answer in time, or the broker cannot be reached."""

    def __init__(self, service, reason, broker_lost=False):
        super().__init__(f"{service}: {reason}")
        self.service = service
        self.reason = reason
        self.broker_lost = broker_lost


class RemoteError(Exception):
    """An error raised by the remote method, with its kind, code and message."""

    def __init__(self, service, exc_type, code, message, extra=None):
        super().__init__(f"{service} raised {exc_type}: {code}: {message}")
        self.service = service
        self.exc_type = exc_type
        self.code = code
        self.message = message
        self.extra = extra or []

    @property
    def is_domain_error(self):
        return self.exc_type in DOMAIN_ERRORS

    @classmethod
    def from_reply(cls, service, error):
        exc_type = error.get("exc_type", "Exception")
        args = error.get("exc_args") or []
        if exc_type in DOMAIN_ERRORS and len(args) >= 2:
            return cls(service, exc_type, args[0], args[1], args[2:])
        return cls(service, exc_type, "internal_error", error.get("value") or exc_type)


class RpcClient:
    """Calls `service.method(...)` and waits for the reply; use one per thread."""

    def __init__(self, amqp_uri, timeout=5.0, caller="client"):
        self.timeout = timeout
        self.caller = caller
        self._replies = {}
        self.closed = False
        self._connection = Connection(amqp_uri, connect_timeout=timeout, heartbeat=0)
        try:
            self._start()
        except BROKER_ERRORS as exc:
            self.close()
            raise ServiceUnavailable("broker", f"RabbitMQ cannot be reached ({exc.__class__.__name__}: {exc})",
                                     broker_lost=True) from None

    def _start(self):
        self._connection.ensure_connection(max_retries=1, timeout=self.timeout)
        channel = self._connection.channel()
        self._reply_key = f"{self.caller}-{uuid.uuid4().hex}"
        reply_queue = Queue(
            f"rpc.reply-{self._reply_key}", exchange=rpc_exchange(), routing_key=self._reply_key,
            exclusive=True, auto_delete=True, durable=False,
        )
        self._consumer = Consumer(channel, [reply_queue], callbacks=[self._on_reply], no_ack=True, accept=["json"])
        self._consumer.consume()
        self._producer = Producer(self._connection.channel(), exchange=rpc_exchange(), serializer="json")

    def _on_reply(self, body, message):
        correlation_id = message.properties.get("correlation_id")
        self._replies[correlation_id] = body

    def call(self, service, method, *args, timeout=None, **kwargs):
        if self.closed:
            raise ServiceUnavailable(service, "this client's broker connection is closed", broker_lost=True)
        timeout = self.timeout if timeout is None else timeout
        correlation_id = uuid.uuid4().hex
        deadline = time.time() + timeout
        headers = {DEADLINE_HEADER: deadline, "nameko.call_id_stack": [f"{self.caller}.{correlation_id}"]}
        request_id = current_request_id()
        if request_id:  # nameko context data: the service's worker logs it and passes it on
            headers[REQUEST_ID_AMQP_HEADER] = request_id
        try:
            self._producer.publish(
                {"args": list(args), "kwargs": kwargs},
                routing_key=f"{service}.{method}",
                reply_to=self._reply_key,
                correlation_id=correlation_id,
                headers=headers,
                expiration=timeout,
                delivery_mode=1,
                retry=False,
            )
            while correlation_id not in self._replies:
                remaining = deadline - time.time()
                if remaining <= 0:
                    raise ServiceUnavailable(service, f"no answer within {timeout:g} s")
                try:
                    self._connection.drain_events(timeout=remaining)
                except socket.timeout:
                    continue
        except ServiceUnavailable:
            raise
        except BROKER_ERRORS as exc:
            # The connection (or its channel) is gone: this client cannot be used again.
            self.close()
            raise ServiceUnavailable(service, f"broker connection lost ({exc.__class__.__name__}: {exc})",
                                     broker_lost=True) from None
        reply = self._replies.pop(correlation_id)
        error = reply.get("error")
        if error:
            raise RemoteError.from_reply(service, error)
        return reply.get("result")

    def close(self):
        if self.closed:
            return
        self.closed = True
        try:
            self._connection.release()
        except Exception:  # closing a broken connection may raise; it is gone either way
            pass

