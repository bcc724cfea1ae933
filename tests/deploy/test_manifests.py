"""The Dockerfiles and the Kubernetes manifests, checked by reading them: no container engine, no cluster."""
import functools
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
SERVICES = ("identity", "canteen", "childcare", "billing", "payment")
COMPONENTS = SERVICES + ("gateway",)
DOCKERFILES = {name: ROOT / "services" / name / "Dockerfile" for name in SERVICES}
DOCKERFILES["gateway"] = ROOT / "gateway" / "Dockerfile"


def instructions(path):
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [tuple(line.split(None, 1)) for line in lines if line and not line.startswith("#")]


def manifests():
    return sorted(path for path in K8S.glob("*.yaml") if path.name != "kustomization.yaml")


@functools.cache
def documents():
    return tuple(doc for path in manifests() for doc in yaml.safe_load_all(path.read_text()) if doc)


def of_kind(kind):
    return {doc["metadata"]["name"]: doc for doc in documents() if doc["kind"] == kind}


def containers(workload):
    return workload["spec"]["template"]["spec"]["containers"]


def image_component(image):
    """'registry/espace-famille/identity:1.0' -> 'identity'."""
    repository = image.rsplit("@", 1)[0]
    repository = re.sub(r":[^/:]+$", "", repository)
    owner, _, name = repository.rpartition("/")
    assert owner.endswith("espace-famille"), image
    return name


@pytest.mark.parametrize("component", COMPONENTS)
def test_dockerfile_is_multi_stage_and_runs_as_non_root(component):
    steps = instructions(DOCKERFILES[component])
    assert sum(1 for op, _ in steps if op == "FROM") >= 2
    users = [args for op, args in steps if op == "USER"]
    assert users, "no USER: the image would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    package = "gateway" if component == "gateway" else component
    assert steps[-1] == ("CMD", f'["python", "-m", "{package}"]')


@pytest.mark.parametrize("component", COMPONENTS)
def test_dockerfile_copies_only_what_exists(component):
    """The build context is the repository root; a wrong COPY path would only show at build time."""
    for op, args in instructions(DOCKERFILES[component]):
        if op == "COPY" and "--from" not in args:
            *sources, _destination = args.split()
            for source in sources:
                assert (ROOT / source).exists(), f"{DOCKERFILES[component]}: COPY {source}"


def test_every_manifest_parses():
    assert manifests()
    for path in manifests():
        docs = [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
        assert docs, path
        for doc in docs:
            assert {"apiVersion", "kind", "metadata"} <= doc.keys(), path


def test_kustomization_lists_every_manifest():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == [path.name for path in manifests()]
    assert {image_component(image["name"]) for image in kustomization["images"]} == set(COMPONENTS)


def test_one_deployment_per_component_each_on_its_own_image():
    deployments = of_kind("Deployment")
    assert sorted(deployments) == sorted(COMPONENTS)
    for name, deployment in deployments.items():
        assert [image_component(c["image"]) for c in containers(deployment)] == [name]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_every_service_has_a_migration_job_on_the_same_image():
    deployments, jobs = of_kind("Deployment"), of_kind("Job")
    for service in SERVICES:
        job = jobs[f"{service}-migrate"]
        (container,) = containers(job)
        assert container["image"] == containers(deployments[service])[0]["image"]
        assert container["command"] == ["alembic", "-c", "/app/alembic.ini", "upgrade", "head"]


def test_service_replicas_and_probes():
    for service in SERVICES:
        deployment = of_kind("Deployment")[service]
        assert deployment["spec"]["replicas"] >= 2
        (container,) = containers(deployment)
        for probe in ("readinessProbe", "livenessProbe"):
            command = container[probe]["exec"]["command"]
            assert command[:4] == ["python", "-m", "espace_common.probe", service]
        assert {"requests", "limits"} <= container["resources"].keys()


def test_gateway_is_reachable_and_protected():
    gateway = of_kind("Deployment")["gateway"]
    assert gateway["spec"]["replicas"] == 3
    (container,) = containers(gateway)
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    # One service down must not take every gateway pod out of the Service.
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
    pod_labels = gateway["spec"]["template"]["metadata"]["labels"]
    assert of_kind("Service")["gateway"]["spec"]["selector"].items() <= pod_labels.items()
    assert of_kind("PodDisruptionBudget")["gateway"]["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert of_kind("HorizontalPodAutoscaler")["gateway"]["spec"]["scaleTargetRef"]["name"] == "gateway"
    backend = of_kind("Ingress")["gateway"]["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == "gateway"


def test_referenced_configmaps_and_secrets_are_defined():
    defined = {("ConfigMap", name) for name in of_kind("ConfigMap")} | {("Secret", name) for name in of_kind("Secret")}
    workloads = list(of_kind("Deployment").values()) + list(of_kind("Job").values())
    for workload in workloads:
        for container in containers(workload):
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    assert ("ConfigMap", source["configMapRef"]["name"]) in defined
                if "secretRef" in source:
                    assert ("Secret", source["secretRef"]["name"]) in defined
            for variable in container.get("env", []):
                ref = variable.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    secret = of_kind("Secret")[ref["name"]]
                    assert ref["key"] in secret["stringData"]
