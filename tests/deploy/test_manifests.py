"""The Dockerfiles and the Kubernetes manifests (base, dev, prod as `kubectl kustomize` renders them), checked offline."""
import copy
import functools
import ipaddress
import re
import shutil
import subprocess
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


# ---------------------------------------------------------------------------------------------------------
# Rendering and validation

KUBERNETES_RELEASE = "1.32"
TARGETS = ("base", "dev", "prod")
OVERLAYS = ("dev", "prod")
# The operators' kinds and the schema each is validated against (deploy/k8s/schemas/README.md).
CUSTOM_SCHEMAS = {
    ("rabbitmq.com/v1beta1", "RabbitmqCluster"): "rabbitmqcluster.yaml",
    ("rabbitmq.com/v1beta1", "Vhost"): "vhost.yaml",
    ("rabbitmq.com/v1beta1", "User"): "user.yaml",
    ("rabbitmq.com/v1beta1", "Permission"): "permission.yaml",
    ("postgresql.cnpg.io/v1", "Cluster"): "cnpg-cluster.yaml",
    ("postgresql.cnpg.io/v1", "Database"): "cnpg-database.yaml",
    ("postgresql.cnpg.io/v1", "ScheduledBackup"): "cnpg-scheduledbackup.yaml",
}
# Images that are not the suite's: the dev overlay's broker and database, the operators' operands.
THIRD_PARTY_IMAGES = {"rabbitmq:3.13.7-management", "postgres:15.10", "ghcr.io/cloudnative-pg/postgresql:15.10"}
POD_KINDS = ("Deployment", "StatefulSet", "Job")


@functools.cache
def rendered(target):
    """The objects `kubectl kustomize` renders for base, dev or prod."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.fail("kubectl is not on the PATH: the manifests are rendered with `kubectl kustomize` "
                    "(kubectl 1.32 or later, which carries kustomize 5.5).", pytrace=False)
    path = K8S / target if target == "base" else K8S / "overlays" / target
    result = subprocess.run([kubectl, "kustomize", str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"kubectl kustomize {path}: {result.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def of_kind(target, kind):
    return {doc["metadata"]["name"]: doc for doc in rendered(target) if doc["kind"] == kind}


def containers(workload):
    return workload["spec"]["template"]["spec"]["containers"]


def pod_spec(workload):
    return workload["spec"]["template"]["spec"]


def env_of(container):
    return {variable["name"]: variable for variable in container.get("env", [])}


@functools.cache
def custom_validators():
    import jsonschema
    from referencing import Registry, Resource

    schemas = {path.name: yaml.safe_load(path.read_text()) for path in (K8S / "schemas").glob("*.yaml")}
    registry = Registry().with_resources((schema["$id"], Resource.from_contents(schema)) for schema in schemas.values())
    validators = {}
    for key, filename in CUSTOM_SCHEMAS.items():
        schema = schemas[filename]
        jsonschema.Draft202012Validator.check_schema(schema)
        validators[key] = jsonschema.Draft202012Validator(schema, registry=registry)
    return validators


def validation_errors(doc):
    """What is wrong with one object: [] when it is valid for Kubernetes 1.32 or for its operator."""
    try:
        import kubernetes_validate
        from kubernetes_validate import utils
    except ImportError:
        pytest.fail("kubernetes-validate is not installed: `make venv` installs it (requirements-dev.txt).",
                    pytrace=False)

    key = (doc.get("apiVersion"), doc.get("kind"))
    if key in CUSTOM_SCHEMAS:
        return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
                for error in custom_validators()[key].iter_errors(doc)]
    try:
        used = kubernetes_validate.validate(doc, KUBERNETES_RELEASE + ".0", strict=True)
    except utils.SchemaNotFoundError:
        return [f"{key}: neither a Kubernetes {KUBERNETES_RELEASE} kind nor one of deploy/k8s/schemas/"]
    except utils.ValidationError as error:
        return [f"{'/'.join(map(str, error.path))}: {error.message}"]
    assert used == KUBERNETES_RELEASE, f"kubernetes-validate has no {KUBERNETES_RELEASE} schemas (used {used})"
    return []


@pytest.mark.parametrize("target", TARGETS)
def test_every_object_is_valid(target):
    problems = {f"{doc['kind']}/{doc['metadata']['name']}": validation_errors(doc) for doc in rendered(target)}
    assert not {name: errors for name, errors in problems.items() if errors}


@pytest.mark.parametrize("target", TARGETS)
def test_every_object_is_in_the_namespace(target):
    for doc in rendered(target):
        if doc["kind"] == "Namespace":
            assert doc["metadata"]["name"] == "espace-famille"
        else:
            assert doc["metadata"].get("namespace") == "espace-famille", doc["metadata"]["name"]


def a_deployment():
    return copy.deepcopy(of_kind("prod", "Deployment")["canteen"])


@pytest.mark.parametrize("spoil, unknown", [
    (lambda d: containers(d)[0].update(readinessProbes=containers(d)[0]["readinessProbe"]), "readinessProbes"),
    (lambda d: d["spec"].update(replica=2), "replica"),
    (lambda d: containers(d)[0]["resources"].update(limit={"cpu": "1"}), "limit"),
])
def test_validation_refuses_an_unknown_field(spoil, unknown):
    """Kubernetes' strict schemas: a misspelt field is an error, not an ignored line."""
    deployment = a_deployment()
    spoil(deployment)
    assert any(unknown in error for error in validation_errors(deployment))


