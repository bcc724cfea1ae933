"""Messages to the service (issue #12) on a SQLite file migrated by the real Alembic history, with a fixed clock:
a family writes, the agents of that service answer and close, each side's mails are queued in the same
transaction, another family or service is refused, attachments are checked as the absences' justifications are,
and the GDPR hooks export and purge."""
import base64
import io
from datetime import datetime, timedelta, timezone

import pytest
from cryptography.fernet import Fernet
from PIL import Image
from pypdf import PdfWriter
from sqlalchemy import func, select

from espace_common.clock import FixedClock
from espace_common.config import load_config
from espace_common.documents import DocumentStore
from espace_common.errors import Conflict, Forbidden, InvalidInput, NotFound
from espace_common.launch import config_file
from espace_deploy.testing import SqliteUnits, migrated_sqlite
from identity import orm
from identity.passwords import Passwords
from identity.policy import Policy
from identity.use_cases import accounts, agents, families, keys
from identity.use_cases import messages

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=timezone.utc)
PASSWORD = "Brise-Marine-44!"
FAMILY = {"representatives": [{"first_name": "Claire", "last_name": "Martin", "email": "claire@example.org"},
                              {"first_name": "Julien", "last_name": "Martin", "email": "julien@example.org"}],
          "children": [{"first_name": "Léa", "last_name": "Martin", "birth_date": "2018-04-17"}]}
OTHER = {"representatives": [{"first_name": "Marc", "last_name": "Dupont", "email": "marc@example.org"}],
         "children": [{"first_name": "Tom", "last_name": "Dupont", "birth_date": "2019-02-01"}]}
SETTINGS = messages.MessageSettings("https://espace.example.fr",
                                    {"affaires_scolaires": "as@mairie.example", "petite_enfance": "pe@mairie.example"})


def pdf_document(name="facture.pdf"):
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return {"name": name, "content_base64": base64.b64encode(out.getvalue()).decode()}


def png_document():
    out = io.BytesIO()
    Image.new("L", (40, 30), "white").save(out, "PNG")
    return {"name": "photo.png", "content_base64": base64.b64encode(out.getvalue()).decode()}


class Db:
    """What identity's older use cases take (db.unit_of_work, db.clock) over the same units."""

    def __init__(self, units, clock):
        self.unit_of_work, self.clock, self.engine = units, clock, units.engine

    def rows(self, table, *where):
        with self.engine.connect() as connection:
            return connection.execute(select(table).where(*where)).all()

    def count(self, table, *where):
        with self.engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(table).where(*where)).scalar()

    def mails(self, recipient=None):
        rows = self.rows(orm.mail_outbox)
        return [m for m in rows if recipient is None or m.recipient == recipient]


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return migrated_sqlite("identity", tmp_path_factory.mktemp("identity-messages"))


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture
def db(template, tmp_path, clock):
    units = SqliteUnits(template, tmp_path / "identity.sqlite", orm.metadata, clock)
    yield Db(units, clock)
    units.dispose()


@pytest.fixture
def files(tmp_path):
    return DocumentStore(tmp_path / "files")


@pytest.fixture(scope="module")
def policy():
    return Policy.from_config(load_config(config_file("identity"),
                                          environ={"LETTER_SECRET": Fernet.generate_key().decode()}))


@pytest.fixture(scope="module")
def passwords():
    return Passwords(time_cost=1, memory_kib=8192)


def account(db, policy, passwords, family, rep, username, email, confirm=True):
    key = keys.issue_key(db, db.clock, policy, family["representatives"][rep]["id"])["key"]
    created = accounts.create_account(db, db.clock, policy, passwords, key, username, email, PASSWORD)
    if confirm:
        link = next(m for m in db.mails(email) if "confirmer-email" in m.body)
        token = next(w for w in link.body.split() if "/confirmer-email/" in w).rsplit("/", 1)[1]
        accounts.confirm_email(db, db.clock, token)
    return created["account"]["id"] if "account" in created else created["id"]


@pytest.fixture
def world(db, policy, passwords):
    family = families.register_family(db, db.clock, FAMILY)
    other = families.register_family(db, db.clock, OTHER)
    claire = account(db, policy, passwords, family, 0, "claire.martin", "claire.perso@example.org")
    julien = account(db, policy, passwords, family, 1, "julien.martin", "julien.perso@example.org", confirm=False)
    marc = account(db, policy, passwords, other, 0, "marc.dupont", "marc.perso@example.org")
    school = agents.ensure_agent(db, db.clock, passwords, "agent.ecole", PASSWORD, ["affaires_scolaires"])
    creche = agents.ensure_agent(db, db.clock, passwords, "agent.creche", PASSWORD, ["petite_enfance"])
    admin = agents.ensure_agent(db, db.clock, passwords, "admin", PASSWORD, ["admin"])
    ids = {k: (v["id"] if isinstance(v, dict) else v) for k, v in
           dict(school=school, creche=creche, admin=admin).items()}
    return dict(family=family, other=other, claire=claire, julien=julien, marc=marc, **ids)


