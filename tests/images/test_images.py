"""The images' files checked by reading them (no engine): the Dockerfiles' two bases, deploy/compose.yaml against
what each component reads, and `make images-test`'s skip line. Running the images is `make images-test`."""
import re
from pathlib import Path

import pytest
import yaml

from espace_deploy import images

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPONENTS = images.COMPONENTS
SERVICES = images.SERVICES
K8S_MIGRATE = ["alembic", "-c", "/app/alembic.ini", "upgrade", "head"]
# Read by the gateway's launcher (gateway/__main__.py) or gunicorn, not by its config.yml.
GATEWAY_LAUNCHER_VARIABLES = {"PORT", "HOST", "WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_CMD_ARGS"}


@pytest.fixture(scope="module")
def compose():
    return images.compose_services()


def config_variables(component):
    folder = ROOT / ("gateway" if component == "gateway" else f"services/{component}")
    return set(re.findall(r"\$\{(\w+)", (folder / "config.yml").read_text()))


@pytest.mark.parametrize("name", COMPONENTS + (images.DEV,))
def test_dockerfile_builds_on_either_base_into_a_venv(name):
    text = images.dockerfile(name).read_text()
    assert re.search(r"^ARG BASE=python:3\.11-slim$", text, re.M)
    assert re.findall(r"^FROM (\S+)", text, re.M) == ["${BASE}", "${BASE}"]
    assert "--mount=type=cache,target=/root/.cache/pip" in text
    assert "COPY --from=build /opt/venv /opt/venv" in text
    assert re.search(r"^ENV .*PATH=/opt/venv/bin:\$PATH", text, re.M)
    assert re.findall(r"^USER (\S+)", text, re.M) == ["10001:10001"]


def test_dev_dockerfile_copies_only_what_exists():
    for line in images.dockerfile(images.DEV).read_text().splitlines():
        if line.startswith("COPY ") and "--from" not in line:
            *sources, _ = line.split()[1:]
            assert all((ROOT / source).exists() for source in sources), line


def test_compose_runs_every_component_on_its_image_after_its_migration(compose):
    for name in COMPONENTS:
        service = compose[name]
        assert service["image"] == f"${{IMAGE_PREFIX:-espace-famille}}/{name}:${{TAG:-{images.VERSION}}}"
        assert "profiles" not in service
        assert service["depends_on"]["rabbitmq"] == {"condition": "service_healthy"}
    for name in SERVICES:
        migrate = compose[f"{name}-migrate"]
        assert migrate["image"] == compose[name]["image"]
        assert migrate["command"] == K8S_MIGRATE
        assert migrate["environment"]["DATABASE_URL"] == compose[name]["environment"]["DATABASE_URL"]
        assert migrate["depends_on"]["postgres"] == {"condition": "service_healthy"}
        assert compose[name]["depends_on"][f"{name}-migrate"] == {"condition": "service_completed_successfully"}


def test_each_service_has_its_own_database(compose):
    urls = [compose[name]["environment"]["DATABASE_URL"] for name in SERVICES]
    assert [url.rsplit("/", 1)[1] for url in urls] == list(SERVICES)
    created = re.findall(r"CREATE DATABASE (\w+);", (DEPLOY / "images" / "postgres-init.sql").read_text())
    assert created == list(SERVICES)


@pytest.mark.parametrize("name", COMPONENTS)
def test_compose_sets_only_variables_the_component_reads(compose, name):
    known = config_variables(name) | (GATEWAY_LAUNCHER_VARIABLES if name == "gateway" else set())
    assert set(compose[name]["environment"]) <= known


@pytest.mark.parametrize("name", COMPONENTS + ("paybox-sandbox", "mailcatcher"))
def test_compose_runs_containers_as_kubernetes_does(compose, name):
    service = compose[name]
    assert service["user"] == "10001:10001"
    assert service["read_only"] is True and service["tmpfs"] == ["/tmp"]
    assert service["cap_drop"] == ["ALL"]
    assert service["network_mode"] == "host"


def test_files_are_on_named_volumes(compose):
    for name in ("identity", "canteen", "childcare", "billing"):
        folder = compose[name]["environment"][f"{name.upper()}_FILES_DIR"]
        mounts = [volume.split(":")[1] for volume in compose[name]["volumes"]]
        assert any(folder.startswith(mount + "/") for mount in mounts), (name, folder, mounts)
        assert compose[name]["volumes"][0].split(":")[0] == f"{name}-files"


def test_bind_mounts_exist(compose):
    for service in compose.values():
        for volume in service.get("volumes", []):
            if volume.startswith("."):
                assert (DEPLOY / volume.split(":")[0]).is_file(), volume


def test_sandbox_and_mail_catcher_only_in_the_dev_profile(compose):
    dev = {name for name, service in compose.items() if "profiles" in service}
    assert dev == {"paybox-sandbox", "mailcatcher"}
    assert all(compose[name]["profiles"] == ["dev"] for name in dev)
    assert all(compose[name]["image"].startswith("${IMAGE_PREFIX:-espace-famille}/dev:") for name in dev)


def test_secrets_have_no_default():
    text = (DEPLOY / "compose.yaml").read_text()
    for secret in ("SECRET_KEY", "LETTER_SECRET", "RABBITMQ_PASSWORD", "POSTGRES_PASSWORD", "PAYBOX_SECRET"):
        assert re.search(rf"\$\{{{secret}:\?", text), secret
        assert not re.search(rf"\$\{{{secret}:-", text), secret
    example = dict(line.split("=", 1) for line in (DEPLOY / "compose.env.example").read_text().splitlines()
                   if line and not line.startswith("#"))
    assert {"SECRET_KEY", "LETTER_SECRET", "RABBITMQ_PASSWORD", "POSTGRES_PASSWORD"} <= example.keys()
    assert not any(example[secret] for secret in ("SECRET_KEY", "LETTER_SECRET", "PAYBOX_SECRET"))


def test_the_compose_check_swaps_only_the_broker_and_the_databases(tmp_path):
    urls = {name: f"postgresql://postgres@127.0.0.1:5432/check_{name}" for name in SERVICES}
    path = images.compose_for_check("amqp://guest:guest@localhost:5672/check", urls, tmp_path)
    services = yaml.safe_load(path.read_text())["services"]
    assert "rabbitmq" not in services and "postgres" not in services
    for name in SERVICES:
        assert services[name]["environment"]["DATABASE_URL"] == urls[name]
        assert services[f"{name}-migrate"]["environment"]["DATABASE_URL"] == urls[name]
        assert services[name]["environment"]["AMQP_URI"].endswith("/check")
        assert "postgres" not in services[f"{name}-migrate"].get("depends_on", {})
    for service in services.values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert not source.startswith(".") and (source.startswith("/") or source.endswith("-files")), volume


def test_images_test_is_skipped_in_one_line_without_an_engine(monkeypatch, capsys):
    monkeypatch.setattr(images, "_found", lambda command: False)
    monkeypatch.setattr(images.os, "geteuid", lambda: 1000)
    assert images.main(["test"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("images-test skipped: ")
    assert "sudo apt-get install podman runc debootstrap" in out[0]
    assert images.main(["build"]) == 2