@pytest.mark.parametrize("kind, path, field", [
    ("Cluster", ("spec",), "instance"),
    ("Cluster", ("spec", "backup", "barmanObjectStore"), "destinationPth"),
    ("RabbitmqCluster", ("spec",), "replica"),
    ("User", ("spec",), "password"),
    ("ScheduledBackup", ("spec",), "cron"),
])
def test_custom_resource_schemas_refuse_an_unknown_field(kind, path, field):
    (resource,) = of_kind("prod", kind).values()
    resource = copy.deepcopy(resource)
    node = resource
    for step in path:
        node = node[step]
    node[field] = "x"
    assert validation_errors(resource)


def test_custom_resource_schemas_check_values():
    cluster = copy.deepcopy(next(iter(of_kind("prod", "Cluster").values())))
    cluster["spec"]["backup"]["barmanObjectStore"]["data"]["compression"] = "lz4"   # WAL only in 1.25
    assert validation_errors(cluster)
    backup = copy.deepcopy(next(iter(of_kind("prod", "ScheduledBackup").values())))
    backup["spec"]["schedule"] = "0 2 * * *"   # five fields: CloudNativePG wants seconds first
    assert validation_errors(backup)
    permission = copy.deepcopy(next(iter(of_kind("prod", "Permission").values())))
    permission["spec"]["user"] = "espace"      # user and userReference both
    assert validation_errors(permission)


# ---------------------------------------------------------------------------------------------------------
# Workloads: probes, resources, non-root

def workload_problems(workload):
    """Why a workload is not fit to run: missing probes, resources or a non-root security context."""
    problems = []
    spec = pod_spec(workload)
    pod_security = spec.get("securityContext", {})
    for container in spec["containers"]:
        name = container["name"]
        if workload["kind"] != "Job":
            for probe in ("readinessProbe", "livenessProbe"):
                if not container.get(probe):
                    problems.append(f"{name}: no {probe}")
        resources = container.get("resources", {})
        for part in ("requests", "limits"):
            if not {"cpu", "memory"} <= resources.get(part, {}).keys():
                problems.append(f"{name}: resources.{part} needs cpu and memory")
        security = {**pod_security, **container.get("securityContext", {})}
        if security.get("runAsNonRoot") is not True:
            problems.append(f"{name}: runAsNonRoot is not true")
        if security.get("runAsUser", 1) == 0:
            problems.append(f"{name}: runs as uid 0")
        container_security = container.get("securityContext", {})
        if container_security.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{name}: allowPrivilegeEscalation is not false")
        if container_security.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{name}: the root filesystem is writable")
        if "ALL" not in container_security.get("capabilities", {}).get("drop", []):
            problems.append(f"{name}: capabilities are not all dropped")
    return problems


@pytest.mark.parametrize("target", TARGETS)
def test_every_workload_has_probes_resources_and_runs_as_non_root(target):
    workloads = [doc for doc in rendered(target) if doc["kind"] in POD_KINDS]
    assert workloads
    assert {f"{doc['kind']}/{doc['metadata']['name']}": workload_problems(doc) for doc in workloads} == {
        f"{doc['kind']}/{doc['metadata']['name']}": [] for doc in workloads}


def _without(path):
    """A spoiler that deletes the field at path (keys and list indexes) from a Deployment."""
    def spoil(deployment):
        *parents, last = path
        node = deployment
        for step in parents:
            node = node[step]
        del node[last]
    return spoil


POD = ("spec", "template", "spec")
CONTAINER = POD + ("containers", 0)


@pytest.mark.parametrize("spoil, expected", [
    (_without(CONTAINER + ("readinessProbe",)), "no readinessProbe"),
    (_without(CONTAINER + ("livenessProbe",)), "no livenessProbe"),
    (_without(CONTAINER + ("resources", "limits")), "resources.limits"),
    (_without(CONTAINER + ("resources", "requests")), "resources.requests"),
    (_without(CONTAINER + ("resources", "limits", "memory")), "resources.limits"),
    (lambda d: [_without(POD + ("securityContext", "runAsNonRoot"))(d),
                _without(CONTAINER + ("securityContext", "runAsNonRoot"))(d)], "runAsNonRoot"),
    (lambda d: containers(d)[0]["securityContext"].update(runAsNonRoot=False), "runAsNonRoot"),
    (lambda d: pod_spec(d)["securityContext"].update(runAsUser=0), "uid 0"),
    (lambda d: containers(d)[0]["securityContext"].update(allowPrivilegeEscalation=True), "allowPrivilegeEscalation"),
    (lambda d: containers(d)[0]["securityContext"].update(readOnlyRootFilesystem=False), "writable"),
])
def test_a_bad_deployment_is_refused(spoil, expected):
    """The check above can fail: each spoilt copy of a good Deployment is caught, for the right reason."""
    deployment = a_deployment()
    assert workload_problems(deployment) == []
    spoil(deployment)
    problems = workload_problems(deployment)
    assert any(expected in problem for problem in problems), problems


