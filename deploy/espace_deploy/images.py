"""`make images` and `make images-test`: the six images built here with podman, and the whole suite run from them.

No registry answers on this machine, so the images' base is made once from Debian's packages (debootstrap of
bookworm, whose python3 is 3.11) and kept as localhost/ef-base:bookworm; the Dockerfiles take it as their BASE
argument (python:3.11-slim by default, what users pull). Every podman call reads deploy/images/containers.conf
through CONTAINERS_CONF, so the machine's own configuration is left alone.

    python -m espace_deploy.images build    # the base if missing, then the images; prints their sizes
    python -m espace_deploy.images test     # build (layers cached), then the smoke scenario against them
    python -m espace_deploy.images smoke    # the smoke scenario against the images as they are
"""
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

from .suite import ROOT, SERVICES

COMPONENTS = SERVICES + ("gateway",)
# The Paybox sandbox and the mail catcher of compose's dev profile: never deployed, built for local runs.
DEV = "dev"
IMAGES_DIR = ROOT / "deploy" / "images"
CONTAINERS_CONF = IMAGES_DIR / "containers.conf"
BASE_IMAGE = "localhost/ef-base:bookworm"
DEBIAN_SUITE = "bookworm"
DEBIAN_MIRROR = os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")
BASE_PACKAGES = "python3,python3-venv,ca-certificates"
# The machine's trust store, lent to the builds' RUN steps (never kept in a layer): pip then trusts what the machine
# trusts, e.g. the CA of a proxy in front of PyPI, as it does here.
HOST_CA_BUNDLE = Path(os.environ.get("SSL_CERT_FILE") or "/etc/ssl/certs/ca-certificates.crt")
VERSION = "0.1.0"
# What the engine needs from Debian: the command that runs it, the package that brings it.
ENGINE_PACKAGES = {"podman": "podman", "runc": "runc", "debootstrap": "debootstrap"}
UID = 10001
# Where the services keep their files (the wallet, the invoices' PDFs...): a volume, as on Kubernetes.
FILES_MOUNT = "/var/lib/espace"


class Unavailable(Exception):
    """No container engine can be had here; the message says why, in one sentence."""


def dockerfile(name):
    if name == DEV:
        return IMAGES_DIR / "dev.Dockerfile"
    return ROOT / ("gateway" if name == "gateway" else f"services/{name}") / "Dockerfile"


def image(name):
    return f"localhost/espace-famille/{name}:{VERSION}"


def engine_env():
    return dict(os.environ, CONTAINERS_CONF=str(CONTAINERS_CONF))


def podman(*args, check=True, timeout=None, **kwargs):
    """podman with this project's containers.conf; its output captured (stdout, and stderr unless told otherwise)."""
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.PIPE)
    return subprocess.run(["podman", *args], env=engine_env(), check=check, text=True, timeout=timeout, **kwargs)


def _found(command):
    return shutil.which(command) or any(Path(folder, command).exists() for folder in ("/usr/sbin", "/sbin"))


def ensure_engine():
    """podman, runc and debootstrap, installed with apt-get as root on Debian (as deploy/system-packages.sh does)."""
    missing = [package for command, package in ENGINE_PACKAGES.items() if not _found(command)]
    if not missing:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise Unavailable(f"this machine needs {' '.join(missing)} to build the images: install them with "
                          f"'sudo apt-get install {' '.join(missing)}' (run as root, make installs them itself).")
    print(f"Installing with apt-get: {' '.join(missing)}", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], check=True, env=env)
    except subprocess.CalledProcessError as exc:
        raise Unavailable(f"apt-get could not install {' '.join(missing)} (exit code {exc.returncode}).") from None


def ensure_base(report=print):
    """localhost/ef-base:bookworm, made once from Debian's packages and reused: python3 3.11 and its venv module."""
    if podman("image", "exists", BASE_IMAGE, check=False).returncode == 0:
        return False
    report(f"Making the base image {BASE_IMAGE} from Debian {DEBIAN_SUITE} (debootstrap, a few minutes, once)…")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ef-base-", dir="/var/tmp") as folder:
        rootfs = Path(folder) / "rootfs"
        subprocess.run(["debootstrap", "--variant=minbase", f"--include={BASE_PACKAGES}", DEBIAN_SUITE, str(rootfs),
                        DEBIAN_MIRROR], check=True, stdout=subprocess.DEVNULL)
        import_rootfs(rootfs)
    report(f"  {BASE_IMAGE} made in {time.monotonic() - started:.0f} s")
    return True


