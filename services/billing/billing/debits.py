"""Direct debit's rules, as plain code: the payer's IBAN, the SEPA mandate and its reference (RUM), which debit is
a mandate's first, the card payment a `payment.succeeded` event carries, and the SEPA pain.008.001.02 file.

schwifty (a maintained IBAN/BIC library) checks the IBAN; sepaxml writes the pain.008.001.02 file and validates it
against the XSD it ships. Neither is a framework: this module stays free of nameko and SQLAlchemy.

Decisions where the issue is silent:
- one active mandate per family, for both régies (the payer gives one account for the family); the debit file is
  per régie, the creditor being the town (one ICS);
- a debit counts as a payment (method `direct_debit`) when its file is generated (sent to the bank); a rejection
  recorded by an agent takes the amount back off the invoice, without deleting any row;
- the collection date is the invoice's due date, or tomorrow when the due date is already past.
"""
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

from espace_common.errors import InvalidInput

MANDATE_ACTIVE, MANDATE_REVOKED = "active", "revoked"
MANDATE_STATUSES = {MANDATE_ACTIVE: "Actif", MANDATE_REVOKED: "Révoqué"}
DEBIT_PLANNED, DEBIT_SENT, DEBIT_REJECTED, DEBIT_CANCELLED = "planned", "sent", "rejected", "cancelled"
DEBIT_STATUSES = {DEBIT_PLANNED: "À prélever", DEBIT_SENT: "Transmis à la banque", DEBIT_REJECTED: "Rejeté",
                  DEBIT_CANCELLED: "Annulé (mandat révoqué)"}
FIRST, RECURRING = "FRST", "RCUR"
SEQUENCE_TYPES = {FIRST: "Premier prélèvement du mandat", RECURRING: "Prélèvement récurrent"}
ANOMALY_CODES = {"overpayment": "Paiement supérieur au reste à payer", "invoice_settled": "Facture déjà soldée ou annulée",
                 "invoice_not_found": "Facture inconnue", "invoice_not_final": "Facture en brouillon",
                 "external_id_reused": "Transaction déjà affectée à une autre facture"}
MAX_HOLDER = 70  # the debtor's name in pain.008 (Max70Text)
MAX_IBAN_TEXT = 64  # what a person may type, spaces included, before we even read it
MAX_REJECTION_REASON = 500
# Characters the SEPA rulebook lets through the interbank space (the «Latin character set»).
SEPA_TEXT = re.compile(r"[A-Za-z0-9/?:().,'+ -]*")
ICS = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{3}[A-Z0-9]{1,28}")
MANDATE_PREFIX = re.compile(r"[A-Z0-9]{1,12}")
MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")


def mandate_text(creditor_name, creditor_id):
    """The SEPA mandate's wording (the rulebook's), which the parent accepts."""
    return (f"En signant ce formulaire de mandat, vous autorisez {creditor_name} à envoyer des instructions à votre "
            "banque pour débiter votre compte, et votre banque à débiter votre compte conformément aux instructions "
            f"de {creditor_name} (identifiant créancier SEPA {creditor_id}). Vous bénéficiez du droit d'être "
            "remboursé par votre banque selon les conditions décrites dans la convention que vous avez passée avec "
            "elle. Une demande de remboursement doit être présentée dans les 8 semaines suivant la date de débit de "
            "votre compte pour un prélèvement autorisé. Vos droits concernant ce mandat sont expliqués dans un "
            "document que vous pouvez obtenir auprès de votre banque.")


# --- IBAN, holder, mandate reference --------------------------------------------------------------------------

@dataclass(frozen=True)
class Account:
    iban: str  # compact, upper case
    bic: str | None  # derived from the bank code when schwifty knows the bank


