"""The probe's argument and environment handling; nothing here needs a broker."""
import socket

import pytest

from espace_common import probe


def test_unknown_service_exits_2_and_names_the_known_ones(capsys):
    with pytest.raises(SystemExit) as exit_:
        probe.main(["nope"])
    assert exit_.value.code == 2
    error = capsys.readouterr().err
    assert "unknown service 'nope'" in error
    assert "identity, canteen, childcare, billing, payment" in error


def test_missing_service_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_:
        probe.main([])
    assert exit_.value.code == 2
    assert "service" in capsys.readouterr().err


def test_timeout_must_be_positive(capsys):
    with pytest.raises(SystemExit) as exit_:
        probe.main(["identity", "--timeout", "0"])
    assert exit_.value.code == 2
    assert "--timeout" in capsys.readouterr().err


def test_missing_amqp_uri_exits_2_with_a_sentence(monkeypatch, capsys):
    monkeypatch.delenv("AMQP_URI", raising=False)
    assert probe.main(["identity"]) == 2
    assert "AMQP_URI is not set" in capsys.readouterr().err


def test_unreachable_broker_fails_the_probe(monkeypatch, capsys):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("AMQP_URI", f"amqp://guest:guest@127.0.0.1:{port}/")
    assert probe.main(["identity", "--timeout", "1"]) == 1
    assert "identity: cannot reach RabbitMQ" in capsys.readouterr().err
