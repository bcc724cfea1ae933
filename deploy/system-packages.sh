#!/usr/bin/env bash
# What `make run`, `make test` and `make bench` need from the system before the venv can exist:
# Python's venv module (Debian ships it as python3-venv), the font billing's PDFs embed (fonts-dejavu-core) and RabbitMQ, unless AMQP_URI names a
# broker or one already answers on localhost:5672. As root on Debian it installs what is missing
# with apt-get, the way `make test` installs Chromium; otherwise it says in one sentence what to
# install. Starting the broker is the runner's job (deploy/espace_deploy/broker.py).
set -euo pipefail
PYTHON="${PYTHON:-python3}"
missing=""

if ! command -v "$PYTHON" >/dev/null 2>&1 || ! "$PYTHON" -c "import ensurepip, venv" 2>/dev/null; then
    missing="$missing python3-venv"
fi

broker_answers() {
    # Any local listener on 5672 will do: the runner checks that it really is RabbitMQ.
    (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null
}
if [ -z "${AMQP_URI:-}" ] && ! command -v rabbitmq-server >/dev/null 2>&1 \
        && [ ! -x /usr/sbin/rabbitmq-server ] && ! broker_answers; then
    missing="$missing rabbitmq-server"
fi

# Billing's PDFs embed a Unicode TrueType font (BILLING_FONT), DejaVu Sans by default.
if [ -z "${BILLING_FONT:-}" ] && [ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then
    missing="$missing fonts-dejavu-core"
fi

[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing with apt-get:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086  # one word per package
    apt-get install -y -qq --no-install-recommends $missing
    exit 0
fi

advice=""
[ "${missing#*rabbitmq}" != "$missing" ] && advice=", or set AMQP_URI to a running RabbitMQ"
echo "This machine needs${missing}: install it with 'sudo apt-get install${missing}' (run as root, make installs it itself)${advice}." >&2
exit 2