@pytest.mark.parametrize("target", TARGETS)
def test_one_deployment_and_one_migration_job_per_component_on_its_own_image(target):
    deployments, jobs = of_kind(target, "Deployment"), of_kind(target, "Job")
    assert sorted(deployments) == sorted(COMPONENTS)
    assert sorted(jobs) == sorted(f"{service}-migrate" for service in SERVICES)
    for name, deployment in deployments.items():
        assert [image_component(c["image"]) for c in containers(deployment)] == [name]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    for service in SERVICES:
        (container,) = containers(jobs[f"{service}-migrate"])
        assert container["image"] == containers(deployments[service])[0]["image"]
        assert container["command"] == ["alembic", "-c", "/app/alembic.ini", "upgrade", "head"]
        # The Job migrates the database the service then uses.
        assert env_of(container)["DATABASE_URL"] == env_of(containers(deployments[service])[0])["DATABASE_URL"]


@pytest.mark.parametrize("target", TARGETS)
def test_images_are_the_six_of_espace_famille(target):
    ours, theirs = set(), set()
    for doc in rendered(target):
        if doc["kind"] in POD_KINDS:
            for container in pod_spec(doc)["containers"] + pod_spec(doc).get("initContainers", []):
                image = container["image"]
                if image in THIRD_PARTY_IMAGES:
                    assert doc["kind"] == "StatefulSet" and target == "dev", image
                    theirs.add(image)
                else:
                    assert re.fullmatch(r"([a-z0-9.:-]+/)*espace-famille/[a-z]+:[\w.-]+", image), image
                    ours.add(image)
    assert {image_component(image) for image in ours} == set(COMPONENTS)
    # One release: the six images carry the same tag.
    assert len({image.rsplit(":", 1)[1] for image in ours}) == 1, ours
    operands = {doc["spec"].get("image") or doc["spec"].get("imageName")
                for doc in rendered(target) if doc["kind"] in ("RabbitmqCluster", "Cluster")}
    assert operands <= THIRD_PARTY_IMAGES
    assert theirs == ({"rabbitmq:3.13.7-management", "postgres:15.10"} if target == "dev" else set())


@pytest.mark.parametrize("target", TARGETS)
def test_service_probes_call_health_through_the_broker(target):
    for service in SERVICES:
        (container,) = containers(of_kind(target, "Deployment")[service])
        for probe in ("readinessProbe", "livenessProbe"):
            assert container[probe]["exec"]["command"][:4] == ["python", "-m", "espace_common.probe", service]
        assert container["livenessProbe"]["exec"]["command"][4:] == ["--any-status"]
    (gateway,) = containers(of_kind(target, "Deployment")["gateway"])
    # One service down must not take every gateway pod out of the Service: /healthz, not /readyz.
    assert gateway["livenessProbe"]["httpGet"]["path"] == gateway["readinessProbe"]["httpGet"]["path"] == "/healthz"


# ---------------------------------------------------------------------------------------------------------
# Metrics (the contract of issue #13's observability part)

@pytest.mark.parametrize("target", TARGETS)
def test_metrics_are_exposed_and_announced(target):
    config = of_kind(target, "ConfigMap")["espace-config"]["data"]
    assert config["METRICS_PORT"] == "9100"
    deployments = of_kind(target, "Deployment")
    for service in SERVICES:
        deployment = deployments[service]
        (container,) = containers(deployment)
        assert {"name": "metrics", "containerPort": 9100} in container["ports"]
        assert {"configMapRef": {"name": "espace-config"}} in container["envFrom"]
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations == {"prometheus.io/scrape": "true", "prometheus.io/port": "9100",
                               "prometheus.io/path": "/metrics"}
    gateway = deployments["gateway"]
    (container,) = containers(gateway)
    assert {"name": "http", "containerPort": 8000} in container["ports"]
    assert gateway["spec"]["template"]["metadata"]["annotations"] == {
        "prometheus.io/scrape": "true", "prometheus.io/port": "8000", "prometheus.io/path": "/metrics"}
    assert env_of(container)["METRICS_TOKEN"]["valueFrom"] == {
        "secretKeyRef": {"name": "espace-metrics", "key": "METRICS_TOKEN"}}


# ---------------------------------------------------------------------------------------------------------
# References: every ConfigMap, Secret and claim used is defined, or made by someone named

@functools.cache
def made_elsewhere():
    return yaml.safe_load((K8S / "references.yaml").read_text())


