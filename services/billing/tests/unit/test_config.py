"""The service's config.yml resolves with its defaults and honours the environment."""
from espace_common.config import load_config
from espace_common.launch import alembic_ini, config_file, service_class_path


def test_defaults_point_at_a_local_broker_and_sqlite():
    config = load_config(config_file("billing"), environ={})
    assert config["AMQP_URI"] == "amqp://guest:guest@localhost:5672/"
    assert config["DATABASE_URL"] == "sqlite:///var/billing.sqlite"
    assert config["max_workers"] == 10


def test_environment_wins():
    config = load_config(config_file("billing"), environ={"DATABASE_URL": "postgresql://db/billing", "MAX_WORKERS": "4"})
    assert config["DATABASE_URL"] == "postgresql://db/billing" and config["max_workers"] == 4


def test_the_launcher_finds_the_service_class_and_its_migrations():
    assert service_class_path("billing").startswith("billing.service:")
    assert alembic_ini("billing").is_file()


def test_billing_settings_come_from_config_yml():
    from billing.use_cases import BillingSettings

    assert BillingSettings.from_config(load_config(config_file("billing"), environ={})).due_days == 30
    config = load_config(config_file("billing"), environ={"BILLING_DUE_DAYS": "45"})
    assert BillingSettings.from_config(config).due_days == 45
