"""The service's config.yml resolves with its defaults and honours the environment."""
from espace_common.config import load_config
from espace_common.launch import alembic_ini, config_file, service_class_path


def test_defaults_point_at_a_local_broker_and_sqlite():
    config = load_config(config_file("payment"), environ={})
    assert config["AMQP_URI"] == "amqp://guest:guest@localhost:5672/"
    assert config["DATABASE_URL"] == "sqlite:///var/payment.sqlite"
    assert config["max_workers"] == 10


def test_environment_wins():
    config = load_config(config_file("payment"), environ={"DATABASE_URL": "postgresql://db/payment", "MAX_WORKERS": "4"})
    assert config["DATABASE_URL"] == "postgresql://db/payment" and config["max_workers"] == 4


def test_the_launcher_finds_the_service_class_and_its_migrations():
    assert service_class_path("payment").startswith("payment.service:")
    assert alembic_ini("payment").is_file()


# --- The Paybox settings (policy.py): a missing or malformed one stops the service with one sentence -----------

import pytest  # noqa: E402

from espace_common.config import ConfigError  # noqa: E402
from espace_deploy.paybox_settings import local_payment_env  # noqa: E402
from payment.policy import SHIPPED_PUBLIC_KEY, PaymentSettings  # noqa: E402


def paybox_config(**environ):
    return load_config(config_file("payment"), environ={**local_payment_env(), **environ})


def test_the_local_sandbox_settings_are_valid_and_keep_leading_zeros():
    settings = PaymentSettings.from_config(paybox_config(PAYBOX_RANG="032", PAYBOX_SITE="0999888"))
    assert (settings.site, settings.rang, settings.identifiant) == ("0999888", "032", "107904776")
    assert settings.environment == "sandbox" and settings.notification_url().endswith("/api/v1/paybox/notifications")


def test_paybox_s_published_key_is_the_default():
    settings = PaymentSettings.from_config(paybox_config(PAYBOX_PUBLIC_KEY_FILE=""))
    assert settings.public_key_file == str(SHIPPED_PUBLIC_KEY) and settings.public_key.key_size == 1024


@pytest.mark.parametrize("name, value", [
    ("PAYBOX_SITE", ""), ("PAYBOX_SITE", "12345"), ("PAYBOX_RANG", "1"), ("PAYBOX_IDENTIFIANT", "abc"),
    ("PAYBOX_SECRET", ""), ("PAYBOX_SECRET", "not hex"), ("PAYBOX_SECRET", "ABC"), ("PAYBOX_ENV", ""),
    ("PAYBOX_ENV", "prod"), ("PAYBOX_PUBLIC_KEY_FILE", "/nonexistent.pem"),
    ("PAYBOX_PUBLIC_KEY_FILE", __file__), ("PAYBOX_MAIN_URL", "ftp://x"), ("PUBLIC_URL", "localhost"),
    ("PAYBOX_AVAILABILITY_TIMEOUT_S", "soon"),
])
def test_a_missing_or_malformed_setting_is_named(name, value):
    with pytest.raises(ConfigError) as refused:
        PaymentSettings.from_config(paybox_config(**{name: value}))
    assert refused.value.setting == name


def test_the_migrated_schema_matches_the_tables(tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from espace_common.db import create_database_engine
    from espace_deploy.testing import migrated_sqlite
    from payment.orm import metadata
    engine = create_database_engine(f"sqlite:///{migrated_sqlite('payment', tmp_path)}")
    try:
        with engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), metadata) == []
    finally:
        engine.dispose()