def secret_references(target):
    """(secret, key or None, where, optional) for every Secret the rendered objects use."""
    found = []
    for doc in rendered(target):
        where = f"{doc['kind']}/{doc['metadata']['name']}"
        if doc["kind"] in POD_KINDS:
            spec = pod_spec(doc)
            for container in spec["containers"] + spec.get("initContainers", []):
                for source in container.get("envFrom", []):
                    if "secretRef" in source:
                        found.append((source["secretRef"]["name"], None, where, False))
                for variable in container.get("env", []):
                    ref = variable.get("valueFrom", {}).get("secretKeyRef")
                    if ref:
                        found.append((ref["name"], ref["key"], where, ref.get("optional", False)))
            for volume in spec.get("volumes", []):
                if "secret" in volume:
                    found.append((volume["secret"]["secretName"], None, where, False))
        elif doc["kind"] == "Ingress":
            found += [(tls["secretName"], None, where, False) for tls in doc["spec"].get("tls", [])]
        elif doc["kind"] == "Cluster":
            spec = doc["spec"]
            found.append((spec["bootstrap"]["initdb"]["secret"]["name"], None, where, False))
            found += [(role["passwordSecret"]["name"], None, where, False) for role in spec["managed"]["roles"]]
            credentials = spec["backup"]["barmanObjectStore"]["s3Credentials"]
            found += [(ref["name"], ref["key"], where, False) for ref in credentials.values() if isinstance(ref, dict)]
    return found


@pytest.mark.parametrize("target", TARGETS)
def test_every_referenced_secret_is_defined_or_made_by_someone_named(target):
    defined = {name: {**secret.get("data", {}), **secret.get("stringData", {})}
               for name, secret in of_kind(target, "Secret").items()}
    elsewhere = made_elsewhere()[target]
    references = secret_references(target)
    assert references
    for name, key, where, optional in references:
        if name in defined:
            # An optional key (SECRET_KEY_FALLBACKS, set only during a rotation) may be absent.
            assert key is None or key in defined[name] or optional, f"{where}: Secret {name} has no key {key}"
        else:
            assert name in elsewhere, f"{where}: Secret {name} is neither defined nor in deploy/k8s/references.yaml"
            assert key is None or key in elsewhere[name]["keys"], f"{where}: {name}/{key} is not in references.yaml"
    # The list is kept honest: nothing in it that nobody uses, nothing in it that the overlay defines.
    assert set(elsewhere) == {name for name, _, _, _ in references} - set(defined)


def test_the_broker_credentials_are_the_topology_operators_secret():
    """The operator names the Secret it generates <User name>-user-credentials (username, password)."""
    (user,) = of_kind("prod", "User").values()
    generated = f"{user['metadata']['name']}-user-credentials"
    assert generated in made_elsewhere()["prod"]
    assert "Topology Operator" in made_elsewhere()["prod"][generated]["made_by"]
    for name in COMPONENTS:
        variables = env_of(containers(of_kind("prod", "Deployment")[name])[0])
        for key, variable in (("username", "AMQP_USERNAME"), ("password", "AMQP_PASSWORD")):
            assert variables[variable]["valueFrom"]["secretKeyRef"] == {"name": generated, "key": key}
        assert variables["AMQP_URI"]["value"] == \
            "amqp://$(AMQP_USERNAME):$(AMQP_PASSWORD)@$(AMQP_HOST):$(AMQP_PORT)/$(AMQP_VHOST)"


@pytest.mark.parametrize("target", TARGETS)
def test_every_referenced_configmap_and_claim_is_defined(target):
    configmaps, claims = of_kind(target, "ConfigMap"), of_kind(target, "PersistentVolumeClaim")
    for doc in rendered(target):
        if doc["kind"] not in POD_KINDS:
            continue
        spec = pod_spec(doc)
        templates = {t["metadata"]["name"] for t in doc["spec"].get("volumeClaimTemplates", [])}
        for container in spec["containers"]:
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    assert source["configMapRef"]["name"] in configmaps
            for mount in container.get("volumeMounts", []):
                assert mount["name"] in {v["name"] for v in spec.get("volumes", [])} | templates, mount
        for volume in spec.get("volumes", []):
            if "configMap" in volume:
                assert volume["configMap"]["name"] in configmaps
            if "persistentVolumeClaim" in volume:
                assert volume["persistentVolumeClaim"]["claimName"] in claims


def files_settings(service):
    """The settings of a service's config.yml that name a folder of files (justifications, wallet, PDFs)."""
    config = yaml.safe_load((ROOT / "services" / service / "config.yml").read_text())
    return sorted(key for key in config if key.endswith("_FILES_DIR"))


@pytest.mark.parametrize("target", TARGETS)
def test_files_are_on_a_shared_claim_not_on_a_pod_disk(target):
    """Every folder of files a service's config names is a claim mounted by every replica."""
    claims = of_kind(target, "PersistentVolumeClaim")
    used = set()
    for service in SERVICES:
        deployment = of_kind(target, "Deployment")[service]
        (container,) = containers(deployment)
        volumes = {v["name"]: v for v in pod_spec(deployment)["volumes"]}
        for setting in files_settings(service):
            folder = env_of(container)[setting]["value"]
            (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == folder]
            claim = volumes[mount["name"]]["persistentVolumeClaim"]["claimName"]
            used.add(claim)
            expected = ["ReadWriteOnce"] if target == "dev" else ["ReadWriteMany"]
            assert claims[claim]["spec"]["accessModes"] == expected, claim
    assert {"identity-files", "canteen-files", "childcare-files", "billing-files"} <= used
    assert used == set(claims)
    assert files_settings("identity") == ["IDENTITY_FILES_DIR"]


