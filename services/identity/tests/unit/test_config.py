"""The service's config.yml resolves with its defaults and honours the environment."""
from espace_common.config import load_config
from espace_common.launch import alembic_ini, config_file, service_class_path


def test_defaults_point_at_a_local_broker_and_sqlite():
    config = load_config(config_file("identity"), environ={})
    assert config["AMQP_URI"] == "amqp://guest:guest@localhost:5672/"
    assert config["DATABASE_URL"] == "sqlite:///var/identity.sqlite"
    assert config["max_workers"] == 10


def test_environment_wins():
    config = load_config(config_file("identity"), environ={"DATABASE_URL": "postgresql://db/identity", "MAX_WORKERS": "4"})
    assert config["DATABASE_URL"] == "postgresql://db/identity" and config["max_workers"] == 4


def test_the_launcher_finds_the_service_class_and_its_migrations():
    assert service_class_path("identity").startswith("identity.service:")
    assert alembic_ini("identity").is_file()
