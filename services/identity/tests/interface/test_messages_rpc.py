"""Messages to the service over the real broker, with a real SMTP server (aiosmtpd): the family's message reaches the
service's mailbox, the agent's answer and closing reach the family's confirmed address, each with its link and
without the message's body; an agent of the other service is refused; an attachment travels as base64."""
import base64
import io

import pytest
from pypdf import PdfWriter

from espace_common.rpc_client import RemoteError
from espace_deploy.testing import link_in

pytestmark = pytest.mark.broker

PASSWORD = "Brise-Marine-44!"
PUBLIC_URL = "https://espace.example.fr"
SCHOOL_BOX, CRECHE_BOX = "scolaire@mairie.example", "creche@mairie.example"
FAMILY = {"representatives": [{"first_name": "Claire", "last_name": "Martin", "email": "claire@example.org"}],
          "children": [{"first_name": "Léa", "last_name": "Martin", "birth_date": "2018-04-17"}]}


def a_pdf():
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return {"name": "facture-novembre.pdf", "content_base64": base64.b64encode(out.getvalue()).decode()}


@pytest.fixture
def world(start_service, rpc, mail, tmp_path):
    start_service("identity", SMTP_URL=mail.url, PUBLIC_URL=PUBLIC_URL, MESSAGES_AFFAIRES_SCOLAIRES_EMAIL=SCHOOL_BOX,
                  MESSAGES_PETITE_ENFANCE_EMAIL=CRECHE_BOX, IDENTITY_FILES_DIR=str(tmp_path / "identity-files"))
    family = rpc.call("identity", "register_family", FAMILY)
    key = rpc.call("identity", "issue_key", family["representatives"][0]["id"])["key"]
    me = rpc.call("identity", "create_account", key, "claire.martin", "claire.perso@example.org", PASSWORD)
    token = link_in(mail.wait_for("claire.perso@example.org")[0], "confirmer-email").rsplit("/", 1)[1]
    rpc.call("identity", "confirm_email", token)
    school = rpc.call("identity", "ensure_agent", "agent.ecole", PASSWORD, ["affaires_scolaires"])
    creche = rpc.call("identity", "ensure_agent", "agent.creche", PASSWORD, ["petite_enfance"])
    return {"family": family, "account": me["account"]["id"], "school": school["id"], "creche": creche["id"]}


def body_of(message):
    return message.get_body(preferencelist=("plain",)).get_content()


def test_both_sides_are_mailed_through_a_real_smtp_server(world, rpc, mail):
    started = rpc.call("identity", "start_conversation", world["account"],
                       {"service": "affaires_scolaires", "subject": "Facture de novembre",
                        "body": "Bonjour, le repas du 12 est compté deux fois.",
                        "child_id": world["family"]["children"][0]["id"]}, a_pdf(), "form-1")
    (to_service,) = mail.wait_for(SCHOOL_BOX)
    assert "Facture de novembre" in str(to_service["Subject"])
    assert link_in(to_service, "agents/messages") == f"{PUBLIC_URL}/agents/messages/{started['id']}"
    assert "deux fois" not in body_of(to_service) and "Claire" not in body_of(to_service)
    assert mail.to(CRECHE_BOX) == []

    with pytest.raises(RemoteError) as refused:
        rpc.call("identity", "reply_to_conversation", "agent", world["creche"], started["id"], "Je réponds")
    assert refused.value.exc_type == "Forbidden" and refused.value.code == "not_your_service"

    message_id = started["messages"][0]["id"]
    document = rpc.call("identity", "message_attachment", "agent", world["school"], message_id)
    assert base64.b64decode(document["content_base64"]).startswith(b"%PDF-")
    assert rpc.call("identity", "message_attachment_reads", message_id)[0]["reader"] == f"agent:{world['school']}"

    rpc.call("identity", "reply_to_conversation", "agent", world["school"], started["id"],
             "Vous avez raison, un avoir suivra.", None, "agent-1")
    answer = mail.wait_for("claire.perso@example.org", count=2)[-1]
    assert str(answer["Subject"]) == "Le service Affaires Scolaires a répondu à votre message"
    assert link_in(answer, "mon-espace/messages") == f"{PUBLIC_URL}/mon-espace/messages/{started['id']}"
    assert "avoir" not in body_of(answer)

    closed = rpc.call("identity", "close_conversation", world["school"], started["id"])
    assert closed["state"] == "closed"
    closing = mail.wait_for("claire.perso@example.org", count=3)[-1]
    assert "est close" in str(closing["Subject"])
    with pytest.raises(RemoteError) as late:
        rpc.call("identity", "reply_to_conversation", "parent", world["account"], started["id"], "Merci")
    assert late.value.exc_type == "Conflict"
    assert len(mail.to(SCHOOL_BOX)) == 1  # the refused reply mailed nothing


def test_junk_over_rpc_is_a_domain_refusal_never_a_crash(world, rpc):
    for junk in ("é" * 40, "x" * 100_000, "", "\u202e", None):
        with pytest.raises(RemoteError) as refused:
            rpc.call("identity", "conversation", "parent", world["account"], junk)
        assert refused.value.exc_type == "NotFound", junk
    for body in ("x" * 100_000, "é" * 5001, "   ", None):
        with pytest.raises(RemoteError) as refused:
            rpc.call("identity", "start_conversation", world["account"],
                     {"service": "petite_enfance", "subject": "Objet", "body": body})
        assert (refused.value.exc_type, refused.value.code) == ("InvalidInput", "invalid_body")
    assert rpc.call("identity", "conversations", "parent", world["account"]) == []