def parse_iban(value):
    """An IBAN as a person types it (spaces, lower case) -> Account, or InvalidInput with a French reason."""
    from schwifty import IBAN
    from schwifty import exceptions as iban_errors

    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("invalid_iban", "Saisissez l'IBAN du compte à débiter (il commence par FR76 pour un "
                                           "compte français).")
    if len(value) > MAX_IBAN_TEXT:
        raise InvalidInput("invalid_iban", "Un IBAN compte au plus 34 lettres et chiffres.")
    compact = re.sub(r"[\s\u00a0\u202f-]", "", value).upper()
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}", compact):
        raise InvalidInput("invalid_iban", "Un IBAN commence par deux lettres (le pays) et deux chiffres, suivis "
                                           "de lettres et de chiffres seulement.")
    try:
        iban = IBAN(compact)
    except iban_errors.InvalidCountryCode:
        raise InvalidInput("invalid_iban", f"« {compact[:2]} » n'est pas un code de pays d'IBAN.") from None
    except iban_errors.InvalidLength:
        raise InvalidInput("invalid_iban", "Cet IBAN n'a pas la bonne longueur pour son pays (27 caractères pour "
                                           "un IBAN français) : vérifiez qu'il ne manque aucun caractère.") from None
    except iban_errors.InvalidChecksumDigits:
        raise InvalidInput("invalid_iban", "La clé de contrôle de cet IBAN est fausse : vérifiez chaque caractère "
                                           "sur votre RIB.") from None
    except iban_errors.SchwiftyException:
        raise InvalidInput("invalid_iban", "Cet IBAN n'est pas valide : vérifiez-le sur votre RIB.") from None
    if not iban.in_sepa_zone:
        raise InvalidInput("iban_outside_sepa", "Ce compte n'est pas dans la zone SEPA : il ne peut pas être "
                                                "prélevé.")
    try:
        bic = iban.bic
    except Exception:  # an unknown bank code: the BIC is optional in pain.008 («NOTPROVIDED»)
        bic = None
    return Account(iban=str(iban.compact), bic=str(bic) if bic else None)


def mask_iban(iban):
    """FR76 •••• •••• 0189: what every page and answer shows of an IBAN (the debit file alone carries it whole)."""
    return f"{iban[:4]} •••• •••• {iban[-4:]}"


def parse_holder(value):
    """The account holder's name: 1 to 70 characters, no control characters; accents are allowed (the file spells
    them in the SEPA charset)."""
    text = " ".join(value.split()) if isinstance(value, str) else ""
    if not text or len(text) > MAX_HOLDER:
        raise InvalidInput("invalid_holder", f"Le nom du titulaire du compte compte de 1 à {MAX_HOLDER} caractères.")
    if any(unicodedata.category(c)[0] == "C" for c in text) or not sepa_text(text).strip():
        raise InvalidInput("invalid_holder", "Le nom du titulaire contient des caractères qu'une banque ne peut "
                                             "pas transmettre.")
    return text


def check_accepted(accepted):
    if accepted is not True:
        raise InvalidInput("mandate_not_accepted", "Cochez la case qui accepte le mandat de prélèvement SEPA.")


def mandate_reference(prefix, family_id, rank):
    """The mandate's unique reference (RUM): DONGES-<the family's short id>-<rank>, at most 35 SEPA characters."""
    short = re.sub(r"[^A-Za-z0-9]", "", family_id).upper()[:12]
    reference = f"{prefix}-{short}-{rank}"
    assert len(reference) <= 35 and SEPA_TEXT.fullmatch(reference)
    return reference


def sepa_text(text):
    """Any text in the SEPA charset: accents dropped (é -> e), other characters turned into spaces."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "".join(c if SEPA_TEXT.fullmatch(c) else " " for c in plain)


# --- Debits ----------------------------------------------------------------------------------------------------

def parse_month(month):
    if not isinstance(month, str) or not MONTH.fullmatch(month):
        raise InvalidInput("invalid_month", "Le mois s'écrit AAAA-MM, par exemple 2026-11.")
    return month


def sequence_type(mandate_debited_before):
    """FRST for a mandate's first debit (or the first after its only ones were rejected), RCUR after."""
    return RECURRING if mandate_debited_before else FIRST


