# syntax=docker/dockerfile:1
# For local runs only, never deployed: the Paybox sandbox (python -m espace_deploy.paybox_sandbox) and the mail
# catcher (aiosmtpd) of deploy/compose.yaml's dev profile, and the sandbox of `make images-test`.
# Build from the repository root: docker build -f deploy/images/dev.Dockerfile -t espace-famille/dev .
ARG BASE=python:3.11-slim

FROM ${BASE} AS build
# pip reads the system's trust store (a build may bind-mount the host's over it, to trust a proxy's CA).
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore PIP_CERT=/etc/ssl/certs/ca-certificates.crt
WORKDIR /src
# A venv, the same on python:3.11-slim and on Debian's python3 (whose own pip refuses system installs); its
# interpreter is the base's, so the final stage, on the same base, copies it whole. First the dependencies, from
# the pyproject.toml files alone (the packages are empty then): that layer is built again only when one of them
# changes, so a change of code reinstalls the code alone. Naming libs/common lets pip satisfy espace-common
# locally; nameko's CLI imports pkg_resources, gone in setuptools 82. The cache mount keeps pip's downloads and
# built wheels between builds, out of the image.
COPY libs/common/pyproject.toml libs/common/
COPY deploy/pyproject.toml deploy/
RUN --mount=type=cache,target=/root/.cache/pip \
    python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-compile ./libs/common ./deploy "aiosmtpd>=1.4" "setuptools<82"
COPY libs/common libs/common
COPY deploy/espace_deploy deploy/espace_deploy
# Then the code, without dependencies. pip, tests and bytecode are left out: nothing installs at run time, and the
# root file system is read-only. Of Babel's 1,100 locales (35 MB) only the suite's French is kept (fr_FR, its
# parents fr and root: espace_common.formatting.LOCALE).
RUN --mount=type=cache,target=/root/.cache/pip \
    /opt/venv/bin/pip install --no-compile --no-deps --force-reinstall ./libs/common ./deploy \
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
