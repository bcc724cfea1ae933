"""Local runs only: the mails the services wrote to MAIL_OUTBOX_DIR, with their links clickable."""
import os
import re
from datetime import datetime, timezone
from email import message_from_bytes, policy
from email.utils import parsedate_to_datetime
from pathlib import Path

from flask import Blueprint, abort, current_app, render_template
from markupsafe import Markup, escape

from .helpers import local_run

bp = Blueprint("devmail", __name__, url_prefix="/dev")

MAX_MAILS = 50
LINK = re.compile(r"https?://[^\s<>\"']+")


@bp.before_request
def only_in_local_runs():
    """Outside local runs the page does not exist: the mails carry live links."""
    if not local_run():
        abort(404)


def outbox_dir():
    folder = current_app.config["ESPACE"].get("MAIL_OUTBOX_DIR") or os.environ.get("MAIL_OUTBOX_DIR")
    return Path(folder) if folder else None


def linkify(text):
    """Escape a plain-text body and make each http(s) link clickable."""
    parts, last = [], 0
    for match in LINK.finditer(text):
        url = match.group(0).rstrip(".,;:)")
        parts.append(escape(text[last:match.start()]))
        parts.append(Markup('<a href="{0}">{0}</a>').format(url))
        last = match.start() + len(url)
    parts.append(escape(text[last:]))
    return Markup("").join(parts)


def read_mail(path):
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    body = message.get_body(preferencelist=("plain",))
    try:
        sent = parsedate_to_datetime(message["Date"]) if message["Date"] else None
    except (TypeError, ValueError):
        sent = None
    if sent is None:
        sent = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
    return {"id": path.stem, "subject": str(message["Subject"] or "(sans objet)"), "to": str(message["To"] or ""),
            "sender": str(message["From"] or ""), "sent": sent,
            "body": linkify(body.get_content() if body is not None else "")}


@bp.get("/courriels")
def outbox():
    """The mails sent in this local run, newest first."""
    folder = outbox_dir()
    paths = sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True) if folder and folder.is_dir() else []
    mails = [read_mail(path) for path in paths[:MAX_MAILS]]
    return render_template("dev/outbox.html", mails=mails, folder=folder, total=len(paths))
