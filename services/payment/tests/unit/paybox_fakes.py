"""What the payment tests share: a test key pair that plays Paybox, signed notifications, fake billing and identity."""
import base64
from urllib.parse import quote

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from espace_common.errors import NotFound

PAYBOX_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(private_key):
    return private_key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)


def signed_query(variables, key=PAYBOX_KEY):
    """A notification as Paybox sends it: the variables, then Sign= the URL-encoded base64 RSA-SHA1 signature."""
    query = "&".join(f"{name}={quote(str(value), safe='')}" for name, value in variables)
    signature = key.sign(query.encode("ascii"), padding.PKCS1v15(), hashes.SHA1())
    return f"{query}&Sign={quote(base64.b64encode(signature).decode('ascii'), safe='')}"


def notification(reference, amount_cents, error="00000", key=PAYBOX_KEY, auto="XXXXXX", trans="600001"):
    return signed_query([("Mt", amount_cents), ("Ref", reference), ("Auto", auto), ("Erreur", error),
                         ("Trans", trans), ("Appel", "700001")], key)


class FakeBilling:
    """billing.invoice(invoice_id, family_id) and card_payments_recorded(ids), from a dict of invoices."""

    def __init__(self):
        self.invoices = {}
        self.recorded = {}

    def add(self, invoice_id, family_id, balance_cents, status="issued", direct_debit=False):
        self.invoices[invoice_id] = {
            "id": invoice_id, "number": f"AS-2026-{len(self.invoices) + 1:06d}", "family_id": family_id,
            "status": status, "balance_cents": balance_cents, "direct_debit": direct_debit,
            "payable_by_card": status in ("issued", "partially_paid") and not direct_debit}
        return invoice_id

    def invoice(self, invoice_id, family_id):
        invoice = self.invoices.get(invoice_id)
        if invoice is None or invoice["family_id"] != family_id:
            raise NotFound("invoice_not_found", "Cette facture n'existe pas.")
        return invoice

    def card_payments_recorded(self, transaction_ids):
        return {i: self.recorded[i] for i in transaction_ids if i in self.recorded}


class FakePayers:
    def payer(self, family_id, email):
        from payment import domain
        return domain.payer_of({"representatives": [{
            "first_name": "Élodie", "last_name": "Le Gall", "email": email,
            "address": {"line1": "3 rue de la Gare", "line2": "", "postal_code": "44480", "city": "Donges"}}]},
            email)