def write(db, files, world, account_id=None, document=None, request_id=None, **payload):
    payload = {"service": "affaires_scolaires", "subject": "Repas du 7 décembre", "body": "Bonjour,\nLéa sera absente.",
               **payload}
    return messages.start_conversation(db.unit_of_work, db.clock, SETTINGS, files, account_id or world["claire"],
                                       payload, document, request_id)


def test_a_family_writes_the_agent_answers_and_closes_each_side_mailed_in_its_transaction(db, files, world, clock):
    started = write(db, files, world, child_id=world["family"]["children"][0]["id"], request_id="form-1")
    assert started["state"] == "open" and started["child_first_name"] == "Léa" and started["may_reply"]
    assert [m["author_name"] for m in started["messages"]] == ["Claire Martin"]
    (to_service,) = db.mails("as@mairie.example")
    assert "Repas du 7 décembre" in to_service.subject
    assert f"https://espace.example.fr/agents/messages/{started['id']}" in to_service.body
    assert "absente" not in to_service.body and "Martin" not in to_service.body  # the subject, nothing personal

    inbox = messages.conversations(db.unit_of_work, "agent", world["school"])
    assert [(c["id"], c["unread"], c["dossier"]) for c in inbox] == [(started["id"], True, world["family"]["dossier"])]
    assert messages.conversations(db.unit_of_work, "agent", world["creche"]) == []

    clock.advance(hours=1)
    seen = messages.conversation(db.unit_of_work, clock, "agent", world["school"], started["id"])
    assert seen["messages"][0]["body"] == "Bonjour,\nLéa sera absente." and seen["may_close"]
    assert messages.conversations(db.unit_of_work, "agent", world["school"])[0]["unread"] is False

    answered = messages.reply(db.unit_of_work, clock, SETTINGS, files, "agent", world["school"], started["id"],
                              "C'est noté, le repas est annulé.", request_id="agent-1")
    assert answered["state"] == "answered"
    assert [m["author_name"] for m in answered["messages"]] == ["Claire Martin", "agent.ecole"]
    (told,) = db.mails("claire.perso@example.org")[-1:]
    assert told.subject == "Le service Affaires Scolaires a répondu à votre message"
    assert f"https://espace.example.fr/mon-espace/messages/{started['id']}" in told.body
    assert "annulé" not in told.body
    assert not [m for m in db.mails("julien.perso@example.org") if "répondu" in m.subject]  # not confirmed

    family_view = messages.conversation(db.unit_of_work, clock, "parent", world["julien"], started["id"])
    assert [m["author_name"] for m in family_view["messages"]] == ["Claire Martin", "Service Affaires Scolaires"]
    assert family_view["state_label"] == "Réponse reçue"

    clock.advance(minutes=5)
    again = messages.reply(db.unit_of_work, clock, SETTINGS, files, "parent", world["julien"], started["id"], "Merci !")
    assert again["state"] == "awaiting" and len(db.mails("as@mairie.example")) == 2

    clock.advance(minutes=5)
    closed = messages.close(db.unit_of_work, clock, SETTINGS, world["school"], started["id"])
    assert closed["state"] == "closed" and not closed["may_reply"] and closed["closed_at"]
    assert db.mails("claire.perso@example.org")[-1].subject == \
        "Votre conversation avec le service Affaires Scolaires est close"
    messages.close(db.unit_of_work, clock, SETTINGS, world["school"], started["id"])  # again: nothing more
    assert len([m for m in db.mails("claire.perso@example.org") if "close" in m.subject]) == 1
    with pytest.raises(Conflict) as refused:
        messages.reply(db.unit_of_work, clock, SETTINGS, files, "parent", world["claire"], started["id"], "Encore")
    assert refused.value.code == "conversation_closed"
    assert messages.conversations(db.unit_of_work, "parent", world["claire"], state="closed")[0]["unread"] is True


def test_the_same_request_id_posts_once_and_another_parent_may_use_the_same_one(db, files, world):
    first = write(db, files, world, request_id="double-clic")
    assert write(db, files, world, request_id="double-clic")["id"] == first["id"]
    reply = dict(unit_of_work=db.unit_of_work, clock=db.clock, settings=SETTINGS, files=files)
    messages.reply(**reply, viewer_kind="agent", viewer_id=world["school"], conversation_id=first["id"], body="Oui",
                   request_id="r")
    messages.reply(**reply, viewer_kind="agent", viewer_id=world["school"], conversation_id=first["id"], body="Oui",
                   request_id="r")
    assert db.count(orm.messages) == 2 and db.count(orm.conversations) == 1
    assert len(db.mails("as@mairie.example")) == 1
    assert len([m for m in db.mails("claire.perso@example.org") if "répondu" in m.subject]) == 1
    other = write(db, files, world, account_id=world["marc"], request_id="double-clic")
    assert other["id"] != first["id"] and db.count(orm.conversations) == 2


