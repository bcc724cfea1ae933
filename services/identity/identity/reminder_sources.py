"""Where reminders' facts come from (issue #12): canteen and billing over RPC, with a deadline.

As billing pulls its billable facts (billing/service.py `facts_of`): a standalone client per call with a timeout,
closed after, because nameko's RpcProxy would wait for ever on a service that is down; a failure becomes
`SourceUnavailable`, which leaves the run's slot open for the next timer.
"""
from espace_common.rpc_client import RemoteError, RpcClient, ServiceUnavailable

from .use_cases.reminders import SourceUnavailable


class _Remote:
    def __init__(self, service, amqp_uri, timeout):
        self.service, self.amqp_uri, self.timeout = service, amqp_uri, timeout

    def call(self, method, *args):
        try:
            client = RpcClient(self.amqp_uri, timeout=self.timeout, caller="identity-reminders")
        except ServiceUnavailable as exc:
            raise SourceUnavailable(f"broker unavailable ({exc.reason})") from None
        try:
            return client.call(self.service, method, *args)
        except ServiceUnavailable as exc:
            raise SourceUnavailable(f"{self.service} does not answer ({exc.reason})") from None
        except RemoteError as exc:
            raise SourceUnavailable(f"{self.service} refused {method}: {exc.code} {exc.message}") from None
        finally:
            client.close()


class CanteenSource(_Remote):
    def __init__(self, amqp_uri, timeout):
        super().__init__("canteen", amqp_uri, timeout)

    def reminder_week(self, week):
        return self.call("reminder_week", week)

    def children_to_remind(self, week, usual_weeks, usual_min_weeks):
        return self.call("children_to_remind", week, usual_weeks, usual_min_weeks)


class BillingSource(_Remote):
    def __init__(self, amqp_uri, timeout):
        super().__init__("billing", amqp_uri, timeout)

    def invoices_falling_due(self, first_day, last_day):
        return self.call("invoices_falling_due", first_day, last_day)
