"""Billing's documents: each final invoice's PDF, the online invoice and its mail, the paper batch of a run, payment
receipts and tax certificates.

Finalising a run stays one short transaction: `invoices_issued` (called by `use_cases.Billing.finalize_run` inside
it) only stamps each invoice with its family's delivery choice and records the event `billing.invoices_issued`.
Billing's own handler of that event (`Documents.issue_documents`) then draws the PDFs a hundred at a time, stores
each one once (a conditional UPDATE of `invoices.pdf_path`: a second worker's copy is thrown away), queues the mails
of the online invoices once (`invoices.notified_at`) and makes the run's paper batch. Every step is idempotent, so
a redelivered event or the periodic sweep (`sweep`) finishes whatever was left; a PDF asked for before its turn is
drawn on demand. A stored PDF never changes: it shows the invoice as it stood when it was drawn, right after issue.

The payer's name, address and e-mails are identity's: `contacts_source(family_ids)` asks it (identity's
`billing_contacts` RPC) when documents are drawn or mailed, never on a plain read.
"""
import base64
import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from espace_common.config import ConfigError
from espace_common.documents import DocumentStore
from espace_common.errors import Conflict, NotFound
from espace_common.events import Event

from . import domain, pdf, store

log = logging.getLogger(__name__)

DEFAULT_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
DEFAULT_FONT_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
CHUNK = 100  # invoices drawn into one document, then cut: loading the font once per hundred
ON_DEMAND_LIMIT = 200  # a paper batch asked while more invoices than this wait for their PDF: "come back later"
SWEEP_AFTER = timedelta(minutes=10)  # a run finalised more recently is left to its event's handler
INVOICE_NOT_FOUND = ("invoice_not_found", "Cette facture n'existe pas.")
PAYMENT_NOT_FOUND = ("payment_not_found", "Ce paiement n'existe pas.")


@dataclass(frozen=True)
class DocumentSettings:
    """The settings of config.yml the documents read."""

    files_dir: str = "var/billing-files"
    font: str = DEFAULT_FONT
    font_bold: str = DEFAULT_FONT_BOLD
    public_url: str = "http://localhost:8000"
    timezone: str = "Europe/Paris"

    @property
    def zone(self):
        return ZoneInfo(self.timezone)

    @classmethod
    def from_config(cls, config):
        """The settings, or ConfigError in one sentence (the launcher checks them before the service starts)."""
        settings = cls(files_dir=str(config.get("BILLING_FILES_DIR") or cls.files_dir),
                       font=str(config.get("BILLING_FONT") or cls.font),
                       font_bold=str(config.get("BILLING_FONT_BOLD") or cls.font_bold),
                       public_url=str(config.get("PUBLIC_URL") or cls.public_url).rstrip("/"),
                       timezone=str(config.get("TOWN_TIMEZONE") or cls.timezone))
        for name, path in (("BILLING_FONT", settings.font), ("BILLING_FONT_BOLD", settings.font_bold)):
            if not Path(path).is_file():
                raise ConfigError(name, f"the TrueType font {path} is missing: install Debian's fonts-dejavu-core "
                                        "or point it at another .ttf file.")
        return settings

    def renderer(self, run=None):
        return pdf.Renderer(self.font, self.font_bold, self.public_url, run)


def invoices_issued(uow, run_id, now):
    """Inside finalize_run's transaction, once its drafts are issued: each invoice takes its family's delivery choice
    as it stands, and the event whose handler makes the documents after commit is recorded."""
    store.snapshot_deliveries(uow, run_id)
    uow.record(Event("billing", "invoices_issued", {"run_id": run_id}, occurred_at=now))


def pdf_answer(filename, content, **more):
    return {**more, "filename": filename, "media_type": "application/pdf",
            "pdf_base64": base64.b64encode(content).decode("ascii")}


