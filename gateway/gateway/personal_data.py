"""The family's data in its hands (GDPR, issue #12): the whole export, gathered from every service, and its PDF.

`family_export(family_id)` asks each service for what it holds on the family (one `family_export` RPC each) and
answers them together; a service that does not answer raises (503 through errors.py): an export is whole or is
not given. `export_pdf(export)` writes the readable French version with fpdf2 and a Unicode TrueType font (DejaVu,
as billing's documents): each service a heading, each section a table (or, when it has many fields, one block per
row), dates and money written the French way (espace_common.formatting), identifiers left to the JSON.
"""
import json
import logging
import re
from datetime import timezone

from flask import current_app
from fpdf import FPDF

from espace_common import formatting
from espace_common.town import TOWN, TOWN_HALL

from .services import services

logging.getLogger("fontTools").setLevel(logging.WARNING)  # its subsetting logs every glyph at INFO

SERVICES = ("identity", "canteen", "childcare", "billing", "payment")
SERVICE_TITLES = {"identity": "Famille et espaces personnels", "canteen": "Restauration scolaire",
                  "childcare": "Multi-accueil (petite enfance)", "billing": "Facturation",
                  "payment": "Paiements par carte bancaire"}
FONT = "dejavu"
DEFAULT_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
DEFAULT_FONT_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
TABLE_MOST_COLUMNS = 5
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
ISO_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def family_export(family_id, now=None):
    """{generated_at, family, services: {identity, canteen, childcare, billing, payment}}, each service's own answer."""
    answers = {name: services().call(name, "family_export", family_id) for name in SERVICES}
    identity = answers["identity"]
    now = now or current_app.extensions["clock"].now()
    return {"generated_at": now.astimezone(timezone.utc).isoformat(),
            "family": {"id": identity["family"]["id"], "dossier": identity["family"]["dossier"],
                       "representatives": [f"{r['first_name']} {r['last_name']}"
                                           for r in identity.get("representatives", [])],
                       "children": [f"{c['first_name']} {c['last_name']}" for c in identity.get("children", [])]},
            "services": answers}


def export_json(export):
    return json.dumps(export, ensure_ascii=False, indent=2).encode("utf-8")


def filename(export, suffix):
    return f"mes-donnees-espace-famille-{export['family']['dossier']}-{export['generated_at'][:10]}.{suffix}"


# --- The readable PDF ---------------------------------------------------------------------------------------------