def collection_date(due_date, today):
    """The due date, or tomorrow when it is already past: a bank refuses a collection date in the past."""
    return max(due_date, today + timedelta(days=1))


def parse_rejection_reason(reason):
    text = " ".join(reason.split()) if isinstance(reason, str) else ""
    if not text or len(text) > MAX_REJECTION_REASON:
        raise InvalidInput("invalid_reason", f"Le motif du rejet compte de 1 à {MAX_REJECTION_REASON} caractères "
                                             "(par exemple « AM04 provision insuffisante »).")
    return text


@dataclass(frozen=True)
class Creditor:
    """The town, as the creditor of the debits (settings of config.yml)."""

    name: str
    iban: str
    bic: str
    creditor_id: str  # the ICS, «identifiant créancier SEPA»


@dataclass(frozen=True)
class Debit:
    """One line of the debit file."""

    end_to_end_id: str  # the invoice number
    holder: str
    iban: str
    bic: str | None
    amount_cents: int
    sequence_type: str
    collection_date: date
    mandate_reference: str
    signed_on: date
    description: str


def pain008(creditor, debits):
    """The SEPA pain.008.001.02 file of `debits`, validated by sepaxml against the schema's XSD (bytes)."""
    from sepaxml import SepaDD

    sepa = SepaDD({"name": sepa_text(creditor.name)[:70], "IBAN": creditor.iban, "BIC": creditor.bic,
                   "batch": True, "creditor_id": creditor.creditor_id, "currency": "EUR"},
                  schema="pain.008.001.02")
    for debit in debits:
        payment = {"name": sepa_text(debit.holder)[:70], "IBAN": debit.iban, "amount": debit.amount_cents,
                   "type": debit.sequence_type, "collection_date": debit.collection_date,
                   "mandate_id": debit.mandate_reference, "mandate_date": debit.signed_on,
                   "description": sepa_text(debit.description)[:140], "endtoend_id": debit.end_to_end_id}
        if debit.bic:
            payment["BIC"] = debit.bic
        sepa.add_payment(payment)
    return sepa.export(validate=True)


# --- Card payments arriving as events -------------------------------------------------------------------------

@dataclass(frozen=True)
class CardPayment:
    """What billing reads of a payment.succeeded event (the contract with the payment service, issue #10)."""

    transaction_id: str
    invoice_id: str
    amount_cents: int
    paid_at: str | None


def parse_card_payment(data):
    """payment.succeeded's data -> CardPayment; None when the message cannot name a transaction at all."""
    if not isinstance(data, dict):
        return None
    transaction_id, invoice_id, amount = data.get("transaction_id"), data.get("invoice_id"), data.get("amount_cents")
    if not isinstance(transaction_id, str) or not 0 < len(transaction_id.strip()) <= 100:
        return None
    if not isinstance(invoice_id, str) or len(invoice_id) > 36:
        invoice_id = ""
    if isinstance(amount, bool) or not isinstance(amount, int):
        amount = 0
    paid_at = data.get("paid_at") if isinstance(data.get("paid_at"), str) else None
    return CardPayment(transaction_id.strip(), invoice_id, amount, paid_at)


def vocabulary(creditor):
    return {"mandate_statuses": MANDATE_STATUSES, "debit_statuses": DEBIT_STATUSES, "sequence_types": SEQUENCE_TYPES,
            "anomaly_codes": ANOMALY_CODES, "creditor_name": creditor.name, "creditor_id": creditor.creditor_id,
            "mandate_text": mandate_text(creditor.name, creditor.creditor_id),
            "limits": {"holder": MAX_HOLDER, "iban_text": MAX_IBAN_TEXT, "rejection_reason": MAX_REJECTION_REASON}}
