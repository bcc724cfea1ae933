# syntax=docker/dockerfile:1
# For local runs only, never deployed: the Paybox sandbox (python -m espace_deploy.paybox_sandbox) and the mail
# catcher (aiosmtpd) of deploy/compose.yaml's dev profile, and the sandbox of `make images-test`.
# Build from the repository root: docker build -f deploy/images/dev.Dockerfile -t espace-famille/dev .
ARG BASE=python:3.11-slim

FROM ${BASE} AS build
# pip reads the system's trust store (a build may bind-mount the host's over it, to trust a proxy's CA).
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore PIP_CERT=/etc/ssl/certs/ca-certificates.crt
WORKDIR /src
COPY libs/common libs/common
COPY deploy/pyproject.toml deploy/pyproject.toml
COPY deploy/espace_deploy deploy/espace_deploy
# As in the components' Dockerfiles: a venv the final stage copies whole, without pip, tests, bytecode or
# Babel's locales other than French.
RUN --mount=type=cache,target=/root/.cache/pip \
    python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-compile ./libs/common ./deploy "aiosmtpd>=1.4" "setuptools<82" \
    && /opt/venv/bin/pip uninstall --yes pip \
    && find /opt/venv -depth -type d \( -name __pycache__ -o -name tests \) -exec rm -rf {} + \
    && find /opt/venv/lib/python3*/site-packages/babel/locale-data -type f \
        ! -name root.dat ! -name fr.dat ! -name fr_FR.dat -delete

FROM ${BASE}
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PATH=/opt/venv/bin:$PATH
COPY --from=build /opt/venv /opt/venv
WORKDIR /tmp
USER 10001:10001
CMD ["python", "-m", "espace_deploy.paybox_sandbox"]
