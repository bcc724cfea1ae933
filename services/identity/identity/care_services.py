"""What identity asks the canteen and the crèche over RPC: does the service care for this child (issue #12's health
record)? Asked at the time of an agent's read, with a deadline: nameko's RpcProxy would wait forever."""
import logging

import eventlet

log = logging.getLogger(__name__)

RPC_TIMEOUT_S = 5
# The RPC each service answers: True when it cares for the child now.
QUESTIONS = {"canteen": "child_enrolled", "childcare": "child_known"}


class DependencyUnavailable(Exception):
    """The service asked did not answer in time; its str() is the service's name (the gateway answers 503)."""


class CareServices:
    def __init__(self, proxies):
        self.proxies = proxies  # {"canteen": RpcProxy, "childcare": RpcProxy}

    def attends(self, service, child_id):
        try:
            with eventlet.Timeout(RPC_TIMEOUT_S):
                return bool(getattr(self.proxies[service], QUESTIONS[service])(child_id))
        except eventlet.Timeout:
            log.warning("%s did not answer within %s s", service, RPC_TIMEOUT_S)
            raise DependencyUnavailable(service) from None
