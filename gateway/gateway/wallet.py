"""The document wallet (issue #12) as the other pages use it: an accepted wallet document given instead of an
upload. The gateway only fetches the file from identity (which checks the family and that the document may
justify an absence) and hands it to canteen or childcare exactly like an uploaded file; no rule here."""
from flask import request

from .auth import current_principal
from .services import services

FIELD = "wallet_document_id"


def wallet_justification(form=None):
    """{name, content_base64} of the wallet document the form names (`wallet_document_id`), or None."""
    document_id = (form if form is not None else request.form).get(FIELD, "").strip()[:40]
    if not document_id:
        return None
    principal = current_principal()
    return services().call("identity", "wallet_justification", principal["family_id"], document_id,
                           f"parent:{principal['id']}")


def absence_choices():
    """The family's wallet documents that may justify an absence (accepted, valid), for the absence forms; an
    identity that does not answer leaves the choice out rather than the page."""
    from espace_common.rpc_client import ServiceUnavailable
    try:
        wallet = services().call("identity", "family_documents", current_principal()["family_id"])
    except ServiceUnavailable:
        return []
    return [d for d in wallet["documents"] if d.get("reusable_for_absences")]
