"""What the payment use cases ask outside the service: billing and identity over RPC, Paybox's availability page.

Another service's refusal comes back from nameko's RpcProxy as a RemoteError whose value reads "code: message";
it is raised again here as the same domain error, so that the gateway answers it as that service meant.
"""
import logging
import urllib.error
import urllib.request

import eventlet
from nameko.exceptions import RemoteError

from espace_common.errors import DOMAIN_ERRORS

from . import domain

log = logging.getLogger(__name__)

# nameko's RpcProxy waits forever; a parent is waiting, and a stuck worker would be lost for good.
RPC_TIMEOUT_S = 8


class DependencyUnavailable(Exception):
    """Another service did not answer in time; its str() is the service's name (the gateway answers 503)."""


def calling(service, call, *args):
    """call(*args) within RPC_TIMEOUT_S; a refusal of the other service raised again as the same domain error."""
    try:
        with eventlet.Timeout(RPC_TIMEOUT_S):
            return call(*args)
    except eventlet.Timeout:
        log.warning("%s did not answer within %s s", service, RPC_TIMEOUT_S)
        raise DependencyUnavailable(service) from None
    except RemoteError as error:
        raise reraised(error) from None


def reraised(error):
    """The domain error a RemoteError carries, or the RemoteError itself."""
    kind = DOMAIN_ERRORS.get(error.exc_type)
    if kind is None or kind.__name__ == "Throttled":
        return error
    code, _, message = str(error.value or "").partition(": ")
    return kind(code or "remote_error", message or code)


class Billing:
    def __init__(self, proxy):
        self.proxy = proxy

    def invoice(self, invoice_id, family_id):
        return calling("billing", self.proxy.invoice, invoice_id, family_id)

    def card_payments_recorded(self, transaction_ids):
        return calling("billing", self.proxy.card_payments_recorded, transaction_ids)


class Payers:
    def __init__(self, proxy):
        self.proxy = proxy

    def payer(self, family_id, email):
        return domain.payer_of(calling("identity", self.proxy.get_family, family_id), email)


def probe(url, timeout):
    """The page at url, or None when it does not answer in time (a short GET: a parent is waiting)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return answer.read(10_000).decode("utf-8", "replace")
    except (OSError, ValueError, urllib.error.URLError) as exc:
        log.warning("availability page %s did not answer: %s", url, exc)
        return None
