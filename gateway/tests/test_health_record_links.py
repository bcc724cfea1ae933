"""The family file links each child's health record (issue #12) for an agent whose service cares for the child, as
the file's own sections say (canteen: enrolled; crèche: registered); never a link an agent could not follow."""
from .test_agent_family import ADMIN, CHILDCARE, CRECHE, KID, SCOLAIRE, answers, page_as  # noqa: F401  (fixture)

LINK = f"/agents/enfants/{KID}/fiche-sanitaire"


def test_the_canteen_and_the_creche_agents_get_the_link_the_administrator_does_not(client, services):
    for who in (SCOLAIRE, CRECHE):
        response, page = page_as(client, services, who)
        assert response.status_code == 200 and LINK in page, who["roles"]
    _, page = page_as(client, services, ADMIN)
    assert LINK not in page


def test_a_child_the_creche_does_not_know_has_no_link_for_its_agents(client, services):
    services.answers[("childcare", "family_overview")] = {
        **CHILDCARE, "children": [{**CHILDCARE["children"][0], "registration": None}]}
    _, page = page_as(client, services, CRECHE)
    assert LINK not in page
