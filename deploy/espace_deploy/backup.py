"""Back up and restore the whole suite on PostgreSQL: the five databases and the folders of files.

    python -m espace_deploy.backup dump DIR
    python -m espace_deploy.backup restore DIR

The databases come from IDENTITY_DATABASE_URL, CANTEEN_DATABASE_URL, CHILDCARE_DATABASE_URL,
BILLING_DATABASE_URL and PAYMENT_DATABASE_URL (each service's DATABASE_URL), the folders from the services'
own settings: BILLING_FILES_DIR (invoice PDFs, paper batches), CANTEEN_FILES_DIR and CHILDCARE_FILES_DIR
(justifications), IDENTITY_FILES_DIR (the document wallet, messages' attachments). Each database is dumped with
`pg_dump -Fc`, each folder archived as tar.gz, and DIR/manifest.json keeps their checksums; a restore checks
every checksum before it touches anything. See docs/ops.md.
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote, urlencode

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.engine import make_url

from espace_common.db import create_database_engine

from .suite import SERVICES

FORMAT = 1
# Every folder a service writes files to, by the setting that names it (services/*/config.yml).
FILES_SETTINGS = ("BILLING_FILES_DIR", "CANTEEN_FILES_DIR", "CHILDCARE_FILES_DIR", "IDENTITY_FILES_DIR")


class BackupError(Exception):
    """What stops a dump or a restore, in one sentence for the operator."""


def database_setting(service):
    return f"{service.upper()}_DATABASE_URL"


def settings_from(environ):
    """({service: database URL}, {setting: folder}) from the environment; every one is required."""
    missing = [database_setting(s) for s in SERVICES if not environ.get(database_setting(s))]
    missing += [name for name in FILES_SETTINGS if not environ.get(name)]
    if missing:
        raise BackupError(f"set {', '.join(missing)} (the five databases and the four folders of files are "
                          "all needed for a backup the suite can come back from).")
    urls = {s: environ[database_setting(s)] for s in SERVICES}
    for service, url in urls.items():
        if make_url(url).get_backend_name() != "postgresql":
            raise BackupError(f"{database_setting(service)} is not a PostgreSQL URL: this command backs up "
                              "PostgreSQL (a SQLite suite is backed up by copying var/ with the suite stopped).")
    return urls, {name: Path(environ[name]) for name in FILES_SETTINGS}


def libpq(url):
    """(a libpq URI without the password, the environment that carries the password) for pg_dump/pg_restore."""
    parsed = make_url(url)
    netloc = quote(parsed.username or "", safe="")
    netloc = f"{netloc}@" if netloc else ""
    netloc += parsed.host or "127.0.0.1"
    if parsed.port:
        netloc += f":{parsed.port}"
    query = f"?{urlencode(dict(parsed.query), doseq=True)}" if parsed.query else ""
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = parsed.password  # never on the command line, which `ps` shows
    return f"postgresql://{netloc}/{quote(parsed.database or '', safe='')}{query}", env


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def run_tool(argv, env):
    """Run pg_dump or pg_restore; its own message when it fails."""
    if shutil.which(argv[0]) is None:
        raise BackupError(f"{argv[0]} is not installed (Debian: apt-get install postgresql-client, of a version "
                          "at least the server's).")
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{argv[0]} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")


def schema_revision(url):
    """The Alembic revision a database is at (None without migrations)."""
    engine = create_database_engine(url)
    try:
        with engine.connect() as connection:
            exists = connection.execute(text("SELECT to_regclass('alembic_version')")).scalar()
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar() if exists else None
    finally:
        engine.dispose()


def dump(target, environ=os.environ, report=print):
    """Dump the five databases, then archive the folders, into the new or empty folder target."""
    urls, folders = settings_from(environ)
    target = Path(target)
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} is not empty: a backup goes into a new folder.")
    (target / "databases").mkdir(parents=True, exist_ok=True)
    (target / "files").mkdir(exist_ok=True)
    started = datetime.now(timezone.utc)
    manifest = {"format": FORMAT, "started_at": started.isoformat(), "databases": {}, "files": {}}
    clock = time.monotonic()
    # Databases first, folders after: every file a database names then exists in the archive (a file written
    # in between is only an extra one).
    for service, url in urls.items():
        path = target / "databases" / f"{service}.dump"
        uri, env = libpq(url)
        run_tool(["pg_dump", "--format=custom", f"--file={path}", f"--dbname={uri}"], env)
        manifest["databases"][service] = {"file": f"databases/{path.name}", "sha256": sha256_of(path),
                                          "bytes": path.stat().st_size, "revision": schema_revision(url)}
        report(f"{service}: database dumped ({path.stat().st_size} bytes, revision "
               f"{manifest['databases'][service]['revision']})")
    for setting, folder in folders.items():
        path = target / "files" / f"{setting.lower()}.tar.gz"
        count = 0
        with tarfile.open(path, "w:gz") as archive:
            if folder.is_dir():
                for item in sorted(folder.rglob("*")):
                    archive.add(item, arcname=str(item.relative_to(folder)), recursive=False)
                    count += item.is_file()
        manifest["files"][setting] = {"file": f"files/{path.name}", "sha256": sha256_of(path),
                                      "bytes": path.stat().st_size, "count": count, "folder": str(folder)}
        report(f"{setting}: {count} file(s) archived from {folder}")
    manifest["finished_at"] = datetime.now(timezone.utc).isoformat()
    (target / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    report(f"backup written to {target} in {time.monotonic() - clock:.1f} s")
    return manifest


def read_manifest(source):
    """The manifest of a backup, once every part it names is there with its checksum."""
    source = Path(source)
    try:
        manifest = json.loads((source / "manifest.json").read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"{source} holds no readable manifest.json ({exc}).") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{source} is a backup of format {manifest.get('format')!r}, not {FORMAT}.")
    if set(manifest["databases"]) != set(SERVICES) or set(manifest["files"]) != set(FILES_SETTINGS):
        raise BackupError(f"{source} does not hold every database and folder of the suite.")
    for part in (*manifest["databases"].values(), *manifest["files"].values()):
        path = source / part["file"]
        if not path.is_file() or sha256_of(path) != part["sha256"]:
            raise BackupError(f"{path} is missing or damaged (its checksum differs from the manifest's).")
    return manifest


def ensure_database(url):
    """Create the database if it is gone (a destroyed server, a new one); True when it had to be created.

    The database itself is tried first: a service's role may be refused every other database (CNPG's pg_hba
    in the prod overlay), and needs the maintenance database only to create its own."""
    engine = create_database_engine(url)
    try:
        with engine.connect():
            return False
    except DBAPIError as exc:
        # pg8000 gives the server's fields: C the SQLSTATE, M the message.
        fields = exc.orig.args[0] if exc.orig.args and isinstance(exc.orig.args[0], dict) else {}
        if fields.get("C") != "3D000":  # invalid_catalog_name; any other failure is the operator's to see
            reason = fields.get("M") or str(exc.orig).splitlines()[0]
            raise BackupError(f"cannot connect to {make_url(url).render_as_string(hide_password=True)}: "
                              f"{reason}") from None
    finally:
        engine.dispose()
    parsed = make_url(url)
    engine = create_database_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            name = parsed.database.replace('"', '""')
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return True


def empty_folder(folder):
    """Remove what a folder holds, not the folder (it may be a volume's mount point)."""
    folder.mkdir(parents=True, exist_ok=True)
    for item in folder.iterdir():
        if item.is_dir() and not item.is_symlink():
            shutil.rmtree(item)
        else:
            item.unlink()


def restore(source, environ=os.environ, report=print):
    """Put the suite back as the backup in source holds it: each database replaced, each folder emptied and refilled.

    The services must be stopped (scaled to zero): a restore under a running suite mixes its writes in."""
    urls, folders = settings_from(environ)
    source = Path(source)
    manifest = read_manifest(source)
    clock = time.monotonic()
    for service, url in urls.items():
        part = manifest["databases"][service]
        created = ensure_database(url)
        uri, env = libpq(url)
        # One transaction per database: a failed restore leaves the database as it was. Connected as the service's
        # own role, which then owns what it restores (--no-owner), as the migrations made it.
        run_tool(["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-acl", "--single-transaction",
                  "--exit-on-error", f"--dbname={uri}", str(source / part["file"])], env)
        revision = schema_revision(url)
        if revision != part["revision"]:
            raise BackupError(f"{service}: the restored database is at revision {revision}, the backup's at "
                              f"{part['revision']}.")
        report(f"{service}: database restored{' (created)' if created else ''}, revision {revision}")
    for setting, folder in folders.items():
        part = manifest["files"][setting]
        empty_folder(folder)
        with tarfile.open(source / part["file"], "r:gz") as archive:
            archive.extractall(folder, filter="data")  # no absolute path, no way out of the folder
        report(f"{setting}: {part['count']} file(s) restored into {folder}")
    report(f"restored from {source} in {time.monotonic() - clock:.1f} s; run the migrations, start the suite, then "
           f"re-publish what may have been published after the backup began: "
           f"python -m espace_deploy.outbox replay --all --since {manifest['started_at']}")
    return manifest


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m espace_deploy.backup", description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=("dump", "restore"))
    parser.add_argument("folder", help="the backup's folder (new or empty for a dump)")
    args = parser.parse_args(argv)
    try:
        (dump if args.action == "dump" else restore)(args.folder)
    except BackupError as exc:
        print(f"{args.action} failed: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
