"""Find RabbitMQ, start the local one when it is installed but stopped, or say what to install."""
import shutil
import subprocess
import time

from espace_common.amqp import check_broker
from espace_common.config import ConfigError

RABBITMQ_SERVER = ("rabbitmq-server", "/usr/sbin/rabbitmq-server", "/usr/lib/rabbitmq/bin/rabbitmq-server")


def _local_server():
    for candidate in RABBITMQ_SERVER:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def ensure_broker(amqp_uri, wait_seconds=90):
    """Return once the broker answers; raise ConfigError with one sentence otherwise."""
    try:
        check_broker(amqp_uri)
        return
    except ConfigError as first:
        server = _local_server()
        local = any(host in amqp_uri for host in ("@localhost", "@127.0.0.1", "//localhost", "//127.0.0.1"))
        if server is None or not local:
            raise ConfigError("AMQP_URI", f"RabbitMQ does not answer at {amqp_uri.split('@')[-1]} and no local "
                              "rabbitmq-server is installed: install it (apt-get install rabbitmq-server) "
                              "or point AMQP_URI at a running broker.") from first
    print("RabbitMQ is not running: starting the local rabbitmq-server…", flush=True)
    subprocess.run([server, "-detached"], check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            check_broker(amqp_uri)
            return
        except ConfigError:
            if time.monotonic() > deadline:
                raise ConfigError("AMQP_URI", f"the local rabbitmq-server was started but did not answer within {wait_seconds} s.") from None
            time.sleep(1)