# ---------------------------------------------------------------------------------------------------------
# Network policies, evaluated: which pod may talk to which, on which port

def selects(selector, labels):
    if selector is None:
        return False
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def pods(target):
    """name -> labels of every pod the target runs, the operators' pods included (labels as they make them)."""
    found = {}
    for doc in rendered(target):
        if doc["kind"] in POD_KINDS:
            found[f"{doc['kind']}/{doc['metadata']['name']}"] = doc["spec"]["template"]["metadata"]["labels"]
        elif doc["kind"] == "RabbitmqCluster":
            # The Cluster Operator's pod labels, plus those of spec.override's pod template.
            labels = {"app.kubernetes.io/name": doc["metadata"]["name"], "app.kubernetes.io/component": "rabbitmq",
                      "app.kubernetes.io/part-of": "rabbitmq"}
            override = doc["spec"].get("override", {}).get("statefulSet", {}).get("spec", {})
            labels.update(override.get("template", {}).get("metadata", {}).get("labels", {}))
            found[f"RabbitmqCluster/{doc['metadata']['name']}"] = labels
        elif doc["kind"] == "Cluster":
            # CloudNativePG's instance labels, plus spec.inheritedMetadata's.
            labels = {"cnpg.io/cluster": doc["metadata"]["name"], "cnpg.io/podRole": "instance"}
            labels.update(doc["spec"].get("inheritedMetadata", {}).get("labels", {}))
            found[f"Cluster/{doc['metadata']['name']}"] = labels
    return found


def policies(target):
    return list(of_kind(target, "NetworkPolicy").values())


def rules(target, labels, direction):
    """The rules of every policy that selects the pod for this direction ("ingress" or "egress")."""
    kind = direction.capitalize()
    return [rule for policy in policies(target)
            if selects(policy["spec"]["podSelector"], labels) and kind in policy["spec"]["policyTypes"]
            for rule in policy["spec"].get(direction, [])]


def ports_of(rule):
    return {(port.get("protocol", "TCP"), port["port"]) for port in rule.get("ports", [])}


def allows(target, labels, direction, peer_labels, port):
    """Whether the pod's policies let it talk to (egress) or hear from (ingress) an in-namespace pod on a port."""
    side = "to" if direction == "egress" else "from"
    for rule in rules(target, labels, direction):
        if rule.get("ports") and ("TCP", port) not in ports_of(rule):
            continue
        peers = rule.get(side)
        if not peers:
            return True
        if any("namespaceSelector" not in peer and "ipBlock" not in peer and selects(peer["podSelector"], peer_labels)
               for peer in peers):
            return True
    return False


def can_reach(target, source, destination, port):
    everything = pods(target)
    return (allows(target, everything[source], "egress", everything[destination], port)
            and allows(target, everything[destination], "ingress", everything[source], port))


def component(labels):
    return labels.get("app.kubernetes.io/component")


@pytest.mark.parametrize("target", TARGETS)
def test_network_policies_deny_by_default_and_select_every_pod(target):
    (deny,) = [p for p in policies(target) if p["metadata"]["name"] == "default-deny"]
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    for name, labels in pods(target).items():
        for kind in ("Ingress", "Egress"):
            assert any(selects(p["spec"]["podSelector"], labels) and kind in p["spec"]["policyTypes"]
                       for p in policies(target)), f"{name}: no {kind} policy"


@pytest.mark.parametrize("target", TARGETS)
def test_only_the_gateway_is_reachable_from_outside_and_only_through_the_ingress_controller(target):
    (gateway,) = containers(of_kind(target, "Deployment")["gateway"])
    http = {("TCP", port["containerPort"]) for port in gateway["ports"] if port["name"] == "http"}
    expected_sources = {"ingress-nginx": http, "monitoring": None, "cnpg-system": {("TCP", 8000)},
                        "rabbitmq-system": {("TCP", 15672)}}
    for name, labels in pods(target).items():
        for rule in rules(target, labels, "ingress"):
            assert rule.get("from"), f"{name}: an ingress rule without 'from' lets anything in"
            for peer in rule["from"]:
                assert "ipBlock" not in peer, f"{name}: ingress from addresses"
                if "namespaceSelector" not in peer:
                    continue
                (namespace,) = peer["namespaceSelector"]["matchLabels"].values()
                assert namespace in expected_sources, f"{name}: ingress from namespace {namespace}"
                if namespace == "ingress-nginx":
                    assert labels.get("app.kubernetes.io/name") == "gateway", name
                    assert ports_of(rule) == expected_sources[namespace]
                elif namespace == "monitoring":
                    # Only the metrics ports: the services' 9100, the gateway's http (for /metrics),
                    # CloudNativePG's exporter and RabbitMQ's Prometheus plugin.
                    assert ports_of(rule) <= {("TCP", 9100), ("TCP", 8000), ("TCP", 9187), ("TCP", 15692)}, name
                elif namespace == "cnpg-system":
                    assert labels.get("espace-famille/backend") == "postgres", name
                else:
                    assert labels.get("espace-famille/backend") == "rabbitmq", name


