"""Outgoing mail: written in the transaction that causes it, sent after commit by a relay.

SMTP_URL chooses the transport: `smtp://host:port` (or `smtps://`, with
`?starttls=1` to upgrade), or `file:relative/folder` or `file:///absolute/folder`, which writes each
message as an .eml file (the local outbox of `make run`).
"""
import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import Column, Integer, String, Table, Text

from .config import ConfigError
from .db import UTCDateTime

log = logging.getLogger(__name__)

DEFAULT_SENDER = "Espace Famille <espace-famille@mairie-donges.fr>"


def mail_outbox_table(metadata):
    return Table(
        "mail_outbox", metadata,
        Column("position", Integer, primary_key=True, autoincrement=True),
        Column("recipient", String(254), nullable=False),
        Column("subject", String(200), nullable=False),
        Column("body", Text, nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        Column("sent_at", UTCDateTime, nullable=True),
        Column("attempts", Integer, nullable=False, default=0),
        Column("last_error", String(300), nullable=True),
        # A replica sending this mail holds it until then; another takes it only once that has passed.
        Column("claimed_until", UTCDateTime, nullable=True),
    )


MAX_LISTED_RECIPIENTS = 20


def mails_to(uow, table, recipients, limit=50):
    """The mails of an outbox written to some addresses (a family's), newest first: recipient, subject, when
    written and sent; never the body (it may carry a link that works). Addresses compare case-insensitively."""
    from sqlalchemy import func, select
    wanted = sorted({r.strip().casefold() for r in recipients or [] if isinstance(r, str) and 0 < len(r) <= 254})
    if not wanted:
        return []
    rows = uow.execute(select(table.c.recipient, table.c.subject, table.c.created_at, table.c.sent_at)
                       .where(func.lower(table.c.recipient).in_(wanted[:MAX_LISTED_RECIPIENTS]))
                       .order_by(table.c.created_at.desc(), table.c.position.desc()).limit(limit)).all()
    return [{"recipient": r.recipient, "subject": r.subject, "created_at": r.created_at.isoformat(),
             "sent_at": r.sent_at.isoformat() if r.sent_at else None} for r in rows]


def build_message(sender, recipient, subject, body):
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1].rstrip(">"))
    message.set_content(body)
    return message


class SmtpTransport:
    def __init__(self, url):
        parts = urlsplit(url)
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (465 if parts.scheme == "smtps" else 25)
        self.implicit_tls = parts.scheme == "smtps"
        self.starttls = parse_qs(parts.query).get("starttls", ["0"])[0] in ("1", "true")
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None

    def send(self, message):
        smtp_class = smtplib.SMTP_SSL if self.implicit_tls else smtplib.SMTP
        with smtp_class(self.host, self.port, timeout=10) as smtp:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)


class FileTransport:
    """Writes each message as an .eml file; the gateway lists them in local runs."""

    def __init__(self, url):
        self.folder = Path(unquote(urlsplit(url).path))

    def send(self, message):
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = message["Message-ID"].strip("<>").split("@")[0]
        (self.folder / f"{stamp}.eml").write_bytes(bytes(message))


def transport_for(url):
    scheme = urlsplit(url or "").scheme
    if scheme in ("smtp", "smtps"):
        return SmtpTransport(url)
    if scheme == "file":
        return FileTransport(url)
    raise ConfigError("SMTP_URL", f"'{url}' is neither smtp://host:port nor file:///folder.")
