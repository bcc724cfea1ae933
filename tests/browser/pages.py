"""What several browser tests do on the pages: log in, read the title, check layout and accessibility."""
NO_HORIZONTAL_SCROLL = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"


def log_in(page, username, password):
    page.goto("/connexion")
    page.get_by_label("Identifiant").fill(username)
    page.get_by_label("Mot de passe", exact=True).fill(password)
    page.get_by_role("button", name="Se connecter").click()


def heading(page):
    return page.get_by_role("heading", level=1)