def test_another_family_gets_not_found_and_an_agent_of_the_other_service_is_refused(db, files, world, clock):
    mine = write(db, files, world, service="petite_enfance")
    with pytest.raises(NotFound):
        messages.conversation(db.unit_of_work, clock, "parent", world["marc"], mine["id"])
    with pytest.raises(NotFound):
        messages.reply(db.unit_of_work, clock, SETTINGS, files, "parent", world["marc"], mine["id"], "Bonjour")
    for act in (lambda: messages.conversation(db.unit_of_work, clock, "agent", world["school"], mine["id"]),
                lambda: messages.reply(db.unit_of_work, clock, SETTINGS, files, "agent", world["school"], mine["id"],
                                       "Je réponds"),
                lambda: messages.close(db.unit_of_work, clock, SETTINGS, world["school"], mine["id"])):
        with pytest.raises(Forbidden) as refused:
            act()
        assert refused.value.code == "not_your_service"
    assert messages.conversations(db.unit_of_work, "parent", world["marc"]) == []
    assert [c["id"] for c in messages.conversations(db.unit_of_work, "agent", world["admin"])] == [mine["id"]]
    assert messages.conversation(db.unit_of_work, clock, "agent", world["creche"], mine["id"])["service"] == \
        "petite_enfance"
    with pytest.raises(Forbidden):  # a parent may not close
        messages.close(db.unit_of_work, clock, SETTINGS, world["claire"], mine["id"])
    with pytest.raises(NotFound) as child:
        write(db, files, world, child_id=world["other"]["children"][0]["id"])
    assert child.value.code == "child_not_found"
    assert db.count(orm.messages) == 1


@pytest.mark.parametrize("change, code", [
    ({"subject": "x" * 201}, "invalid_subject"),
    ({"body": "x" * 5001}, "invalid_body"),
    ({"body": "x" * 100_000}, "invalid_body"),
    ({"body": "   "}, "invalid_body"),
    ({"subject": "a\x00b"}, "invalid_subject"),
    ({"subject": "ligne\nautre"}, "invalid_subject"),
    ({"service": "police"}, "invalid_service"),
    ({"service": None}, "invalid_service"),
    ({"child_id": "é" * 40}, "invalid_child"),
    ({"child_id": 42}, "invalid_child"),
    ({"invoice_id": "../../etc/passwd"}, "invalid_invoice"),
])
def test_bad_fields_are_refused_never_cut_and_nothing_is_stored(db, files, world, change, code):
    with pytest.raises(InvalidInput) as refused:
        write(db, files, world, **change)
    assert refused.value.code == code
    assert db.count(orm.conversations) == 0 and db.mails("as@mairie.example") == []


def test_the_longest_subject_and_body_are_kept_whole(db, files, world):
    started = write(db, files, world, subject="é" * 200, body="ü" * 5000,
                    invoice_id="6F9619FF-8B86-D011-B42D-00C04FC964FF")
    assert started["subject"] == "é" * 200 and started["messages"][0]["body"] == "ü" * 5000
    assert started["invoice_id"] == "6f9619ff-8b86-d011-b42d-00c04fc964ff"
    (mail,) = db.mails("as@mairie.example")
    assert len(mail.subject) <= 200 and mail.subject.endswith("… »")


@pytest.mark.parametrize("junk", ["é", "x" * 100_000, "\ud800", None, 42, "", "../x"])
def test_junk_ids_are_not_found_or_refused_never_a_crash(db, files, world, clock, junk):
    with pytest.raises(NotFound):
        messages.conversation(db.unit_of_work, clock, "parent", world["claire"], junk)
    with pytest.raises(NotFound):
        messages.attachment(db.unit_of_work, clock, files, "parent", world["claire"], junk)
    with pytest.raises(Forbidden):
        messages.conversations(db.unit_of_work, "parent", junk)
    with pytest.raises((InvalidInput, NotFound)):
        messages.reply(db.unit_of_work, clock, SETTINGS, files, "agent", world["school"], junk, "Bonjour")
    assert messages.conversations(db.unit_of_work, "agent", world["school"], family_id=junk) == []
    with pytest.raises(InvalidInput):
        write(db, files, world, request_id="é" if junk != "" else "x" * 81)