def value_text(key, value):
    """A value as a parent reads it: 12,50 €, 3 décembre 2026, 3 décembre 2026 à 8 h 30, oui, —."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, int) and key.endswith("_cents"):
        return formatting.euros(value)
    if isinstance(value, str) and ISO_INSTANT.fullmatch(value[:16]) and len(value) > 16:
        try:
            return formatting.datetime_long(value)
        except ValueError:
            return value
    if isinstance(value, str) and ISO_DATE.fullmatch(value):
        try:
            return formatting.date_long(value)
        except ValueError:
            return value
    if isinstance(value, dict):
        return ", ".join(value_text(k, v) for k, v in value.items() if v not in (None, ""))
    if isinstance(value, list):
        return ", ".join(value_text(key, v) for v in value)
    return str(value)


def shown_columns(rows, labels):
    """The fields a section shows: those it has, in its own order, but the identifiers (the JSON keeps them)."""
    keys = []
    for row in rows:
        for key in row:
            if key not in keys and key != "id" and not key.endswith("_id"):
                keys.append(key)
    return [(key, labels.get(key, key)) for key in keys]


class ExportPdf:
    def __init__(self, font, font_bold):
        self.pdf = FPDF(format="A4")
        self.pdf.set_title("Mes données personnelles — Espace Famille")
        self.pdf.set_author(TOWN)
        self.pdf.set_creator("Espace Famille")
        self.pdf.add_font(FONT, "", font)
        self.pdf.add_font(FONT, "B", font_bold)
        self.pdf.set_margins(15, 15, 15)
        self.pdf.set_auto_page_break(True, margin=15)
        self.pdf.set_draw_color(190, 198, 208)

    def line(self, text, size=10, bold=False, height=5.5, space=0):
        self.pdf.set_font(FONT, "B" if bold else "", size)
        self.pdf.multi_cell(0, height, text, new_x="LMARGIN", new_y="NEXT")
        if space:
            self.pdf.ln(space)

    def cover(self, export):
        family = export["family"]
        self.pdf.add_page()
        self.line(TOWN, 14, bold=True, height=7)
        self.line("Espace Famille — Affaires scolaires et Petite enfance", 9)
        self.pdf.ln(6)
        self.line("Mes données personnelles", 18, bold=True, height=9)
        self.line(f"Dossier n° {family['dossier']}", 12, bold=True, height=7)
        self.line(f"Document établi le {formatting.datetime_long(export['generated_at'])}.", space=3)
        self.line("Représentants légaux : " + (", ".join(family["representatives"]) or "—"))
        self.line("Enfants : " + (", ".join(family["children"]) or "—"), space=3)
        self.line("Ce document réunit tout ce que la mairie garde sur votre famille dans l'Espace Famille, service "
                  "par service. La version JSON du même export contient en plus les identifiants techniques. Pour "
                  f"faire corriger ou effacer une donnée : {TOWN_HALL[0]}, {TOWN_HALL[1]}.", 9, height=4.5)

    def section(self, title, rows, labels):
        self.pdf.ln(3)
        self.line(title, 11, bold=True, height=6)
        if not rows:
            self.line("Aucune donnée.", 9, height=5)
            return
        columns = shown_columns(rows, labels)
        if len(columns) <= TABLE_MOST_COLUMNS:
            width = self.pdf.epw / len(columns)
            header = [(label, width) for _, label in columns]
            self.row(header, bold=True)
            for row in rows:
                self.row([(value_text(key, row.get(key)), width) for key, _ in columns], header=header)
            return
        for row in rows:  # many fields: one block a row, a field a line
            for key, label in columns:
                if key in row:
                    self.row([(label, 50), (value_text(key, row.get(key)), self.pdf.epw - 50)])
            self.pdf.ln(2)

    def row(self, cells, bold=False, header=None):
        """One table row of (text, width) cells, as high as its longest cell; fpdf2's line breaking only for the
        cells that need it (a cell is far cheaper), and the header again atop a new page."""
        pdf, height = self.pdf, 4.5
        pdf.set_font(FONT, "B" if bold else "", 8)
        lines = []
        for text, width in cells:
            if pdf.get_string_width(text) < width - 2 * pdf.c_margin:
                lines.append([text])
            else:
                lines.append(pdf.multi_cell(width, height, text, dry_run=True, output="LINES") or [""])
        total = height * max(len(cell) for cell in lines)
        if pdf.get_y() + total > pdf.page_break_trigger:
            pdf.add_page()
            if header:
                self.row(header, bold=True)
                pdf.set_font(FONT, "", 8)
        x, y = pdf.l_margin, pdf.get_y()
        for (text, width), cell in zip(cells, lines):
            if bold:
                pdf.set_fill_color(230, 236, 243)
                pdf.rect(x, y, width, total, style="DF")
            else:
                pdf.rect(x, y, width, total)
            for number, line in enumerate(cell):
                pdf.set_xy(x, y + number * height)
                pdf.cell(width, height, line)
            x += width
        pdf.set_xy(pdf.l_margin, y + total)

    def service(self, name, answer):
        self.pdf.add_page()
        self.line(SERVICE_TITLES.get(name, name), 15, bold=True, height=8)
        labels = answer.get("labels") or {}
        for key, value in answer.items():
            if key == "labels":
                continue
            rows = [value] if isinstance(value, dict) else value if isinstance(value, list) else [{"valeur": value}]
            rows = [r if isinstance(r, dict) else {"valeur": r} for r in rows]
            self.section((labels.get("sections") or {}).get(key, key), rows, labels.get("columns") or {})

    def output(self):
        return bytes(self.pdf.output())


def export_pdf(export):
    """The readable French PDF of an export (bytes)."""
    settings = current_app.config["ESPACE"]
    document = ExportPdf(settings.get("PDF_FONT") or DEFAULT_FONT, settings.get("PDF_FONT_BOLD") or DEFAULT_FONT_BOLD)
    document.cover(export)
    for name in SERVICES:
        document.service(name, export["services"][name])
    return document.output()
