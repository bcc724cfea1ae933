"""What `make test` sets up before pytest: the broker, its management API and a browser.

The test command must work on a fresh Debian machine, as root in CI: it starts
the local RabbitMQ when it is installed and stopped, enables the management
plugin (the tests create one virtual host per test through it) and installs
Debian's Chromium for the browser tests when it is missing.
"""
import os
import shutil
import subprocess
import sys
import time

import requests

from espace_common.config import ConfigError

from .broker import ensure_broker
from .testing import DEFAULT_AMQP_URI, management_url

CHROMIUM = "/usr/bin/chromium"


def ensure_management_api():
    url = management_url()
    try:
        if requests.get(f"{url}/api/overview", timeout=3).ok:
            return
    except requests.RequestException:
        pass
    plugins = shutil.which("rabbitmq-plugins") or "/usr/sbin/rabbitmq-plugins"
    if not os.path.exists(plugins):
        raise ConfigError("RABBITMQ_MANAGEMENT_URL", f"the RabbitMQ management API does not answer at {url} and rabbitmq-plugins is not installed.")
    print("Enabling the RabbitMQ management plugin…", flush=True)
    subprocess.run([plugins, "enable", "rabbitmq_management"], check=False, stdout=subprocess.DEVNULL)
    for _ in range(60):
        try:
            if requests.get(f"{url}/api/overview", timeout=3).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(1)
    raise ConfigError("RABBITMQ_MANAGEMENT_URL", f"the RabbitMQ management API did not answer at {url} after enabling it.")


def ensure_chromium():
    if os.path.exists(CHROMIUM):
        return
    if os.geteuid() != 0:
        raise ConfigError("chromium", "Debian's chromium is needed for the browser tests: run 'sudo apt-get install chromium'.")
    print("Installing Debian's chromium for the browser tests…", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
    result = subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium", "fonts-dejavu-core"],
                            env=env)
    if result.returncode != 0 or not os.path.exists(CHROMIUM):
        raise ConfigError("chromium", "apt-get could not install chromium.")


def main():
    try:
        ensure_broker(os.environ.get("AMQP_URI", DEFAULT_AMQP_URI))
        ensure_management_api()
        ensure_chromium()
    except ConfigError as exc:
        print(f"Cannot prepare the tests: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