@pytest.mark.parametrize("target", TARGETS)
def test_only_payment_reaches_the_internet(target):
    for name, labels in pods(target).items():
        for rule in rules(target, labels, "egress"):
            assert rule.get("to"), f"{name}: an egress rule without 'to' lets everything out"
            for peer in rule["to"]:
                if "ipBlock" not in peer:
                    continue
                network = ipaddress.ip_network(peer["ipBlock"]["cidr"])
                if network.prefixlen == 0:
                    assert name == "Deployment/payment", f"{name}: egress to the internet"
                    assert ports_of(rule) == {("TCP", 443)}
                else:
                    # One address or a small block, each a CHANGE-ME: the mail relay, the API server, the
                    # object store of the backups.
                    assert network.prefixlen >= 24, f"{name}: egress to {network}"
    assert any(ipaddress.ip_network(peer["ipBlock"]["cidr"]).prefixlen == 0
               for rule in rules(target, pods(target)["Deployment/payment"], "egress")
               for peer in rule["to"] if "ipBlock" in peer)


@pytest.mark.parametrize("target", TARGETS)
def test_apps_reach_only_dns_the_broker_and_their_database(target):
    """Inside the cluster: the gateway the broker and DNS; a service (and its Job) also the database."""
    for name, labels in pods(target).items():
        if component(labels) not in ("service", "web", "migration"):
            continue
        for rule in rules(target, labels, "egress"):
            for peer in rule["to"]:
                if "ipBlock" in peer:
                    continue
                if "namespaceSelector" in peer:
                    assert peer == {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}, name
                    assert ports_of(rule) == {("UDP", 53), ("TCP", 53)}
                    continue
                backend = peer["podSelector"]["matchLabels"]["espace-famille/backend"]
                if backend == "postgres":
                    assert component(labels) in ("service", "migration") and ports_of(rule) == {("TCP", 5432)}, name
                else:
                    assert backend == "rabbitmq" and component(labels) in ("service", "web"), name
                    assert ports_of(rule) == {("TCP", 5672)}


@pytest.mark.parametrize("target", OVERLAYS)
def test_the_allowed_flows_meet_at_both_ends(target):
    """Egress and ingress agree: the flows the suite needs pass, and the apps cannot reach one another."""
    everything = pods(target)
    backends = {labels.get("espace-famille/backend"): name for name, labels in everything.items()
                if labels.get("espace-famille/backend")}
    assert set(backends) == {"postgres", "rabbitmq"}
    apps = {name: labels for name, labels in everything.items() if component(labels) in ("service", "web", "migration")}
    for name, labels in apps.items():
        assert can_reach(target, name, backends["rabbitmq"], 5672) == (component(labels) != "migration"), name
        assert can_reach(target, name, backends["postgres"], 5432) == (component(labels) != "web"), name
        for other in apps:
            for port in (8000, 9100, 5432, 5672):
                assert not can_reach(target, name, other, port), f"{name} -> {other}:{port}"


# ---------------------------------------------------------------------------------------------------------
# The broker and the database each overlay provides, and the settings that point at them

@pytest.mark.parametrize("target", OVERLAYS)
def test_settings_point_at_the_overlays_broker_and_database(target):
    config = of_kind(target, "ConfigMap")["espace-config"]["data"]
    if target == "prod":
        (rabbitmq,) = of_kind(target, "RabbitmqCluster")
        (cluster,) = of_kind(target, "Cluster")
        (vhost,) = of_kind(target, "Vhost").values()
        assert config["AMQP_HOST"] == rabbitmq
        assert config["AMQP_VHOST"] == vhost["spec"]["name"]
        assert config["DATABASE_HOST"] == f"{cluster}-rw"
    else:
        services = of_kind(target, "Service")
        assert services[config["AMQP_HOST"]]["spec"]["selector"] == \
            of_kind(target, "StatefulSet")["espace-rabbitmq"]["spec"]["selector"]["matchLabels"]
        assert services[config["DATABASE_HOST"]]["spec"]["selector"] == \
            of_kind(target, "StatefulSet")["espace-postgres"]["spec"]["selector"]["matchLabels"]
        broker = of_kind(target, "Secret")["espace-dev-rabbitmq-config"]["stringData"]["20-espace.conf"]
        credentials = of_kind(target, "Secret")["espace-user-credentials"]["stringData"]
        assert f"default_user = {credentials['username']}" in broker
        assert f"default_pass = {credentials['password']}" in broker
        assert f"default_vhost = {config['AMQP_VHOST']}" in broker
    for service in SERVICES:
        url = env_of(containers(of_kind(target, "Deployment")[service])[0])["DATABASE_URL"]["value"]
        assert url == ("postgresql://$(DATABASE_USERNAME):$(DATABASE_PASSWORD)@$(DATABASE_HOST):$(DATABASE_PORT)/"
                       f"espace_{service}")


