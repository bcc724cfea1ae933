"""The public space of both services in a real browser at 320 px, reached through the footer's menus, checked by
axe-core; and a Petite Enfance agent editing then withdrawing a news item, seen changing then disappearing from the
public page."""
import time
import uuid

import pytest
from playwright.sync_api import expect

from espace_common.rpc_client import RpcClient

from .pages import heading, log_in

pytestmark = [pytest.mark.browser, pytest.mark.broker, pytest.mark.slow]

PHONE_320 = {"viewport": {"width": 320, "height": 640}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
AGENT_PASSWORD = "Creche-Actualites-Donges-7?"

# (the footer link's name, the group it sits in, the page's h1), in the order a visitor reads the footer.
FOOTER_WALK = (
    ("Affaires Scolaires", "Actualités", "Actualités de la restauration scolaire"),
    ("Affaires Scolaires", "Informations pratiques", "Informations pratiques"),
    ("Petite Enfance", "Le multi-accueil", "Petite Enfance : le multi-accueil « Bout D'chou »"),
    ("Petite Enfance", "Actualités", "Actualités de la Petite Enfance"),
    ("Petite Enfance", "Informations pratiques", "Informations pratiques de la Petite Enfance"),
    ("Espace Famille", "Comment ça marche", "Comment fonctionne l'Espace Famille"),
    ("Espace Famille", "S'inscrire : les documents", "S'inscrire : les documents à fournir"),
    ("Espace Famille", "Questions fréquentes", "Questions fréquentes"),
)


@pytest.fixture(scope="module")
def rpc(suite):
    client = RpcClient(suite.vhost.amqp_uri, timeout=30, caller="public-space")
    yield client
    client.close()


def suite_url(page):
    return "/".join(page.url.split("/", 3)[:3])


def footer_link(page, group, name):
    column = page.get_by_role("contentinfo").locator(".footer-nav").filter(
        has=page.locator(".footer-group", has_text=group))
    return column.get_by_role("link", name=name, exact=True)


def test_the_public_space_of_both_services_at_320_px_through_the_footer(new_page, check):
    page = new_page(**PHONE_320)
    page.goto("/")
    expect(page.get_by_role("main").get_by_role("heading", name="Affaires Scolaires", exact=True)).to_be_visible()
    expect(page.get_by_role("main").get_by_role("heading", name="Petite Enfance", exact=True)).to_be_visible()
    check(page)
    for group, name, title in FOOTER_WALK:
        footer_link(page, group, name).click()
        expect(heading(page)).to_have_text(title)
        check(page)
    page.get_by_role("contentinfo").get_by_role("link", name="Contacts", exact=True).click()
    expect(heading(page)).to_have_text("Contacts")
    for phone, tel in (("02 40 45 79 79", "tel:+33240457979"), ("02 40 91 01 91", "tel:+33240910191"),
                       ("02 40 45 25 03", "tel:+33240452503")):
        expect(page.get_by_role("main").get_by_role("link", name=phone)).to_have_attribute("href", tel)
    check(page)
    page.get_by_role("contentinfo").get_by_role("link", name="Accessibilité : partiellement conforme").click()
    expect(heading(page)).to_have_text("Déclaration d'accessibilité")
    expect(page.get_by_role("main")).to_contain_text("partiellement conforme")
    expect(page.get_by_role("main")).to_contain_text("Défenseur des droits")
    check(page)
    # From the explanation pages, a visitor goes on to create the space.
    page.goto("/espace-famille")
    page.get_by_role("main").get_by_role("link", name="Créer mon espace avec ma clé").click()
    expect(page).to_have_url(f"{suite_url(page)}/creer-mon-espace")
    check(page)


def test_an_agent_edits_then_withdraws_a_creche_news_item_which_leaves_the_public_page(rpc, new_page, check):
    suffix = uuid.uuid4().hex[:6]
    agent = f"actus-{suffix}"
    rpc.call("identity", "ensure_agent", agent, AGENT_PASSWORD, ["petite_enfance"])
    title, edited = f"Portes ouvertes {suffix}", f"Portes ouvertes du samedi {suffix}"
    rpc.call("childcare", "publish_news", title, "Venez visiter la crèche.", "news")
    visitor, page = new_page(**PHONE_320), new_page(**PHONE_320)
    visitor.goto("/petite-enfance/actualites")
    expect(visitor.get_by_role("heading", name=title)).to_be_visible()

    log_in(page, agent, AGENT_PASSWORD)
    page.goto("/agents/petite-enfance/actualites")
    check(page)
    item = page.locator(".admin-list li").filter(has_text=title)
    item.get_by_role("link", name=f"Modifier « {title} »").click()
    expect(heading(page)).to_have_text(f"Modifier « {title} »")
    edit_url = page.url
    check(page)
    page.get_by_label("Titre").fill(edited)
    page.get_by_role("button", name="Enregistrer les modifications").click()
    expect(page.get_by_role("status")).to_contain_text(f"« {edited} » est modifié.")
    visitor.reload()
    expect(visitor.get_by_role("heading", name=edited)).to_be_visible()
    expect(visitor.get_by_role("heading", name=title, exact=True)).to_have_count(0)

    page.locator(".admin-list li").filter(has_text=edited).get_by_role("link", name=f"Retirer « {edited} »").click()
    expect(heading(page)).to_have_text("Retirer cette publication ?")
    check(page)
    page.get_by_role("button", name="Retirer la publication").click()
    expect(page.get_by_role("status")).to_contain_text(f"« {edited} » est retiré des pages publiques.")
    expect(page.locator(".admin-list li").filter(has_text=edited)).to_have_count(0)
    visitor.reload()
    expect(visitor.get_by_role("heading", level=1)).to_have_text("Actualités de la Petite Enfance")
    expect(visitor.get_by_text(edited)).to_have_count(0)
    # The withdrawn item's pages are gone too: its edit page is a French 404.
    response = page.goto(edit_url)
    assert response.status == 404
    expect(heading(page)).to_have_text("Page introuvable")


def test_a_school_agent_corrects_a_school_and_cannot_delete_one_with_an_enrolled_child(rpc, new_page, check):
    suffix = uuid.uuid4().hex[:6]
    agent = f"ecoles-{suffix}"
    rpc.call("identity", "ensure_agent", agent, AGENT_PASSWORD, ["affaires_scolaires"])
    family = rpc.call("identity", "register_family", {
        "request_id": f"public-space-{suffix}",
        "representatives": [{"first_name": "Inès", "last_name": f"Ecole{suffix}", "email": f"ines.{suffix}@example.org"}],
        "children": [{"first_name": "Léa", "last_name": f"Ecole{suffix}", "birth_date": "2018-04-17"}],
    })
    school = rpc.call("canteen", "add_school", f"Ecole Jules Vern {suffix}", "public")
    deadline = time.monotonic() + 60
    while not rpc.call("canteen", "family_children", family["id"]):
        assert time.monotonic() < deadline, "canteen never learnt the family's children"
        time.sleep(0.3)
    year = rpc.call("canteen", "school_directory")["school_years"][0]
    rpc.call("canteen", "enrol", family["children"][0]["id"], school["id"], year)

    page = new_page(**PHONE_320)
    log_in(page, agent, AGENT_PASSWORD)
    page.goto("/agents/cantine/ecoles")
    check(page)
    card = page.get_by_role("region", name=f"Ecole Jules Vern {suffix}")
    card.get_by_role("link", name=f"Modifier l'école Ecole Jules Vern {suffix}").click()
    check(page)
    page.get_by_label("Nom de l'école").fill(f"École Jules Verne {suffix}")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_role("status")).to_contain_text(f"École « École Jules Verne {suffix} » modifiée.")
    card = page.get_by_role("region", name=f"École Jules Verne {suffix}")
    card.get_by_role("link", name=f"Supprimer l'école École Jules Verne {suffix}").click()
    expect(heading(page)).to_have_text(f"Supprimer l'école « École Jules Verne {suffix} » ?")
    check(page)
    page.get_by_role("button", name="Supprimer l'école").click()
    expect(page.get_by_role("alert")).to_contain_text("a un enfant inscrit : elle ne peut pas être supprimée")
    check(page)
    assert any(s["id"] == school["id"] for s in rpc.call("canteen", "list_schools"))


