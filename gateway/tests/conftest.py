import pytest

from espace_common.rpc_client import RemoteError, ServiceUnavailable
from gateway import create_app


class FakeServices:
    """Stands in for the broker: answers from a table, or raises what a test asks."""

    def __init__(self):
        self.answers = {}
        self.calls = []
        self.monitor = None

    def call(self, service, method, *args, **kwargs):
        self.calls.append((service, method, args, kwargs))
        answer = self.answers.get((service, method))
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(*args, **kwargs)
        if answer is None:
            raise ServiceUnavailable(service, "not answering in this test")
        return answer


@pytest.fixture
def services():
    return FakeServices()


@pytest.fixture
def app(services):
    return create_app({"LOCAL_RUN": True, "SECRET_KEY": "test", "TESTING": True}, services=services)


@pytest.fixture
def client(app):
    return app.test_client()


def remote(kind, code="some_code", message="Un message.", *extra):
    return RemoteError.from_reply("identity", {"exc_type": kind, "exc_args": [code, message, *extra]})
