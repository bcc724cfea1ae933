"""Broker topology and reachability, shared by services, the gateway and the runner."""
from amqp.exceptions import AMQPError
from kombu import Connection, Exchange, Queue
from kombu.exceptions import OperationalError

from .config import ConfigError
from .events import SUBSCRIPTIONS

RPC_EXCHANGE = "nameko-rpc"

# What an absent or vanishing broker raises through kombu and py-amqp: the socket's OSError
# (ECONNREFUSED, a reset), the protocol's errors (CONNECTION_FORCED when RabbitMQ stops, a closed
# channel) and kombu's OperationalError, which wraps the others when kombu retried first.
BROKER_ERRORS = (OSError, AMQPError, OperationalError)


def rpc_exchange():
    return Exchange(RPC_EXCHANGE, type="topic", durable=True)


def event_exchange(source):
    # Same arguments as nameko's get_event_exchange, or the broker refuses the redeclaration.
    return Exchange(f"{source}.events", type="topic", durable=True, delivery_mode=2, auto_delete=False)


def subscription_queue(subscription):
    return Queue(
        subscription.queue_name, exchange=event_exchange(subscription.source),
        routing_key=subscription.event, durable=True, auto_delete=False, exclusive=False,
    )


def declare_topology(connection, subscriptions=SUBSCRIPTIONS):
    """Declare every event exchange and subscriber queue; harmless when they exist."""
    channel = connection.channel()
    try:
        for subscription in subscriptions:
            subscription_queue(subscription)(channel).declare()
    finally:
        channel.close()


def check_broker(amqp_uri, timeout=3.0):
    """Open a connection once; raise ConfigError with one sentence when RabbitMQ cannot be used."""
    connection = Connection(amqp_uri, connect_timeout=timeout)
    try:
        connection.ensure_connection(max_retries=1, timeout=timeout)
    except Exception as exc:  # kombu raises several unrelated types for this
        safe = connection.as_uri()
        raise ConfigError("AMQP_URI", f"cannot reach RabbitMQ at {safe} ({exc.__class__.__name__}: {exc}).") from None
    finally:
        connection.release()
