"""Billing's printed documents: invoices, the paper batch, payment receipts and tax certificates, as French PDFs.

fpdf2 writes them (as identity's key letters) with an embedded Unicode TrueType font, for «€», «’» and every
French letter; Babel writes amounts and dates the French way. Loading a TrueType font costs about 50 ms, drawing a
page about 3 ms: invoices are drawn a hundred at a time into one document, then cut into one file each (pypdf),
so that 10,000 invoices take a minute and not half an hour.
"""
import io
import logging
from datetime import date, datetime
from decimal import Decimal

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from fpdf import FPDF
from fpdf.fonts import FontFace
from pypdf import PdfReader, PdfWriter

from espace_common.town import MULTI_ACCUEIL, SERVICES_LINE, TOWN, TOWN_HALL, TOWN_HALL_ADDRESS

from . import domain

# fpdf2's font subsetting (fontTools) logs every glyph at INFO, and the service draws in a real thread (tpool): a
# record logged there while the service's green thread holds the logging handler's (green) lock crashes eventlet's
# hub ("Cannot switch to a different thread") and the PDF is never stored (seen with two billing replicas drawing).
logging.getLogger("fontTools").setLevel(logging.WARNING)

LOCALE = "fr_FR"
FONT = "dejavu"
GREY = (90, 90, 90)
LIGHT = (238, 242, 247)


def euros(cents):
    """1250 -> '12,50 €' (Babel's French: a no-break space before the sign, a narrow one between thousands)."""
    return format_currency(Decimal(cents) / 100, "EUR", locale=LOCALE)


def day_text(day):
    """date(2026, 12, 1) -> '1er décembre 2026'."""
    text = format_date(day, "d MMMM y", locale=LOCALE)
    return "1er" + text[1:] if day.day == 1 else text


def month_text(period):
    """'2026-11' -> 'novembre 2026'."""
    first, _ = domain.month_bounds(period)
    return format_date(first, "MMMM y", locale=LOCALE)


def quantity_text(quantity):
    return "" if quantity in (None, "") else format_decimal(Decimal(quantity), locale=LOCALE)


def _page_date(value):
    return value if isinstance(value, date) and not isinstance(value, datetime) else value.date()


