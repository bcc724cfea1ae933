"""The document wallet's expiry reminder (issue #12) over the real broker, with a real SMTP server: two replicas of
identity on one database, and a restart, send it once."""
import base64
import io
import time
from datetime import datetime, timedelta, timezone

import pytest

from espace_common.clock import PARIS
from espace_deploy.testing import ServiceProcess, stop_processes

pytestmark = pytest.mark.broker

FAMILY = {"representatives": [{"first_name": "Claire", "last_name": "Martin", "email": "claire@example.org"}],
          "children": [{"first_name": "Léa", "last_name": "Martin", "birth_date": "2018-04-17"}]}


def pdf():
    from pypdf import PdfWriter
    writer, out = PdfWriter(), io.BytesIO()
    writer.add_blank_page(width=595, height=842)
    writer.write(out)
    return {"name": "carnet.pdf", "content_base64": base64.b64encode(out.getvalue()).decode()}


def test_two_replicas_and_a_restart_send_the_expiry_reminder_once(vhost, database_factory, tmp_path, mail, rpc):
    url = database_factory("identity")
    env = {"SMTP_URL": mail.url, "IDENTITY_FILES_DIR": str(tmp_path / "identity-files"), "WALLET_REMINDER_DAYS": "15"}
    folders = [tmp_path / name for name in ("first", "second", "third")]
    for folder in folders:
        folder.mkdir()
    today = datetime.now(timezone.utc).astimezone(PARIS).date()

    # Today: the family's vaccination record, valid ten more days, is accepted (today's slot is already taken by
    # the timer that ran at start, when there was nothing to remind).
    first = ServiceProcess("identity", vhost.amqp_uri, url, folders[0])
    first.migrate()
    first.start(**env)
    try:
        family = rpc.call("identity", "register_family", FAMILY)
        document = rpc.call("identity", "upload_wallet_document", family["id"], "account:test", "vaccination_record",
                            (today + timedelta(days=10)).isoformat(), pdf())
        rpc.call("identity", "decide_wallet_document", document["id"], "accepted", "", "agent:test")
    finally:
        stop_processes([first])
    assert mail.to("claire@example.org") == []

    # Tomorrow: two replicas start at once, each timer fires at start and races for the day's slot.
    tomorrow = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()
    replicas = [ServiceProcess("identity", vhost.amqp_uri, url, folder) for folder in folders[1:]]
    try:
        for replica in replicas:
            replica.start(wait=False, EF_CLOCK=tomorrow, **env)
        for replica in replicas:
            replica.wait_healthy()
        [reminder] = mail.wait_for("claire@example.org", 1, timeout=30)
        assert "Carnet de vaccinations" in reminder["Subject"]
        # A restart of one replica the same day fires its timer again: the day's run is done.
        stop_processes(replicas[:1])
        replicas[0].start(EF_CLOCK=tomorrow, **env)
        time.sleep(3)
        assert len(mail.to("claire@example.org")) == 1
    finally:
        stop_processes(replicas)
