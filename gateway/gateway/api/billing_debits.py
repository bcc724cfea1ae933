"""Direct debit's JSON API: a parent's SEPA mandate, the agents' monthly pain.008 file and debit rejections, and
the card payments billing could not apply.

The family comes from the parent's token, never from the request. Agents act on their régie's debits
(`affaires_scolaires` or `petite_enfance`; `admin` holds both). IBANs are shown masked everywhere except in the
debit file, which goes to the bank.
"""
from flask import Response, request

from espace_common.errors import Forbidden, InvalidInput

from ..auth import api_auth, current_principal, has_role
from ..responses import created, no_content
from ..services import services
from . import bp
from .validation import body

REGIES = ("affaires_scolaires", "petite_enfance")


def billing(method, *args):
    return services().call("billing", method, *args)


def agent_regie(principal, asked):
    """The régie of the file: the one asked, else the agent's own when they hold exactly one; theirs to see."""
    if asked is None:
        held = [r for r in REGIES if r in (principal.get("roles") or [])]
        if len(held) != 1:
            raise InvalidInput("regie_required", "Précisez la régie : ?regie=affaires_scolaires ou "
                                                 "?regie=petite_enfance.")
        asked = held[0]
    if asked not in REGIES:
        raise InvalidInput("invalid_regie", "La régie est « affaires_scolaires » ou « petite_enfance ».")
    if not has_role(principal, (asked,)):
        raise Forbidden("forbidden_regie", "Les prélèvements de cette régie ne vous sont pas accessibles.")
    return asked


# --- A parent's mandate -------------------------------------------------------------------------------------

@bp.post("/me/direct-debit-mandates")
@api_auth(kinds=("parent",))
def sign_direct_debit_mandate():
    """Sign the family's SEPA mandate: posting it accepts the mandate's terms (vocabulary's mandate_text)."""
    payload = body()
    principal = current_principal()
    mandate = billing("sign_mandate", principal["family_id"], payload["iban"], payload["holder"],
                      payload.get("accepted", True), principal["id"])
    response = created(mandate)
    if not mandate["created"]:
        response.status_code = 200  # the same mandate again: nothing new
    return response


@bp.get("/me/direct-debit-mandates")
@api_auth(kinds=("parent",))
def direct_debit_mandates():
    """The family's mandates (the active one first), IBANs masked."""
    return billing("family_mandates", current_principal()["family_id"])


@bp.delete("/me/direct-debit-mandates")
@api_auth(kinds=("parent",))
def revoke_direct_debit_mandate():
    """Revoke the active mandate: the invoices not yet debited are payable again, by card too."""
    principal = current_principal()
    billing("revoke_mandate", principal["family_id"], principal["id"])
    return no_content()


@bp.get("/families/<family_id>/direct-debit-mandates")
@api_auth(kinds=("agent",), roles=REGIES)
def family_direct_debit_mandates(family_id):
    """A family's mandates, for the agents (IBANs masked)."""
    return billing("family_mandates", family_id)


# --- The agents' debit file and rejections ----------------------------------------------------------------------

@bp.get("/direct-debits/<month>.xml")
@api_auth(kinds=("agent",), roles=REGIES)
def direct_debit_file(month):
    """The month's SEPA pain.008.001.02 file of a régie; the first download sends the debits, the next ones give the
    same file."""
    regie = agent_regie(current_principal(), request.args.get("regie"))
    answer = billing("debit_file", regie, month, current_principal()["id"])
    return debit_file_response(answer)


def debit_file_response(answer):
    response = Response(answer["xml"], mimetype="application/xml")
    response.headers["Content-Disposition"] = f'attachment; filename="{answer["filename"]}"'
    response.headers["Cache-Control"] = "no-store"  # whole IBANs
    return response


@bp.get("/direct-debits/<month>")
@api_auth(kinds=("agent",), roles=REGIES)
def direct_debits_of_month(month):
    """The month's debits of a régie with their state, and the files given so far (IBANs masked)."""
    regie = agent_regie(current_principal(), request.args.get("regie"))
    return billing("month_debits", regie, month)


@bp.post("/invoices/<invoice_id>/debit-rejections")
@api_auth(kinds=("agent",), roles=REGIES)
def reject_direct_debit(invoice_id):
    """The bank rejected the invoice's debit: the invoice is to pay again (by card too)."""
    answer = billing("reject_debit", invoice_id, body()["reason"], current_principal()["id"])
    response = created(answer)
    if not answer["created"]:
        response.status_code = 200
    return response


@bp.get("/payment-anomalies")
@api_auth(kinds=("agent",), roles=REGIES)
def payment_anomalies():
    """Card payments billing could not apply (more than the balance, a settled or unknown invoice), newest first."""
    return billing("payment_anomalies")