class Renderer:
    """Draws the documents. `run(function, *args)` runs the CPU-bound part: eventlet's tpool in the service."""

    def __init__(self, font, font_bold, public_url, run=None):
        self.font, self.font_bold = font, font_bold
        self.public_url = public_url.rstrip("/")
        self.run = run or (lambda function, *args: function(*args))
        self._wrapped = {}

    # --- The public methods: each one runs through `run` ---------------------------------------------------

    def invoices(self, docs):
        """One PDF (bytes) per invoice document, in order."""
        return self.run(self._invoices, docs)

    def receipt(self, doc):
        return self.run(self._single, self._draw_receipt, doc, f"Reçu de paiement {doc['invoice']['number']}")

    def tax_certificate(self, doc):
        return self.run(self._single, self._draw_certificate, doc, f"Attestation fiscale {doc['year']}")

    def merge(self, files):
        """One PDF of several, in order (the paper batch); the fonts they share are kept once."""
        return self.run(self._merge, files)

    # --- Documents ------------------------------------------------------------------------------------------

    def _new(self, title):
        pdf = FPDF(format="A4")
        pdf.set_title(title)
        pdf.set_author(TOWN)
        pdf.set_creator("Espace Famille")
        pdf.set_creation_date(datetime(2000, 1, 1))  # the same document gives the same bytes
        pdf.add_font(FONT, "", self.font)
        pdf.add_font(FONT, "B", self.font_bold)
        pdf.set_margins(20, 18, 20)
        pdf.set_auto_page_break(True, margin=18)
        return pdf

    def _single(self, draw, doc, title):
        pdf = self._new(title)
        pdf.add_page()
        draw(pdf, doc)
        return bytes(pdf.output())

    def _invoices(self, docs):
        if not docs:
            return []
        pdf = self._new("Factures")
        ranges = []
        for doc in docs:
            first = pdf.page + 1
            pdf.add_page()
            self._draw_invoice(pdf, doc)
            ranges.append((first, pdf.page))
        reader = PdfReader(io.BytesIO(bytes(pdf.output())))
        files = []
        for doc, (first, last) in zip(docs, ranges):
            writer = PdfWriter()
            for number in range(first - 1, last):
                writer.add_page(reader.pages[number])
            writer.add_metadata({"/Title": f"Facture {doc['number']}", "/Author": TOWN, "/Creator": "Espace Famille"})
            out = io.BytesIO()
            writer.write(out)
            files.append(out.getvalue())
        return files

    def _merge(self, files):
        writer = PdfWriter()
        for content in files:
            writer.append(PdfReader(io.BytesIO(content)))
        writer.compress_identical_objects(remove_duplicates=True, remove_unreferenced=True)
        writer.add_metadata({"/Title": "Factures papier", "/Author": TOWN})
        out = io.BytesIO()
        writer.write(out)
        return out.getvalue()

    # --- Drawing --------------------------------------------------------------------------------------------

    def _text(self, pdf, width, height, text, align="L"):
        """One line when it fits (a cell is ten times cheaper than fpdf2's line breaking), wrapped otherwise; the
        same paragraph (how to pay) is wrapped once per renderer, not once per invoice."""
        room = width or pdf.w - pdf.r_margin - pdf.get_x()
        if pdf.get_string_width(text) < room - 2 * pdf.c_margin:
            pdf.cell(width, height, text, align=align, new_x="LMARGIN", new_y="NEXT")
            return
        key = (text, pdf.font_style, pdf.font_size_pt, room)
        lines = self._wrapped.get(key)
        if lines is None:
            lines = self._wrapped[key] = pdf.multi_cell(width, height, text, align=align, dry_run=True,
                                                         output="LINES")
        x = pdf.get_x()
        for line in lines:
            pdf.set_x(x)
            pdf.cell(width, height, line, align=align, new_x="LMARGIN", new_y="NEXT")

    def _line(self, pdf, text, size=10, bold=False, height=5.0, colour=None, align="L"):
        pdf.set_font(FONT, "B" if bold else "", size)
        if colour:
            pdf.set_text_color(*colour)
        self._text(pdf, 0, height, text, align)
        pdf.set_text_color(0, 0, 0)

    def _heading(self, pdf, regie_line, phone_line):
        self._line(pdf, TOWN, 14, bold=True, height=7)
        self._line(pdf, SERVICES_LINE, 9)
        self._line(pdf, TOWN_HALL_ADDRESS, 9)
        if regie_line:
            self._line(pdf, regie_line, 9, bold=True)
        if phone_line:
            self._line(pdf, phone_line, 9)

    def _address(self, pdf, contact, top=48):
        payer = (contact or {}).get("payer") or {}
        address = payer.get("address") or {}
        name = f"{payer.get('first_name', '')} {payer.get('last_name', '').upper()}".strip()
        city = f"{address.get('postal_code', '')} {address.get('city', '').upper()}".strip()
        pdf.set_xy(112, top)
        pdf.set_font(FONT, "", 11)
        for text in filter(None, [name, address.get("line1"), address.get("line2"), city]):
            pdf.set_x(112)
            self._text(pdf, 78, 5.5, text)
        pdf.set_y(max(pdf.get_y(), top + 30))

    @staticmethod
    def _phone(regie):
        name, phone = TOWN_HALL if regie == domain.AFFAIRES_SCOLAIRES else MULTI_ACCUEIL
        return f"{name} — {phone}"

    def _facts(self, pdf, pairs):
        """Label: value lines, the labels in grey."""
        for label, value in pairs:
            pdf.set_font(FONT, "", 10)
            pdf.set_text_color(*GREY)
            pdf.cell(62, 5.5, label)
            pdf.set_text_color(0, 0, 0)
            pdf.set_font(FONT, "B", 10)
            self._text(pdf, 0, 5.5, value)

    def _draw_invoice(self, pdf, doc):
        regie = doc["regie"]
        self._heading(pdf, domain.REGIE_NAMES[regie], self._phone(regie))
        self._address(pdf, doc.get("contact"))
        self._line(pdf, f"Facture n° {doc['number']}", 15, bold=True, height=8)
        self._facts(pdf, [("Service", domain.REGIES[regie]),
                          ("Période", month_text(doc["period"])),
                          ("Dossier famille", (doc.get("contact") or {}).get("dossier") or "—"),
                          ("Date d'émission", day_text(doc["issued_on"])),
                          self._due_fact(doc)])
        pdf.ln(3)
        self._lines_table(pdf, doc["lines"])
        pdf.ln(2)
        self._amount_row(pdf, "Total de la facture", euros(doc["total_cents"]), bold=True)
        for payment in doc.get("payments") or []:
            method = domain.PAYMENT_METHODS.get(payment["method"], payment["method"])
            self._amount_row(pdf, f"Paiement du {day_text(_page_date(payment['received_at']))} ({method})",
                             euros(-payment["amount_cents"]))
        for credit in doc.get("credit_notes") or []:
            self._amount_row(pdf, f"Avoir {credit['number']} du {day_text(_page_date(credit['created_at']))}",
                             euros(-credit["amount_cents"]))
        self._amount_row(pdf, "Reste à payer", euros(doc["balance_cents"]), bold=True, fill=True)
        pdf.ln(4)
        if doc.get("direct_debit"):
            self._how_debited(pdf, doc)
        else:
            self._line(pdf, "Comment payer", 11, bold=True, height=6)
            self._line(pdf, "• En ligne, par carte bancaire, sur votre Espace Famille :", 9, height=4.6)
            self._line(pdf, f"   {self.public_url}/mon-compte/factures/{doc['id']}", 9, height=4.6)
            for text in ("Par prélèvement automatique : demandez-le sur votre Espace Famille (Mon compte › "
                         "Prélèvement) ou au guichet, avec un RIB.", domain.PAYMENT_DESKS[regie]):
                self._line(pdf, f"• {text}", 9, height=4.6)
        pdf.ln(2)
        if doc.get("delivery") == domain.ONLINE:
            note = "Vous avez choisi la facture en ligne : cette facture ne vous est pas envoyée par courrier."
        else:
            note = ("Facture envoyée par courrier. Pour ne plus recevoir de papier, choisissez la facture en ligne "
                    f"sur votre Espace Famille : {self.public_url}/mon-compte/facturation")
        self._line(pdf, note, 8, colour=GREY, height=4.2)

    @staticmethod
    def _due_fact(doc):
        """«À régler avant le» the due date, or «Prélèvement à l'échéance du» it (said whole under «Prélèvement
        automatique» below)."""
        return ("Prélèvement à l'échéance du" if doc.get("direct_debit") else "À régler avant le",
                day_text(doc["due_date"]))

    def _how_debited(self, pdf, doc):
        """An invoice under direct debit: nothing to do but have the money on the account at the due date."""
        self._line(pdf, "Prélèvement automatique", 11, bold=True, height=6)
        self._line(pdf, f"Cette facture est {domain.payment_due(day_text(doc['due_date']), True)} : vous n'avez "
                        "rien à faire. Pour arrêter le prélèvement : Mon compte › Prélèvement, sur votre Espace "
                        "Famille.", 9, height=4.6)

    COLUMNS = ((94, "L", "Désignation"), (22, "R", "Quantité"), (27, "R", "Prix unitaire"), (27, "R", "Montant"))

    def _lines_table(self, pdf, lines):
        """The invoice's lines under their headings (drawn again on a new page); a long label wraps in its column."""
        def headings():
            pdf.set_font(FONT, "B", 9)
            pdf.set_fill_color(*LIGHT)
            for width, align, title in self.COLUMNS:
                pdf.cell(width, 6, title, align=align, fill=True)
            pdf.ln(6)
            pdf.set_font(FONT, "", 9)

        headings()
        label_width = self.COLUMNS[0][0]
        for line in lines:
            note = line["kind"] == "note"
            cells = ("", "", "") if note else (
                quantity_text(line.get("quantity")),
                "" if line.get("unit_price_cents") is None else euros(line["unit_price_cents"]),
                euros(line["amount_cents"]))
            label = line["label"]
            parts = [label] if pdf.get_string_width(label) < label_width - 2 * pdf.c_margin else \
                pdf.multi_cell(label_width, 5, label, dry_run=True, output="LINES")
            if pdf.get_y() + len(parts) * 5 > pdf.page_break_trigger:
                pdf.add_page()
                headings()
            top = pdf.get_y()
            if note:
                pdf.set_text_color(*GREY)
            for row, part in enumerate(parts):
                pdf.set_xy(pdf.l_margin, top + row * 5)
                pdf.cell(label_width, 5, part)
            pdf.set_text_color(0, 0, 0)
            pdf.set_xy(pdf.l_margin + label_width, top)
            for (width, align, _), text in zip(self.COLUMNS[1:], cells):
                pdf.cell(width, 5, text, align=align)
            pdf.set_xy(pdf.l_margin, top + len(parts) * 5)
            pdf.set_draw_color(*LIGHT)
            pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
            pdf.set_draw_color(0, 0, 0)

    def _amount_row(self, pdf, label, amount, bold=False, fill=False):
        pdf.set_font(FONT, "B" if bold else "", 10)
        if fill:
            pdf.set_fill_color(*LIGHT)
        pdf.set_x(pdf.l_margin + 70)
        pdf.cell(70, 6.5, label, fill=fill)
        pdf.cell(30, 6.5, amount, align="R", fill=fill, new_x="LMARGIN", new_y="NEXT")

    def _draw_receipt(self, pdf, doc):
        invoice = doc["invoice"]
        regie = invoice["regie"]
        self._heading(pdf, domain.REGIE_NAMES[regie], self._phone(regie))
        self._address(pdf, doc.get("contact"))
        self._line(pdf, "Reçu de paiement", 15, bold=True, height=8)
        self._facts(pdf, [("Référence du paiement", doc["id"]),
                          ("Reçu le", day_text(_page_date(doc["received_at"]))),
                          ("Moyen de paiement", domain.PAYMENT_METHODS.get(doc["method"], doc["method"])),
                          ("Montant reçu", euros(doc["amount_cents"])),
                          ("Facture", f"{invoice['number']} ({month_text(invoice['period'])})"),
                          ("Dossier famille", (doc.get("contact") or {}).get("dossier") or "—"),
                          ("Total de la facture", euros(invoice["total_cents"])),
                          ("Reste à payer après ce paiement", euros(doc["balance_after_cents"]))])
        pdf.ln(6)
        self._line(pdf, f"Le régisseur de la {domain.REGIE_NAMES[regie]} certifie avoir reçu la somme de "
                        f"{euros(doc['amount_cents'])} au titre de la facture {invoice['number']}.", 10)

    def _draw_certificate(self, pdf, doc):
        self._heading(pdf, domain.REGIE_NAMES[domain.PETITE_ENFANCE], self._phone(domain.PETITE_ENFANCE))
        self._address(pdf, doc.get("contact"))
        self._line(pdf, f"Attestation fiscale — frais de garde {doc['year']}", 15, bold=True, height=8)
        self._line(pdf, "Frais de garde des enfants de moins de six ans hors du domicile (article 200 quater B du "
                        "code général des impôts)", 9, colour=GREY)
        pdf.ln(2)
        self._facts(pdf, [("Dossier famille", (doc.get("contact") or {}).get("dossier") or "—"),
                          ("Établissement", MULTI_ACCUEIL[0]),
                          ("Année", str(doc["year"]))])
        pdf.ln(2)
        self._line(pdf, f"Le régisseur de la {domain.REGIE_NAMES[domain.PETITE_ENFANCE]} atteste que la famille a "
                        f"versé au multi-accueil, du 1er janvier au 31 décembre {doc['year']}, pour la garde des "
                        "enfants ci-dessous (repas exclus), les sommes suivantes :", 10)
        pdf.ln(2)
        with pdf.table(col_widths=(80, 45, 45), text_align=("LEFT", "LEFT", "RIGHT"), line_height=5.5, padding=1.2,
                       headings_style=FontFace(emphasis="BOLD", fill_color=LIGHT)) as table:
            pdf.set_font(FONT, "", 10)
            table.row(("Enfant", "Date de naissance", "Sommes versées"))
            for child in doc["children"]:
                table.row((f"{child['first_name']} {child['last_name']}", day_text(child["birth_date"]),
                           euros(child["amount_cents"])))
        pdf.ln(2)
        self._amount_row(pdf, "Total versé", euros(doc["total_cents"]), bold=True, fill=True)
        pdf.ln(4)
        notes = ["Sommes effectivement payées dans l'année (date de réception du paiement), hors repas. Chaque "
                 "paiement est réparti entre les enfants au prorata de leurs lignes de facture."]
        if doc.get("cesu_cents"):
            notes.append(f"Les paiements en CESU préfinancés ({euros(doc['cesu_cents'])}) ne sont pas comptés : ils "
                         "sont une aide de l'employeur.")
        for note in notes:
            self._line(pdf, note, 8, colour=GREY, height=4.2)
        pdf.ln(6)
        self._line(pdf, f"Fait à Donges, le {day_text(doc['made_on'])}. Le régisseur.", 10)
