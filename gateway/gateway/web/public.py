"""Public pages: no account needed. The home page of both services, how the Espace Famille works, the documents to
bring to register, the contacts, the questions parents ask, the accessibility statement, and the practical
information of Petite Enfance. The town's names and numbers come from espace_common.town (one place); the news and
practical items are the services' own (canteen and childcare keep them; their agents edit them)."""
from datetime import date

from flask import Blueprint, render_template

from espace_common import town
from espace_common.rpc_client import ServiceUnavailable

from .. import vocabularies
from ..services import services

bp = Blueprint("public", __name__)


def guillemets(text):
    """French typography: no line break just inside « and »."""
    return text.replace("« ", "«\u00a0").replace(" »", "\u00a0»")


CONTACTS = tuple((guillemets(name), phone, town.tel_uri(phone)[4:]) for name, phone in town.CONTACTS)
CONTACT_ROLES = tuple(((guillemets(name), phone), role, address) for (name, phone), role, address in town.CONTACT_ROLES)

# The public pages of both services, in the order the public menu shows them.
PUBLIC_PAGES = (
    ("public.how_it_works", "Comment ça marche"),
    ("public.registering", "S'inscrire : les documents"),
    ("public.questions", "Questions fréquentes"),
    ("public.contacts", "Contacts"),
)


@bp.app_context_processor
def town_contacts():
    return {"contacts": CONTACTS, "public_pages": PUBLIC_PAGES, "town": town, "tel_uri": town.tel_uri}


def latest_news(service, count=3):
    """The last news items of a service for the home page; a service that does not answer leaves its list out
    (the home page stays up), None saying so."""
    try:
        return services().call(service, "list_news", "news", count)
    except ServiceUnavailable:
        return None


@bp.get("/")
def home():
    """The public home page of the Espace Famille: both services, their last news, how to start."""
    return render_template("home.html", canteen_news=latest_news("canteen"), childcare_news=latest_news("childcare"))


@bp.get("/espace-famille")
def how_it_works():
    """How the Espace Famille works: the key by post, creating the space, what can be done online."""
    return render_template("public/how_it_works.html")


@bp.get("/inscriptions")
def registering():
    """The documents to bring to register at school and the canteen, and at the multi-accueil."""
    return render_template("public/registering.html")


@bp.get("/contacts")
def contacts():
    return render_template("public/contacts.html", contact_roles=CONTACT_ROLES)


def service_rules():
    """The rules the answers quote (meal deadline, justification delay, free cancellation), from the services that own
    them; a service that does not answer leaves its figures out and the answer says it in general words."""
    rules = {}
    try:
        summary = services().call("canteen", "rules_summary")
        hours, minutes = summary["deadline_time"].split(":")[:2]
        rules["deadline"] = {"days": summary["deadline_working_days"],
                             "time": f"{int(hours)} h" + (f" {minutes}" if minutes != "00" else "")}
        rules["justification_hours"] = vocabularies.vocabulary("canteen")["justification"]["hours"]
    except ServiceUnavailable:
        pass
    try:
        rules["cancellation_hours"] = vocabularies.vocabulary("childcare")["cancellation_hours"]
    except ServiceUnavailable:
        pass
    return rules


@bp.get("/questions-frequentes")
def questions():
    """The questions parents ask: lost key, forgotten identifier or password, online invoice, paying."""
    return render_template("public/questions.html", rules=service_rules())


@bp.get("/accessibilite")
def accessibility():
    """The accessibility statement (RGAA 4.1) French public sites publish, linked from every page's footer."""
    return render_template("public/accessibility.html", written=date.fromisoformat(town.ACCESSIBILITY_STATEMENT_DATE),
                           defenseur=town.DEFENSEUR_DES_DROITS)


@bp.get("/petite-enfance/informations-pratiques")
def childcare_practical():
    """The practical information of the Petite Enfance service, kept by its agents in the childcare service."""
    return render_template("public/childcare_practical.html",
                           items=services().call("childcare", "list_news", "practical", 50))