def test_prod_rabbitmq_is_a_three_node_operator_cluster_with_its_user_vhost_and_permission():
    (rabbitmq,) = of_kind("prod", "RabbitmqCluster").values()
    assert rabbitmq["spec"]["replicas"] == 3
    (user,) = of_kind("prod", "User").values()
    (vhost,) = of_kind("prod", "Vhost").values()
    (permission,) = of_kind("prod", "Permission").values()
    for resource in (user, vhost, permission):
        assert resource["spec"]["rabbitmqClusterReference"] == {"name": rabbitmq["metadata"]["name"]}
    assert permission["spec"]["userReference"] == {"name": user["metadata"]["name"]}
    assert permission["spec"]["vhost"] == vhost["spec"]["name"]
    assert permission["spec"]["permissions"] == {"configure": ".*", "write": ".*", "read": ".*"}


def test_prod_postgresql_is_a_three_instance_cluster_with_one_database_and_role_per_service():
    (cluster,) = of_kind("prod", "Cluster").values()
    spec = cluster["spec"]
    assert spec["instances"] == 3
    owners = {spec["bootstrap"]["initdb"]["database"]: (spec["bootstrap"]["initdb"]["owner"],
                                                       spec["bootstrap"]["initdb"]["secret"]["name"])}
    roles = {role["name"]: role for role in spec["managed"]["roles"]}
    for database in of_kind("prod", "Database").values():
        assert database["spec"]["cluster"] == {"name": cluster["metadata"]["name"]}
        assert database["spec"]["databaseReclaimPolicy"] == "retain"
        role = roles[database["spec"]["owner"]]
        assert role["login"] is True and role["ensure"] == "present"
        owners[database["spec"]["name"]] = (role["name"], role["passwordSecret"]["name"])
    assert owners == {f"espace_{service}": (f"espace_{service}", f"espace-{service}-db") for service in SERVICES}
    for service in SERVICES:
        variables = env_of(containers(of_kind("prod", "Deployment")[service])[0])
        assert variables["DATABASE_USERNAME"]["valueFrom"]["secretKeyRef"] == {"name": f"espace-{service}-db", "key": "username"}
        assert variables["DATABASE_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": f"espace-{service}-db", "key": "password"}
    # Each role opens its own database only: its line comes before the line that rejects every role.
    hba = spec["postgresql"]["pg_hba"]
    for service in SERVICES:
        assert f"host espace_{service} espace_{service} all scram-sha-256" in hba
    assert hba[-1] == "host all " + ",".join(f"espace_{s}" for s in SERVICES) + " all reject"


def test_prod_postgresql_is_backed_up_to_object_storage_on_a_schedule():
    (name, cluster), = of_kind("prod", "Cluster").items()
    backup = cluster["spec"]["backup"]
    assert backup["barmanObjectStore"]["destinationPath"].startswith("s3://")
    assert backup["retentionPolicy"]
    (scheduled,) = of_kind("prod", "ScheduledBackup").values()
    assert scheduled["spec"]["cluster"] == {"name": name}
    assert scheduled["spec"]["method"] == "barmanObjectStore"
    assert len(scheduled["spec"]["schedule"].split()) == 6


def test_dev_runs_one_of_everything_without_autoscaler_budget_or_ingress():
    assert not of_kind("dev", "HorizontalPodAutoscaler")
    assert not of_kind("dev", "PodDisruptionBudget")
    assert not of_kind("dev", "Ingress")
    assert not {doc["kind"] for doc in rendered("dev")} & {kind for _, kind in CUSTOM_SCHEMAS}
    for doc in rendered("dev"):
        if doc["kind"] in ("Deployment", "StatefulSet"):
            assert doc["spec"].get("replicas", 1) == 1, doc["metadata"]["name"]
    init = of_kind("dev", "ConfigMap")["espace-dev-postgres-init"]["data"]["10-espace.sh"]
    assert "for service in " + " ".join(SERVICES) + "; do" in init
    for service in SERVICES:
        assert of_kind("dev", "Secret")[f"espace-{service}-db"]["stringData"]["username"] == f"espace_{service}"


# ---------------------------------------------------------------------------------------------------------
# Prod: replicas, autoscalers, disruption budgets, Ingress

def test_prod_runs_every_component_at_least_twice():
    autoscalers = {hpa["spec"]["scaleTargetRef"]["name"]: hpa for hpa in of_kind("prod", "HorizontalPodAutoscaler").values()}
    assert {"gateway", "canteen", "identity"} <= set(autoscalers)
    for name, deployment in of_kind("prod", "Deployment").items():
        if name in autoscalers:
            target = autoscalers[name]["spec"]["scaleTargetRef"]
            assert (target["apiVersion"], target["kind"]) == ("apps/v1", "Deployment")
            # Applying the manifests again must not reset the autoscaler's count.
            assert "replicas" not in deployment["spec"], name
            assert autoscalers[name]["spec"]["minReplicas"] >= 2
        else:
            assert deployment["spec"]["replicas"] >= 2, name
    assert autoscalers["gateway"]["spec"]["minReplicas"] == 3