def test_the_canteens_news_schools_and_classes_are_edited_and_deleted_over_rpc(rpc, new_page):
    """The canteen's new commands through the real broker; the public page follows."""
    suffix = uuid.uuid4().hex[:6]
    news = rpc.call("canteen", "publish_news", f"Menu de Noël {suffix}", "Le 17 décembre.", "news")
    edited = rpc.call("canteen", "edit_news", news["id"], f"Repas de Noël {suffix}", "Le **18** décembre.", "news")
    assert edited["title"] == f"Repas de Noël {suffix}"
    page = new_page(**PHONE_320)
    page.goto("/cantine/actualites")
    expect(page.get_by_role("heading", name=f"Repas de Noël {suffix}")).to_be_visible()
    assert rpc.call("canteen", "withdraw_news", news["id"])["id"] == news["id"]
    page.reload()
    expect(page.get_by_text(f"Repas de Noël {suffix}")).to_have_count(0)

    school = rpc.call("canteen", "add_school", f"École en double {suffix}", "public")
    year = rpc.call("canteen", "school_directory")["school_years"][0]
    klass = rpc.call("canteen", "add_class", school["id"], year, "CE 1")
    assert rpc.call("canteen", "rename_class", klass["id"], "CE1")["name"] == "CE1"
    assert rpc.call("canteen", "edit_school", school["id"], f"École à supprimer {suffix}", "public", "")["name"] \
        == f"École à supprimer {suffix}"
    assert rpc.call("canteen", "delete_class", klass["id"])["name"] == "CE1"
    assert rpc.call("canteen", "delete_school", school["id"])["id"] == school["id"]
    assert all(s["id"] != school["id"] for s in rpc.call("canteen", "list_schools"))