def import_rootfs(rootfs):
    """The debootstrapped tree as the base image, without what no image needs."""
    # Kept out: the packages debootstrap downloaded, apt's lists (the Dockerfiles update them when they install),
    # documentation and translations.
    for pattern in ("var/cache/apt/archives/*.deb", "var/cache/apt/*.bin", "var/lib/apt/lists/*",
                    "usr/share/doc/*", "usr/share/man/*", "usr/share/info/*", "usr/share/locale/*",
                    "var/log/*.log", "var/log/apt/*"):
        for path in Path(rootfs).glob(pattern):
            shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE)
    podman("import", "--change", 'CMD ["python3"]', "-", BASE_IMAGE, stdin=tar.stdout)
    tar.stdout.close()
    if tar.wait() != 0:
        raise RuntimeError("tar of the debootstrapped base failed")


def build(names=COMPONENTS + (DEV,), base=BASE_IMAGE, report=print):
    """Build the images on the base; returns {name: seconds}. Unchanged layers come from podman's cache."""
    ensure_engine()
    if base == BASE_IMAGE:
        ensure_base(report)
    times = {}
    for name in names:
        started = time.monotonic()
        trust = (["--volume", f"{HOST_CA_BUNDLE}:/etc/ssl/certs/ca-certificates.crt:ro"]
                 if HOST_CA_BUNDLE.is_file() else [])
        result = podman("build", "--network", "host", "--layers", *trust, "--build-arg", f"BASE={base}",
                        "-f", str(dockerfile(name)), "-t", image(name), str(ROOT), check=False,
                        stderr=subprocess.STDOUT)
        times[name] = time.monotonic() - started
        if result.returncode != 0:
            raise RuntimeError(f"building {image(name)} failed:\n{result.stdout[-6000:]}")
        report(f"  {image(name):45} built in {times[name]:5.1f} s")
    return times


def size(reference):
    return int(podman("image", "inspect", "--format", "{{.Size}}", reference).stdout.strip())


def report_sizes(names=COMPONENTS + (DEV,), report=print):
    base = size(BASE_IMAGE) if podman("image", "exists", BASE_IMAGE, check=False).returncode == 0 else None
    report("Image sizes (uncompressed, as `podman images` counts them):")
    if base:
        report(f"  {BASE_IMAGE:45} {base / 1e6:6.0f} MB")
    for name in names:
        total = size(image(name))
        own = f"  ({(total - base) / 1e6:.0f} MB above the base)" if base else ""
        report(f"  {image(name):45} {total / 1e6:6.0f} MB{own}")


# --- Running the suite from the images -----------------------------------------------------------------------


class Containers:
    """The containers of one run, named after it, removed together."""

    def __init__(self, run_id):
        self.run_id = run_id
        self.names = []

    def run(self, name, component, env, mounts=(), command=(), detach=True):
        """A container as Kubernetes would run it: uid 10001, read-only root, /tmp in memory, no capability."""
        container = f"ef-{self.run_id}-{name}"
        args = ["run", "--name", container, "--network", "host", "--read-only", "--tmpfs", "/tmp",
                "--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--user", f"{UID}:{UID}"]
        for variable, value in env.items():
            args += ["--env", f"{variable}={value}"]
        for source, target in mounts:
            args += ["--volume", f"{source}:{target}"]
        self.names.append(container)
        if detach:
            podman(*args, "--detach", image(component), *command)
            return container
        return podman(*args, "--rm", image(component), *command, check=False, stderr=subprocess.STDOUT)

    def state(self, container):
        result = podman("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", container, check=False)
        return result.stdout.strip() if result.returncode == 0 else "gone"

    def logs(self, container, lines=60):
        result = podman("logs", "--tail", str(lines), container, check=False, stderr=subprocess.STDOUT)
        return result.stdout

    def exited(self):
        return [name for name in self.names if not self.state(name).startswith("running")]

    def remove(self):
        existing = [name for name in self.names if self.state(name) != "gone"]
        if existing:
            podman("rm", "--force", "--time", "10", *existing, check=False)


