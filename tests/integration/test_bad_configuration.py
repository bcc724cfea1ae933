"""A wrong setting stops a process at start with one sentence naming it, never a stack trace."""
import os
import subprocess
import sys

import pytest

from espace_deploy.suite import ROOT


def start(module, **env):
    full_env = dict(os.environ, **env)
    return subprocess.run([sys.executable, "-m", module], env=full_env, cwd=ROOT, capture_output=True,
                          text=True, timeout=60)


def assert_one_sentence_naming(result, setting):
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert setting in lines[0] and "Traceback" not in result.stderr


@pytest.mark.parametrize("module", ["identity", "payment"])
def test_unreachable_broker(module, tmp_path):
    result = start(module, AMQP_URI="amqp://guest:guest@127.0.0.1:1/", DATABASE_URL=f"sqlite:///{tmp_path}/x.sqlite")
    # The schema check comes before the broker check, so migrate first for a fair test.
    if "DATABASE_URL" in result.stderr:
        from espace_common.migrations import upgrade
        upgrade(ROOT / "services" / module / "alembic.ini", f"sqlite:///{tmp_path}/x.sqlite")
        result = start(module, AMQP_URI="amqp://guest:guest@127.0.0.1:1/", DATABASE_URL=f"sqlite:///{tmp_path}/x.sqlite")
    assert_one_sentence_naming(result, "AMQP_URI")


@pytest.mark.parametrize("url", ["postgresql://nobody@127.0.0.1:1/espace", "pas-une-url", "sqlite:////proc/forbidden/x.sqlite"])
def test_wrong_database_url(url):
    assert_one_sentence_naming(start("identity", DATABASE_URL=url), "DATABASE_URL")


def test_database_without_schema(tmp_path):
    result = start("canteen", DATABASE_URL=f"sqlite:///{tmp_path}/empty.sqlite")
    assert_one_sentence_naming(result, "DATABASE_URL")
    assert "migrations" in result.stderr


def test_gateway_with_unreachable_broker():
    assert_one_sentence_naming(start("gateway", AMQP_URI="amqp://guest:guest@127.0.0.1:1/", LOCAL_RUN="true"), "AMQP_URI")


def test_gateway_needs_a_secret_outside_local_runs():
    result = start("gateway", LOCAL_RUN="false", SECRET_KEY="")
    assert_one_sentence_naming(result, "SECRET_KEY")


@pytest.mark.parametrize("secret", ["", "not-a-fernet-key"])
def test_identity_needs_a_letter_secret(secret, tmp_path):
    from espace_common.migrations import upgrade
    url = f"sqlite:///{tmp_path}/identity.sqlite"
    upgrade(ROOT / "services" / "identity" / "alembic.ini", url)
    assert_one_sentence_naming(start("identity", DATABASE_URL=url, LETTER_SECRET=secret), "LETTER_SECRET")


def test_billing_needs_the_font_of_its_pdfs(tmp_path):
    from espace_common.migrations import upgrade
    url = f"sqlite:///{tmp_path}/billing.sqlite"
    upgrade(ROOT / "services" / "billing" / "alembic.ini", url)
    result = start("billing", DATABASE_URL=url, BILLING_FONT=str(tmp_path / "absente.ttf"))
    assert_one_sentence_naming(result, "BILLING_FONT")
    assert "fonts-dejavu-core" in result.stderr
@pytest.mark.parametrize("setting, value", [("PAYBOX_SECRET", ""), ("PAYBOX_ENV", "prod"),
                                            ("PAYBOX_PUBLIC_KEY_FILE", "/nonexistent/paybox.pem")])
def test_payment_needs_its_paybox_settings(setting, value, tmp_path):
    from espace_common.migrations import upgrade
    from espace_deploy.paybox_settings import local_payment_env
    url = f"sqlite:///{tmp_path}/payment.sqlite"
    upgrade(ROOT / "services" / "payment" / "alembic.ini", url)
    env = {**local_payment_env(), "DATABASE_URL": url, setting: value}
    assert_one_sentence_naming(start("payment", **env), setting)