class Documents:
    """The documents' use cases, with the same inputs as use_cases.Billing plus the files, a renderer and a source
    of contacts (`contacts_source(family_ids) -> {family_id: {dossier, payer, emails}}`)."""

    def __init__(self, unit_of_work, clock, settings, contacts_source, renderer=None, files=None):
        self.unit_of_work = unit_of_work
        self.clock = clock
        self.settings = settings
        self.contacts_source = contacts_source
        self.renderer = renderer or settings.renderer()
        self.files = files or DocumentStore(settings.files_dir)

    def today(self):
        return self.clock.now().astimezone(self.settings.zone).date()

    def contacts(self, family_ids):
        return self.contacts_source(sorted(set(family_ids))) if family_ids else {}

    # --- After a run is finalised --------------------------------------------------------------------------

    def issue_documents(self, run_id):
        """Draw and store the PDFs of a final run, mail the online invoices, make the paper batch. Idempotent."""
        with self.unit_of_work(read_only=True) as uow:
            run = store.run(uow, run_id)
        if run is None or run.status != domain.RUN_FINAL:
            return {"run_id": run_id, "made": 0, "mailed": 0}
        made = mailed = 0
        while True:
            with self.unit_of_work(read_only=True) as uow:
                rows = store.invoices_without_pdf(uow, run_id, CHUNK)
            if not rows:
                break
            made += len(self._make_pdfs(rows))
        while True:
            with self.unit_of_work(read_only=True) as uow:
                rows = store.online_to_notify(uow, run_id, CHUNK)
            if not rows:
                break
            mailed += self._notify(rows)
        with self.unit_of_work(read_only=True) as uow:
            batch = store.paper_batch(uow, run_id)
        if batch is None:
            self._make_paper_batch(run)
        return {"run_id": run_id, "made": made, "mailed": mailed}

    def sweep(self):
        """Finish the documents of the runs whose event went missing (identity was down, a process died)."""
        with self.unit_of_work(read_only=True) as uow:
            run_ids = store.runs_with_pending_documents(uow, self.clock.now() - SWEEP_AFTER)
        for run_id in run_ids:
            try:
                self.issue_documents(run_id)
            except Exception:  # the next sweep tries again; one run must not stop the others
                log.exception("the documents of run %s are not finished; the next sweep tries again", run_id)
        return run_ids

    def _make_pdfs(self, rows):
        """Draw and store the PDFs of these invoices; {invoice_id: path} of those this call stored."""
        contacts = self.contacts([row.family_id for row in rows])
        docs = self._invoice_docs(rows, contacts)
        stored = {}
        paths = [self.files.save(content, ".pdf") for content in self.renderer.invoices(docs)]
        with self.unit_of_work() as uow:
            for row, path in zip(rows, paths):
                if store.set_pdf_path(uow, row.id, path):
                    stored[row.id] = path
            uow.commit()
        for path in set(paths) - set(stored.values()):
            self.files.delete(path)  # another worker stored this invoice's PDF first: its copy is the one
        return stored

    def _invoice_docs(self, rows, contacts):
        ids = [row.id for row in rows]
        with self.unit_of_work(read_only=True) as uow:
            lines = store.lines_by_invoice(uow, ids)
            payments = store.payments_of_invoices(uow, ids)
            credits = store.credit_notes_of_invoices(uow, ids)
        return [{"id": row.id, "number": row.number, "regie": row.regie, "period": row.period,
                 "issued_on": row.issued_on, "due_date": row.due_date, "total_cents": row.total_cents,
                 "balance_cents": row.balance_cents, "delivery": row.delivery, "contact": contacts.get(row.family_id),
                 "direct_debit": bool(row.direct_debit),
                 "lines": [{"kind": line.kind, "label": line.label, "quantity": line.quantity,
                            "unit_price_cents": line.unit_price_cents, "amount_cents": line.amount_cents}
                           for line in lines[row.id]],
                 "payments": [{"method": p.method, "amount_cents": p.amount_cents,
                               "received_at": p.received_at.astimezone(self.settings.zone)} for p in payments[row.id]],
                 "credit_notes": [{"number": c.number, "amount_cents": c.amount_cents,
                                   "created_at": c.created_at.astimezone(self.settings.zone)} for c in credits[row.id]]}
                for row in rows]

    def _notify(self, rows):
        """Queue the mail of each online invoice once; a family without a confirmed e-mail gets it on paper."""
        contacts = self.contacts([row.family_id for row in rows])
        now, sent = self.clock.now(), 0
        with self.unit_of_work() as uow:
            for row in rows:
                emails = (contacts.get(row.family_id) or {}).get("emails") or []
                if not emails:
                    store.deliver_on_paper(uow, row.id)
                    continue
                if not store.mark_notified(uow, row.id, now):
                    continue
                subject, body = domain.invoice_notice(
                    row.number, row.regie, pdf.month_text(row.period), pdf.euros(row.total_cents),
                    pdf.day_text(row.due_date), f"{self.settings.public_url}/mon-compte/factures/{row.id}",
                    f"{self.settings.public_url}/mon-compte/facturation", direct_debit=bool(row.direct_debit))
                for email in emails:
                    uow.send_mail(email, subject, body)
                sent += 1
            uow.commit()
        return sent

    def _make_paper_batch(self, run):
        """The one PDF of the run's paper invoices, in number order, stored; None when there is none on paper."""
        with self.unit_of_work(read_only=True) as uow:
            rows = store.paper_invoices(uow, run.id)
        if not rows:
            return None
        missing = [row for row in rows if row.pdf_path is None]
        if missing:
            self._make_pdfs(missing)
            with self.unit_of_work(read_only=True) as uow:
                rows = store.paper_invoices(uow, run.id)
        content = self.renderer.merge([self._read_invoice_file(row) for row in rows])
        path = self.files.save(content, ".pdf")
        with self.unit_of_work() as uow:
            replaced = store.save_paper_batch(uow, run.id, path, len(rows), self.clock.now())
            uow.commit()
        if replaced:
            self.files.delete(replaced)
        return content, len(rows)

    def _read_invoice_file(self, row):
        """An invoice's stored PDF; one whose file was lost is drawn again (and said so in the log)."""
        try:
            return self.files.read(row.pdf_path)
        except FileNotFoundError:
            log.warning("the PDF of invoice %s was lost from %s: drawn again", row.number, self.settings.files_dir)
        content, = self.renderer.invoices(self._invoice_docs([row], self.contacts([row.family_id])))
        path = self.files.save(content, ".pdf")
        with self.unit_of_work() as uow:
            store.replace_pdf_path(uow, row.id, row.pdf_path, path)
            uow.commit()
        return content

    # --- Files asked for -----------------------------------------------------------------------------------

    def invoice_pdf(self, invoice_id, family_id=None):
        """An issued invoice's PDF, drawn now if its turn has not come yet. Given a family, another family's
        invoice is not found; a draft has no PDF."""
        with self.unit_of_work(read_only=True) as uow:
            row = store.invoice(uow, invoice_id)
        if row is None or (family_id is not None and row.family_id != family_id) \
                or (family_id is not None and row.status == domain.DRAFT):
            raise NotFound(*INVOICE_NOT_FOUND)
        if row.status == domain.DRAFT:
            raise Conflict("invoice_not_final", "Une facture en brouillon n'a pas encore de PDF : finalisez la tournée.")
        if row.pdf_path is None:
            self._make_pdfs([row])
            with self.unit_of_work(read_only=True) as uow:
                row = store.invoice(uow, invoice_id)
        return pdf_answer(f"facture-{row.number}.pdf", self._read_invoice_file(row), invoice_id=row.id,
                          number=row.number, regie=row.regie, family_id=row.family_id)

    def run_paper_pdf(self, run_id):
        """The printable PDF of a final run's paper invoices; made again if its file was lost."""
        with self.unit_of_work(read_only=True) as uow:
            run = store.run(uow, run_id)
            if run is None:
                raise NotFound("run_not_found", "Cette tournée de facturation n'existe pas.")
            batch = store.paper_batch(uow, run_id)
            waiting = store.count_without_pdf(uow, run_id)
        if run.status != domain.RUN_FINAL:
            raise Conflict("run_not_final", "Les factures papier se préparent quand la tournée est finalisée.")
        answer = {"run_id": run.id, "regie": run.regie, "month": run.month}
        filename = f"factures-papier-{domain.NUMBER_PREFIXES[run.regie]}-{run.month}.pdf"
        if batch is not None:
            try:
                return pdf_answer(filename, self.files.read(batch.pdf_path), invoices=batch.invoices, **answer)
            except FileNotFoundError:
                log.warning("the paper batch of run %s was lost: made again", run_id)
        if waiting > ON_DEMAND_LIMIT:
            raise Conflict("documents_pending", f"{waiting} factures de cette tournée sont encore en préparation : "
                                                "réessayez dans quelques minutes.")
        made = self._make_paper_batch(run)
        if made is None:
            raise NotFound("no_paper_invoice", "Aucune facture de cette tournée n'est envoyée sur papier.")
        content, count = made
        return pdf_answer(filename, content, invoices=count, **answer)

    def receipt_pdf(self, payment_id, family_id=None):
        """A payment's receipt (drawn each time from what never changes: the payment and its invoice)."""
        with self.unit_of_work(read_only=True) as uow:
            payment = store.payment_by_id(uow, payment_id)
            invoice = store.invoice(uow, payment.invoice_id) if payment is not None else None
            if invoice is None or (family_id is not None and invoice.family_id != family_id):
                raise NotFound(*PAYMENT_NOT_FOUND)
            before = [p for p in store.payments_of(uow, invoice.id) if p.received_at <= payment.received_at]
            credited = [c for c in store.credit_notes_of(uow, invoice.id) if c.created_at <= payment.received_at]
        balance = invoice.total_cents - sum(p.amount_cents for p in before) - sum(c.amount_cents for c in credited)
        doc = {"id": payment.id, "method": payment.method, "amount_cents": payment.amount_cents,
               "received_at": payment.received_at.astimezone(self.settings.zone), "balance_after_cents": balance,
               "invoice": {"number": invoice.number, "regie": invoice.regie, "period": invoice.period,
                           "total_cents": invoice.total_cents},
               "contact": self.contacts([invoice.family_id]).get(invoice.family_id)}
        day = doc["received_at"].date().isoformat()
        return pdf_answer(f"recu-{invoice.number}-{day}.pdf", self.renderer.receipt(doc), payment_id=payment.id,
                          regie=invoice.regie, family_id=invoice.family_id)

    # --- The tax certificate -------------------------------------------------------------------------------

    def tax_certificate(self, family_id, year):
        """What the family paid the multi-accueil in `year` per child under six on 1 January (domain's rule)."""
        year = domain.parse_year(year, self.today())
        start = datetime.combine(datetime(year, 1, 1).date(), time(0), self.settings.zone).astimezone(timezone.utc)
        end = datetime.combine(datetime(year + 1, 1, 1).date(), time(0), self.settings.zone).astimezone(timezone.utc)
        with self.unit_of_work(read_only=True) as uow:
            rows = [r for r in store.family_payments(uow, family_id, domain.PETITE_ENFANCE)
                    if start <= r.received_at < end]
            lines = store.lines_by_invoice(uow, {r.invoice_id for r in rows})
            children = [{"child_id": c.child_id, "first_name": c.first_name, "last_name": c.last_name,
                         "birth_date": c.birth_date} for c in store.children_of_family(uow, family_id)]
        return domain.tax_certificate(
            year, children, {invoice_id: [(line.child_id, line.kind, line.amount_cents) for line in found]
                             for invoice_id, found in lines.items()},
            [(r.invoice_id, r.method, r.amount_cents) for r in rows])

    def tax_certificate_years(self, family_id):
        """The years, newest first, for which the family has a certificate to download."""
        with self.unit_of_work(read_only=True) as uow:
            years = {r.received_at.astimezone(self.settings.zone).year
                     for r in store.family_payments(uow, family_id, domain.PETITE_ENFANCE)}
        return [year for year in sorted(years, reverse=True)
                if year <= self.today().year and self.tax_certificate(family_id, year)["total_cents"] > 0]

    def tax_certificate_pdf(self, family_id, year):
        certificate = self.tax_certificate(family_id, year)
        if not certificate["total_cents"]:
            raise NotFound("no_tax_certificate", f"Aucune somme versée au multi-accueil en {certificate['year']} "
                                                 "pour un enfant de moins de six ans.")
        doc = {**certificate, "made_on": self.today(), "contact": self.contacts([family_id]).get(family_id)}
        return pdf_answer(f"attestation-fiscale-{certificate['year']}.pdf", self.renderer.tax_certificate(doc),
                          year=certificate["year"], total_cents=certificate["total_cents"],
                          children=[{"child_id": c["child_id"], "first_name": c["first_name"],
                                     "amount_cents": c["amount_cents"]} for c in certificate["children"]])

    # --- The online invoice --------------------------------------------------------------------------------

    def billing_preference(self, family_id):
        """The family's choice: online (paperless) or paper (no choice made yet), and who made it, when."""
        with self.unit_of_work(read_only=True) as uow:
            row = store.preference(uow, family_id)
        paperless = bool(row and row.paperless)
        return {"family_id": family_id, "paperless": paperless,
                "delivery": domain.ONLINE if paperless else domain.PAPER,
                "changed_by": row.changed_by if row else None,
                "changed_at": row.changed_at.isoformat() if row else None,
                "applies_from": "next_run"}

    def set_billing_preference(self, family_id, paperless, actor_id):
        """Choose the online invoice or paper; it applies from the next finalised run, never to issued invoices."""
        paperless = domain.parse_paperless(paperless)
        with self.unit_of_work() as uow:
            store.save_preference(uow, family_id, paperless, str(actor_id)[:80] if actor_id else None,
                                  self.clock.now())
            uow.commit()
        return self.billing_preference(family_id)

    def family_documents(self, family_id):
        """The parent's «facturation» page in one call: the choice, the certificates' years, the receipts."""
        with self.unit_of_work(read_only=True) as uow:
            payments = store.family_payments(uow, family_id)
        return {"preference": self.billing_preference(family_id),
                "tax_certificate_years": self.tax_certificate_years(family_id),
                "payments": [{"id": p.id, "invoice_id": p.invoice_id, "invoice_number": p.number, "regie": p.regie,
                              "period": p.period, "method": p.method, "amount_cents": p.amount_cents,
                              "received_at": p.received_at.isoformat()} for p in payments]}