def test_prod_disruption_budgets_cover_every_deployment_and_leave_room_to_drain():
    budgets = list(of_kind("prod", "PodDisruptionBudget").values())
    autoscalers = {hpa["spec"]["scaleTargetRef"]["name"]: hpa for hpa in of_kind("prod", "HorizontalPodAutoscaler").values()}
    for name, deployment in of_kind("prod", "Deployment").items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        (budget,) = [b for b in budgets if selects(b["spec"]["selector"], labels)]
        floor = autoscalers[name]["spec"]["minReplicas"] if name in autoscalers else deployment["spec"]["replicas"]
        assert budget["spec"].get("maxUnavailable", 0) >= 1 or budget["spec"]["minAvailable"] < floor, name
    (rabbitmq,) = of_kind("prod", "RabbitmqCluster")
    assert [b for b in budgets if selects(b["spec"]["selector"], pods("prod")[f"RabbitmqCluster/{rabbitmq}"])]


def test_prod_replicas_spread_over_nodes():
    for name, deployment in of_kind("prod", "Deployment").items():
        (spread,) = pod_spec(deployment)["topologySpreadConstraints"]
        assert spread["topologyKey"] == "kubernetes.io/hostname"
        assert selects(spread["labelSelector"], deployment["spec"]["template"]["metadata"]["labels"]), name
        assert spread["labelSelector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"], name


def test_prod_ingress_serves_the_gateway_over_tls_from_cert_manager():
    (ingress,) = of_kind("prod", "Ingress").values()
    assert "cert-manager.io/cluster-issuer" in ingress["metadata"]["annotations"]
    (tls,) = ingress["spec"]["tls"]
    hosts = [rule["host"] for rule in ingress["spec"]["rules"]]
    assert set(hosts) <= set(tls["hosts"]) and tls["secretName"]
    service = of_kind("prod", "Service")["gateway"]
    for rule in ingress["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            assert backend["name"] == "gateway"
            assert backend["port"]["name"] in {port["name"] for port in service["spec"]["ports"]}
    gateway_labels = of_kind("prod", "Deployment")["gateway"]["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= gateway_labels.items()
    host = ingress["spec"]["rules"][0]["host"]
    assert of_kind("prod", "ConfigMap")["espace-config"]["data"]["PUBLIC_URL"] == f"https://{host}"


@pytest.mark.parametrize("target", OVERLAYS)
def test_objects_carry_the_phase_they_are_applied_in(target):
    """deploy/README.md applies phase=infra, waits, then phase=migrate (the Jobs), then everything."""
    for doc in rendered(target):
        phase = doc["metadata"].get("labels", {}).get("espace-famille/phase")
        kind = doc["kind"]
        if kind == "Job":
            assert phase == "migrate", doc["metadata"]["name"]
        elif kind in ("Namespace", "ConfigMap", "Secret", "NetworkPolicy", "StatefulSet") \
                or (doc["apiVersion"], kind) in CUSTOM_SCHEMAS or (kind == "Service" and doc["metadata"]["name"] != "gateway"):
            assert phase == "infra", f"{kind}/{doc['metadata']['name']}"
        else:
            assert phase is None, f"{kind}/{doc['metadata']['name']}"


@pytest.mark.postgres
def test_dev_postgres_init_script_gives_each_role_its_own_database_only():
    """The dev overlay's init script, run against the local PostgreSQL under throw-away names."""
    import uuid
    from urllib.parse import urlsplit

    import pg8000.native
    from espace_deploy.testing import postgres_admin_url, postgres_available

    if not postgres_available():
        pytest.skip("no PostgreSQL at TEST_POSTGRES_URL")
    assert shutil.which("psql"), "psql (Debian's postgresql-client) runs the init script"
    script = of_kind("dev", "ConfigMap")["espace-dev-postgres-init"]["data"]["10-espace.sh"]
    prefix = f"ef_test_{uuid.uuid4().hex[:8]}_"
    assert script.count('role="espace_$service"') == 1
    script = script.replace('role="espace_$service"', f'role="{prefix}$service"')
    admin = urlsplit(postgres_admin_url())
    passwords = {service: f"{service}-'pw" for service in SERVICES}
    env = {"PATH": "/usr/bin:/bin", "POSTGRES_USER": admin.username or "postgres", "PGHOST": admin.hostname or "127.0.0.1",
           "PGPORT": str(admin.port or 5432), **({"PGPASSWORD": admin.password} if admin.password else {}),
           **{f"ESPACE_{service.upper()}_PASSWORD": password for service, password in passwords.items()}}

    def connect(user, database, password=None):
        return pg8000.native.Connection(user=user, password=password, host=env["PGHOST"], port=int(env["PGPORT"]),
                                        database=database, timeout=5)

    try:
        result = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        for service in SERVICES:
            connect(prefix + service, prefix + service, passwords[service]).close()
            other = prefix + ("canteen" if service != "canteen" else "identity")
            try:
                intruder = connect(prefix + service, other, passwords[service])
            except pg8000.exceptions.DatabaseError as error:
                assert "permission denied" in str(error)
            else:
                intruder.close()
                pytest.fail(f"the role of {service} opened {other}")
    finally:
        superuser = connect(env["POSTGRES_USER"], admin.path.lstrip("/") or "postgres", admin.password)
        for service in SERVICES:
            superuser.run(f'DROP DATABASE IF EXISTS "{prefix}{service}" WITH (FORCE)')
        for service in SERVICES:
            superuser.run(f'DROP ROLE IF EXISTS "{prefix}{service}"')
        superuser.close()
