"""The public pages in a real browser: content, accessibility (axe-core), keyboard and layouts."""
import re

import pytest
from playwright.sync_api import expect

from .pages import NO_HORIZONTAL_SCROLL

pytestmark = pytest.mark.browser

HEADING_LEVELS = "Array.from(document.querySelectorAll('h1,h2,h3,h4,h5,h6')).map(h => Number(h.tagName[1]))"


def assert_heading_outline(page):
    levels = page.evaluate(HEADING_LEVELS)
    assert levels[:1] == [1] and levels.count(1) == 1, f"one h1, first: {levels}"
    for previous, level in zip(levels, levels[1:]):
        assert level <= previous + 1, f"a heading level is skipped: {levels}"


def test_home_page_renders_in_french(page):
    response = page.goto("/")
    assert response.status == 200
    assert page.evaluate("document.documentElement.lang") == "fr"
    expect(page).to_have_title("Accueil · Espace Famille · Ville de Donges")
    expect(page.get_by_role("heading", level=1)).to_have_text("Bienvenue sur l'Espace Famille")
    expect(page.get_by_role("heading", name="Affaires Scolaires")).to_be_visible()
    expect(page.get_by_role("heading", name="Petite Enfance")).to_be_visible()
    expect(page.get_by_role("link", name="02 40 45 79 79")).to_have_attribute("href", "tel:+33240457979")
    for landmark in ("banner", "navigation", "main", "contentinfo"):
        expect(page.get_by_role(landmark)).to_have_count(1)
    assert_heading_outline(page)


def test_home_page_has_no_axe_violation(page, assert_accessible):
    page.goto("/")
    assert_accessible(page)


def test_home_page_has_no_axe_violation_on_a_phone(phone_page, assert_accessible):
    phone_page.goto("/")
    assert_accessible(phone_page)


def test_login_page_has_no_axe_violation(page, assert_accessible):
    page.goto("/connexion")
    expect(page).to_have_title("Connexion · Espace Famille · Ville de Donges")
    expect(page.get_by_role("heading", level=1)).to_have_text("Connexion à mon espace")
    expect(page.get_by_label("Identifiant")).to_be_visible()
    expect(page.get_by_label("Mot de passe")).to_be_visible()
    assert_heading_outline(page)
    assert_accessible(page)


def test_not_found_page_is_french_and_accessible(page, assert_accessible):
    response = page.goto("/nulle-part")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page introuvable")
    assert_accessible(page)


def test_home_page_links_to_the_login_page(page):
    page.goto("/")
    page.get_by_role("main").get_by_role("link", name="Se connecter à mon espace").click()
    expect(page).to_have_url(re.compile(r"/connexion$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Connexion à mon espace")
    nav_link = page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Se connecter")
    expect(nav_link).to_have_attribute("aria-current", "page")


def test_skip_link_is_the_first_stop_and_moves_focus_to_main_content(page):
    page.goto("/")
    skip = page.get_by_role("link", name="Aller au contenu")
    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box and box["x"] >= 0 and box["y"] >= 0, "the focused skip link is visible on screen"
    page.keyboard.press("Enter")
    expect(page.locator("main#contenu")).to_be_focused()
    # the next Tab goes on from the main content, not back to the header
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('main') !== null")


def test_focus_is_visible_on_links_and_buttons(page):
    page.goto("/")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")  # the brand link in the header
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", ""), "a keyboard-focused link shows an outline"


def test_layout_on_a_phone(phone_page):
    phone_page.goto("/")
    assert phone_page.evaluate("window.innerWidth") == 375
    assert phone_page.evaluate(NO_HORIZONTAL_SCROLL), "no horizontal scroll at 375 px"
    cards = phone_page.locator(".card")
    expect(cards).to_have_count(4)  # Affaires Scolaires, Petite Enfance, the tariffs, how it works
    boxes = [cards.nth(i).bounding_box() for i in range(4)]
    assert boxes[0]["y"] < boxes[1]["y"] < boxes[2]["y"] < boxes[3]["y"], "cards are stacked on a phone"
    assert all(box["x"] >= 0 and box["x"] + box["width"] <= 375 for box in boxes)
    font_size = phone_page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert font_size >= 16, "body text is readable without zooming"
    phone_page.goto("/connexion")
    assert phone_page.evaluate(NO_HORIZONTAL_SCROLL), "no horizontal scroll on the login page at 375 px"
    field = phone_page.get_by_label("Identifiant").bounding_box()
    assert field["height"] >= 44, "form fields are big enough to tap"


def test_layout_on_a_desktop(page):
    page.goto("/")
    assert page.evaluate(NO_HORIZONTAL_SCROLL)
    cards = page.locator(".card")
    boxes = [cards.nth(i).bounding_box() for i in range(3)]
    assert boxes[0]["y"] == boxes[1]["y"] == boxes[2]["y"], "cards sit side by side on a desktop"
    main = page.get_by_role("main").bounding_box()
    assert main["width"] <= 1100, "lines stay readable on a wide screen"
    assert abs(main["x"] - (1280 - main["x"] - main["width"])) <= 2, "the content is centred"