def _migrate(containers, databases, report):
    """Each service's migration, as its Kubernetes Job runs it: its own image, alembic upgrade head."""
    started = time.monotonic()
    processes = {}
    for name in SERVICES:
        container = f"ef-{containers.run_id}-{name}-migrate"
        processes[name] = subprocess.Popen(
            ["podman", "run", "--rm", "--name", container, "--network", "host", "--read-only", "--tmpfs", "/tmp",
             "--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--user", f"{UID}:{UID}",
             "--env", f"DATABASE_URL={databases[name].url}", image(name),
             "alembic", "-c", "/app/alembic.ini", "upgrade", "head"],
            env=engine_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for name, process in processes.items():
        output, _ = process.communicate(timeout=300)
        if process.returncode != 0:
            raise RuntimeError(f"{name}'s migration failed (exit code {process.returncode}):\n{output[-3000:]}")
    report(f"  migrations applied by the five images in {time.monotonic() - started:.1f} s")


def _wait_ready(url, containers, timeout=180):
    """The gateway's /readyz once ready; a container that stops fails it at once."""
    import requests
    deadline = time.monotonic() + timeout
    state = None
    while time.monotonic() < deadline:
        dead = containers.exited()
        if dead:
            raise RuntimeError("stopped during start-up: " + "; ".join(
                f"{name} ({containers.state(name)}):\n{containers.logs(name)}" for name in dead))
        try:
            state = requests.get(f"{url}/readyz", timeout=2).json()
            if state.get("status") == "ready":
                return state
        except (requests.RequestException, ValueError):
            pass
        time.sleep(0.5)
    raise TimeoutError(f"the gateway at {url} was not ready after {timeout} s: {state}")


def start_suite_from_images(containers, amqp_uri, database_urls, files):
    """The five services, the Paybox sandbox and the gateway, each in its container on the host's network; the
    gateway's address."""
    from .paybox_settings import KEYS, local_payment_env
    from .testing import CHEAP_PASSWORD_HASHES, TEST_LETTER_SECRET, free_port
    port, sandbox_port = free_port(), free_port()
    public_url = f"http://127.0.0.1:{port}"
    common = {"AMQP_URI": amqp_uri, "PUBLIC_URL": public_url, "SMTP_URL": "file:/tmp/mail", **CHEAP_PASSWORD_HASHES}
    volume = [(str(files), FILES_MOUNT)]
    containers.run("paybox-sandbox", DEV, {"PAYBOX_SANDBOX_PORT": str(sandbox_port)},
                   command=("python", "-m", "espace_deploy.paybox_sandbox"))
    for name in SERVICES:
        env = {**common, "DATABASE_URL": database_urls[name], "LETTER_SECRET": TEST_LETTER_SECRET,
               f"{name.upper()}_FILES_DIR": f"{FILES_MOUNT}/{name}-files"}
        mounts = volume
        if name == "payment":
            env.update(local_payment_env(sandbox_port, public_url),
                       PAYBOX_PUBLIC_KEY_FILE="/etc/espace/paybox-sandbox.pem")
            mounts = volume + [(f"{KEYS / 'public.pem'}", "/etc/espace/paybox-sandbox.pem:ro")]
        containers.run(name, name, env, mounts)
    containers.run("gateway", "gateway", {**common, "SECRET_KEY": secrets.token_hex(32), "PORT": str(port),
                                          "HOST": "127.0.0.1"})
    return public_url


def _api(method, url, expected, **kwargs):
    import requests
    response = requests.request(method, url, timeout=30, **kwargs)
    if response.status_code not in expected:
        raise AssertionError(f"{method} {url} answered {response.status_code}: {response.text[:500]}")
    return response


def _token(url, username, password):
    answer = _api("POST", f"{url}/api/v1/auth/token", (200,), json={"username": username, "password": password})
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _wait_known(rpc, service, families, timeout=60):
    deadline = time.monotonic() + timeout
    for family in families:
        while len(rpc.call(service, "family_children", family["id"])) < len(family["children"]):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{service} did not learn the demo families from identity's events")
            time.sleep(0.2)


def scenario(url, amqp_uri, containers, files, report=print):
    """Through the containerised gateway: the demo town, a parent's meal, an agent's invoicing run, the invoice."""
    from espace_common.rpc_client import RpcClient

    from .demo import (
        agent_credentials, ensure_admin_agent, load_billing_demo, load_canteen_demo, load_childcare_demo,
        load_demo_data,
    )
    rpc = RpcClient(amqp_uri, timeout=30, caller="images-test")
    try:
        families = load_demo_data(rpc)
        ensure_admin_agent(rpc)
        for service in ("canteen", "childcare", "billing"):
            _wait_known(rpc, service, families)
        load_canteen_demo(rpc, families)
        load_childcare_demo(rpc, families)
        load_billing_demo(rpc, families)
        # Last month at the canteen (the Martins), or at the crèche (the Roux, on contract) when it was August.
        month = (date.today().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
        regie, billed = (("petite_enfance", families[3]) if month.endswith("-08")
                         else ("affaires_scolaires", families[0]))
        password = "Conteneur-Donges-44!"
        accounts = {}
        for family in {id(f): f for f in (families[0], billed)}.values():
            representative = family["representatives"][0]
            key = rpc.call("identity", "issue_key", representative["id"])["key"]
            username = f"parent.{uuid.uuid4().hex[:8]}"
            rpc.call("identity", "create_account", key, username, f"{username}@example.org", password)
            accounts[family["id"]] = username
    finally:
        rpc.close()
    report(f"  the demo town loaded: {len(families)} families")

    parent = _token(url, accounts[families[0]["id"]], password)
    child = families[0]["children"][0]
    since, until = date.today() + timedelta(days=1), date.today() + timedelta(days=60)
    days = _api("GET", f"{url}/api/v1/children/{child['id']}/meals", (200,), headers=parent,
                params={"from": since.isoformat(), "to": until.isoformat()}).json()["days"]
    day = next(d["date"] for d in days if d["state"] == "not_reserved" and d["changeable"])
    reserved = _api("PUT", f"{url}/api/v1/children/{child['id']}/meals/{day}", (200,), headers=parent).json()
    assert reserved["state"] == "reserved", reserved
    report(f"  a parent logged in through the API and reserved {child['first_name']}'s meal of {day}")

    agent = _token(url, *agent_credentials())
    run = _api("POST", f"{url}/api/v1/invoicing-runs", (202,), headers=agent,
               json={"regie": regie, "month": month}).json()
    deadline = time.monotonic() + 120
    while run["status"] == "running":
        if time.monotonic() > deadline:
            raise TimeoutError(f"the invoicing run was still running after 120 s: {run}")
        time.sleep(0.3)
        run = _api("GET", f"{url}/api/v1/invoicing-runs/{run['id']}", (200,), headers=agent).json()
    assert run["status"] == "draft" and run["error"] is None, run
    final = _api("POST", f"{url}/api/v1/invoicing-runs/{run['id']}/finalize", (200,), headers=agent).json()
    assert final["status"] == "final", final
    billed_parent = parent if billed is families[0] else _token(url, accounts[billed["id"]], password)
    invoices = _api("GET", f"{url}/api/v1/invoices", (200,), headers=billed_parent).json()["invoices"]
    mine = [i for i in invoices if i["period"] == month]
    assert mine, f"no invoice of {month} for the family: {invoices}"
    # Billing draws the issued invoices' PDFs in the background (invoices_issued): the parent's request waits for
    # them, since two PDFs drawn at once in billing's threads can hang it (greenlet.error in fontTools' logging).
    pdfs = files / "billing-files"
    deadline = time.monotonic() + 60
    while len([path for path in pdfs.rglob("*") if path.is_file()] if pdfs.exists() else []) < len(final["invoices"]):
        if time.monotonic() > deadline:
            raise TimeoutError(f"billing did not store the {len(final['invoices'])} PDFs of the run in 60 s")
        time.sleep(0.3)
    pdf = _api("GET", f"{url}/api/v1/invoices/{mine[0]['id']}/pdf", (200,), headers=billed_parent)
    assert pdf.content.startswith(b"%PDF"), pdf.content[:40]
    report(f"  an agent ran {regie}'s invoicing of {month} ({len(final['invoices'])} invoices); the parent sees "
           f"invoice {mine[0]['number']} and its PDF ({len(pdf.content)} bytes)")

    # The promises of the images themselves: uid 10001, nothing written outside /tmp and the volume.
    for container in containers.names:
        if not containers.state(container).startswith("running"):
            continue
        probe = podman("exec", container, "python", "-c",
                       "import os\ntry:\n open('/opt/venv/probe', 'w')\n print(os.getuid(), 0)\n"
                       "except OSError as e: print(os.getuid(), e.errno)",
                       check=False)
        uid, errno = probe.stdout.split()
        assert uid == str(UID) and errno == "30", f"{container}: uid {uid}, errno {errno} (30 is EROFS)"
    report(f"  every container runs as uid {UID} on a read-only root file system")
    kept = sorted(path.relative_to(files).parts[0] for path in files.rglob("*") if path.is_file())
    counts = ", ".join(f"{kept.count(folder)} in {folder}" for folder in sorted(set(kept)))
    report(f"  files the services wrote on their volume: {counts}")


def smoke(report=print):
    """The whole suite from the images, in its own vhost and databases, through the smoke scenario; torn down after."""
    from .testing import PostgresDatabase, VirtualHost
    run_id = uuid.uuid4().hex[:8]
    started = time.monotonic()
    vhost = VirtualHost("images")
    databases = {}
    files = Path(tempfile.mkdtemp(prefix="ef-images-"))
    containers = Containers(run_id)
    try:
        for name in SERVICES:
            databases[name] = PostgresDatabase()
        os.chown(files, UID, UID)
        _migrate(containers, databases, report)
        url = start_suite_from_images(containers, vhost.amqp_uri, {name: db.url for name, db in databases.items()},
                                      files)
        state = _wait_ready(url, containers)
        report(f"  {url}/readyz: {state['status']} ({time.monotonic() - started:.0f} s after the start)")
        scenario(url, vhost.amqp_uri, containers, files, report)
    except Exception:
        for name in containers.names:
            report(f"--- {name} ({containers.state(name)})\n{containers.logs(name)}")
        raise
    finally:
        containers.remove()
        vhost.delete()
        for database in databases.values():
            database.drop()
        shutil.rmtree(files, ignore_errors=True)
    report(f"The suite ran from the images and passed the smoke scenario in {time.monotonic() - started:.0f} s "
           "(containers, vhost and databases removed).")


# --- deploy/compose.yaml ------------------------------------------------------------------------------------

COMPOSE_FILE = ROOT / "deploy" / "compose.yaml"


def compose_services():
    """deploy/compose.yaml's services, YAML anchors and merge keys resolved (before variable interpolation)."""
    import yaml
    return yaml.safe_load(COMPOSE_FILE.read_text())["services"]


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    command = argv[0] if argv else "build"
    if command not in ("build", "test", "smoke"):
        print("usage: python -m espace_deploy.images build|test|smoke", file=sys.stderr)
        return 2
    try:
        ensure_engine()
    except Unavailable as exc:
        if command == "test":
            print(f"images-test skipped: {exc}")
            return 0
        print(f"Cannot build the images: {exc}", file=sys.stderr)
        return 2
    if command == "smoke":  # the images as they are, not built again
        smoke(report=lambda line: print(line, flush=True))
        return 0
    started = time.monotonic()
    print("Building the images…", flush=True)
    times = build(report=lambda line: print(line, flush=True))
    print(f"Built in {time.monotonic() - started:.0f} s ({sum(times.values()):.0f} s of builds).")
    report_sizes()
    if command == "test":
        print("Running the suite from the images…", flush=True)
        smoke(report=lambda line: print(line, flush=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
