"""A relay keeps trying whatever fails, even closing its broken connection (no broker needed)."""
import eventlet

from espace_common.clock import SystemClock
from espace_common import nameko_support
from espace_common.nameko_support import Relay


class FlakyRelay(Relay):
    """Fails twice, and fails to drop its connection each time, then drains."""

    name = "flaky relay"

    def __init__(self):
        super().__init__(engine=None, clock=SystemClock())
        self.attempts = 0
        self.resets = 0

    def drain(self):
        self.attempts += 1
        if self.attempts <= 2:
            raise ConnectionResetError(104, "Connection reset by peer")
        return False

    def reset(self):
        self.resets += 1
        raise OSError("closing a dead socket")


def test_a_relay_survives_a_failure_to_drop_its_connection(monkeypatch):
    monkeypatch.setattr(nameko_support, "RELAY_RETRY_SECONDS", 0.01)
    relay = FlakyRelay()
    relay.start()
    try:
        for _ in range(200):
            eventlet.sleep(0.01)
            if relay.attempts >= 3:
                break
        assert relay.attempts >= 3 and relay.resets == 2
        assert relay.last_error == "ConnectionResetError: [Errno 104] Connection reset by peer"
    finally:
        relay.stop()