def test_attachments_are_checked_as_justifications_and_every_read_is_recorded(db, files, world, clock, tmp_path):
    started = write(db, files, world, document=pdf_document("facture novembre.pdf"))
    attached = started["messages"][0]["attachment"]
    assert attached["name"] == "facture novembre.pdf" and attached["media_type"] == "application/pdf"
    message_id = started["messages"][0]["id"]
    got = messages.attachment(db.unit_of_work, clock, files, "agent", world["school"], message_id)
    assert base64.b64decode(got["content_base64"]).startswith(b"%PDF-")
    messages.attachment(db.unit_of_work, clock, files, "parent", world["julien"], message_id)
    assert [r["reader"] for r in messages.attachment_reads(db.unit_of_work, message_id)] == \
        [f"agent:{world['school']}", f"parent:{world['julien']}"]
    with pytest.raises(NotFound):
        messages.attachment(db.unit_of_work, clock, files, "parent", world["marc"], message_id)
    with pytest.raises(Forbidden):
        messages.attachment(db.unit_of_work, clock, files, "agent", world["creche"], message_id)
    assert len(messages.attachment_reads(db.unit_of_work, message_id)) == 2

    clock.advance(minutes=1)
    answered = messages.reply(db.unit_of_work, clock, SETTINGS, files, "agent", world["school"], started["id"],
                              "Voici le justificatif", document=png_document())
    assert answered["messages"][1]["attachment"]["media_type"] == "image/png"
    stored = sorted(p.name for p in (tmp_path / "files").iterdir())
    assert len(stored) == 2

    for bad in ({"name": "x.html", "content_base64": base64.b64encode(b"<script>alert(1)</script>").decode()},
                {"name": "x.pdf", "content_base64": "pas du base64 !"},
                {"name": "js.pdf", "content_base64": base64.b64encode(b"%PDF-1.4 /JS (app.alert(1))").decode()}):
        with pytest.raises(InvalidInput):
            write(db, files, world, document=bad)
    assert db.count(orm.conversations) == 1 and len(list((tmp_path / "files").iterdir())) == 2


def test_a_refused_message_leaves_no_file_behind(db, files, world, clock, tmp_path):
    started = write(db, files, world)
    messages.close(db.unit_of_work, clock, SETTINGS, world["school"], started["id"])
    with pytest.raises(Conflict):
        messages.reply(db.unit_of_work, clock, SETTINGS, files, "parent", world["claire"], started["id"], "Encore",
                       document=pdf_document())
    assert not (tmp_path / "files").exists() or not list((tmp_path / "files").iterdir())


def test_the_agents_inbox_puts_the_unread_then_those_to_answer_first(db, files, world, clock):
    older = write(db, files, world, subject="Ancien")
    clock.advance(minutes=1)
    answered = write(db, files, world, subject="Répondu")
    messages.reply(db.unit_of_work, clock, SETTINGS, files, "agent", world["school"], answered["id"], "Fait.")
    clock.advance(minutes=1)
    read = write(db, files, world, subject="Lu")
    messages.conversation(db.unit_of_work, clock, "agent", world["school"], read["id"])
    clock.advance(minutes=1)
    newest = write(db, files, world, subject="Nouveau")
    inbox = messages.conversations(db.unit_of_work, "agent", world["school"])
    assert [c["subject"] for c in inbox] == ["Nouveau", "Ancien", "Lu", "Répondu"]
    assert [c["subject"] for c in messages.conversations(db.unit_of_work, "agent", world["school"], state="answered")] \
        == ["Répondu"]
    with pytest.raises(InvalidInput):
        messages.conversations(db.unit_of_work, "agent", world["school"], state="perdu")
    by_family = messages.conversations(db.unit_of_work, "agent", world["school"], family_id=world["other"]["id"])
    assert by_family == [] and newest["id"] and older["id"]


def test_export_and_purge_for_the_gdpr_helper(db, files, world, clock, tmp_path):
    kept = write(db, files, world, subject="Toujours ouvert")
    old = write(db, files, world, subject="Clos il y a longtemps", document=pdf_document())
    messages.close(db.unit_of_work, clock, SETTINGS, world["school"], old["id"])
    with db.unit_of_work(read_only=True) as uow:
        exported = messages.export_family(uow, world["family"]["id"])
    assert [c["subject"] for c in exported["conversations"]] == ["Toujours ouvert", "Clos il y a longtemps"]
    assert exported["conversations"][1]["messages"][0]["attachment"]["name"] == "facture.pdf"
    with db.unit_of_work(read_only=True) as uow:
        assert messages.export_family(uow, world["other"]["id"]) == {"conversations": []}

    clock.advance(days=364)
    assert messages.purge_closed_conversations(db.unit_of_work, clock, files, timedelta(days=365))["conversations"] == 0
    clock.advance(days=2)
    outcome = messages.purge_closed_conversations(db.unit_of_work, clock, files, timedelta(days=365))
    assert outcome == {"conversations": 1, "messages": 1, "files": 1}
    assert [c.id for c in db.rows(orm.conversations)] == [kept["id"]]
    assert list((tmp_path / "files").iterdir()) == []
