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


def test_podman_compose_reads_it_whole():
    """Debian's podman-compose (1.0.3) parses and interpolates the file into one `podman create` per service, with
    its image and settings (--dry-run: nothing created but the named volumes, removed after). It cannot run it:
    1.0.3 adds `--net <project>_default` to containers with network_mode: host, which podman refuses."""
    import os
    import shlex
    import shutil
    import subprocess
    import uuid
    if not shutil.which("podman-compose"):
        pytest.skip("podman-compose is not installed")
    example = dict(line.split("=", 1) for line in (DEPLOY / "compose.env.example").read_text().splitlines()
                   if line and not line.startswith("#"))
    filled = {name: value or f"test-{name.lower()}" for name, value in example.items()}
    project = f"ef-check-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, **filled, "CONTAINERS_CONF": str(images.CONTAINERS_CONF)}
    try:
        answer = subprocess.run(["podman-compose", "--dry-run", "-p", project, "-f", str(DEPLOY / "compose.yaml"),
                                 "up", "--no-start"], capture_output=True, text=True, env=env, timeout=120)
    finally:
        volumes = subprocess.run(
            ["podman", "volume", "ls", "-q", "--filter", f"label=io.podman.compose.project={project}"],
            capture_output=True, text=True, env=env).stdout.split()
        if volumes:
            subprocess.run(["podman", "volume", "rm", *volumes], capture_output=True, env=env)
    assert answer.returncode == 0, answer.stderr
    creates = {}
    for line in (answer.stdout + answer.stderr).splitlines():
        if line.startswith("podman create "):
            args = shlex.split(line)
            name = next(a for a in args if a.startswith("--name=")).split("=", 1)[1]
            service = name.removeprefix(f"{project}_").removesuffix("_1")
            creates[service] = args
    assert set(creates) == set(COMPONENTS) | {f"{s}-migrate" for s in SERVICES} | {
        "rabbitmq", "postgres", "paybox-sandbox", "mailcatcher"}
    for service, args in creates.items():
        assert "${" not in " ".join(args), service
        settings = dict(args[i + 1].split("=", 1) for i, a in enumerate(args) if a == "-e")
        if service in COMPONENTS:
            assert f"localhost/espace-famille/{service}:{images.VERSION}" in args
            assert set(settings) <= config_variables(service) | GATEWAY_LAUNCHER_VARIABLES
            assert {"--read-only", "-u"} <= set(args) and "10001:10001" in args
    assert dict(a.split("=", 1) for a in creates["identity"] if "LETTER_SECRET=" in a)["LETTER_SECRET"] == \
        "test-letter_secret"
    assert "PAYBOX_SITE=1999888" in creates["payment"]


def test_images_test_is_skipped_in_one_line_without_an_engine(monkeypatch, capsys):
    monkeypatch.setattr(images, "_found", lambda command: False)
    monkeypatch.setattr(images.os, "geteuid", lambda: 1000)
    assert images.main(["test"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("images-test skipped: ")
    assert "sudo apt-get install podman runc debootstrap" in out[0]
    assert images.main(["build"]) == 2
