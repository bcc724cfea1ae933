"""Agents correct and withdraw news, and correct or delete schools and classes: use cases on a migrated SQLite
file with a fixed clock."""
from datetime import date, datetime

import pytest
from sqlalchemy import insert

from canteen import documents, orm, use_cases
from canteen.calendar_rules import CanteenRules
from espace_common.clock import FixedClock
from espace_common.errors import Conflict, InvalidInput, NotFound
from espace_deploy.testing import SqliteUnits, migrated_sqlite

RULES = CanteenRules()
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=RULES.zone)
YEAR = "2026-2027"


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    return migrated_sqlite("canteen", tmp_path_factory.mktemp("canteen-template"))


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture
def units(migrated, tmp_path, clock):
    units = SqliteUnits(migrated, tmp_path / "canteen.sqlite", orm.metadata, clock)
    yield units
    units.dispose()


@pytest.fixture
def canteen(units, clock, tmp_path):
    return use_cases.Canteen(units, clock, RULES, documents.DocumentStore(tmp_path / "files"))


# --- News --------------------------------------------------------------------------------------------

def test_a_news_item_is_edited_keeping_its_date_then_withdrawn_from_the_list(canteen, clock):
    news_id = canteen.publish_news("Menu de Noël", "Le 17 décembre.", "news")["id"]
    clock.advance(days=2)
    edited = canteen.edit_news(news_id, "Repas de Noël", "Le **18** décembre.", "practical")
    assert edited["title"] == "Repas de Noël" and edited["kind"] == "practical"
    assert datetime.fromisoformat(edited["published_at"]) == NOW  # an edit keeps the publication date
    assert canteen.list_news("news") == []
    assert [n["title"] for n in canteen.list_news("practical")] == ["Repas de Noël"]
    assert canteen.withdraw_news(news_id)["title"] == "Repas de Noël"
    assert canteen.list_news("practical") == []
    with pytest.raises(NotFound):  # a retry finds nothing and changes nothing
        canteen.withdraw_news(news_id)


@pytest.mark.parametrize("news_id", ["inconnu", "x" * 100_000, "é' OR 1=1 --", ""])
def test_junk_news_ids_are_not_found(canteen, news_id):
    canteen.publish_news("Titre", "Texte", "news")
    for call in (lambda: canteen.edit_news(news_id, "T", "B", "news"), lambda: canteen.withdraw_news(news_id),
                 lambda: canteen.news_item(news_id)):
        with pytest.raises(NotFound):
            call()
    assert len(canteen.list_news("news")) == 1


@pytest.mark.parametrize("title, body, kind", [("T" * 201, "texte", "news"), ("Titre", "x" * 100_000, "news"),
                                               ("", "texte", "news"), ("Titre", "texte", "autre")])
def test_an_edit_that_breaks_the_rules_changes_nothing(canteen, title, body, kind):
    news_id = canteen.publish_news("Titre", "Texte", "news")["id"]
    with pytest.raises(InvalidInput):
        canteen.edit_news(news_id, title, body, kind)
    assert canteen.news_item(news_id)["title"] == "Titre" and canteen.news_item(news_id)["body"] == "Texte"


# --- Schools and classes -----------------------------------------------------------------------------

@pytest.fixture
def child(units):
    with units() as uow:
        uow.execute(insert(orm.family_children), [{"family_id": "fam-1", "child_id": "child-lea", "first_name": "Léa",
                                                   "last_name": "Martin", "birth_date": date(2018, 4, 17)}])
        uow.commit()
    return "child-lea"


def test_a_school_is_corrected_but_cannot_take_another_schools_name(canteen):
    school = canteen.add_school("Ecole Jules Vern", "public", "")["id"]
    canteen.add_school("École Sainte-Thérèse", "private", "")
    assert canteen.edit_school(school, "École Jules Verne", "public", "1 rue des Écoles")["name"] == "École Jules Verne"
    assert [s["name"] for s in canteen.list_schools()] == ["École Jules Verne", "École Sainte-Thérèse"]
    with pytest.raises(Conflict) as refused:
        canteen.edit_school(school, "École Sainte-Thérèse", "public", "")
    assert refused.value.code == "school_name_taken"
    with pytest.raises(InvalidInput):
        canteen.edit_school(school, "É" * 100_000, "public", "")
    with pytest.raises(NotFound):
        canteen.edit_school("inconnue", "Autre", "public", "")


def test_a_school_with_enrolled_children_cannot_be_deleted_one_without_goes_with_its_classes(canteen, child):
    used = canteen.add_school("École Jules Verne", "public", "")["id"]
    empty = canteen.add_school("École en double", "public", "")["id"]
    canteen.add_class(empty, YEAR, "CP")
    canteen.enrol(child, used, YEAR)
    with pytest.raises(Conflict) as refused:
        canteen.delete_school(used)
    assert refused.value.code == "school_in_use"
    assert "un enfant inscrit" in refused.value.message and "ne peut pas être supprimée" in refused.value.message
    assert canteen.delete_school(empty)["name"] == "École en double"
    assert [s["name"] for s in canteen.list_schools()] == ["École Jules Verne"]
    assert canteen.list_classes(empty, YEAR) == []
    with pytest.raises(NotFound):
        canteen.delete_school(empty)


def test_a_class_is_renamed_and_deleted_unless_children_are_enrolled_in_it(canteen, child):
    school = canteen.add_school("École Jules Verne", "public", "")["id"]
    ce1 = canteen.add_class(school, YEAR, "CE1")["id"]
    ce2 = canteen.add_class(school, YEAR, "CE 2")["id"]
    assert canteen.rename_class(ce2, "CE2")["name"] == "CE2"
    with pytest.raises(Conflict) as refused:
        canteen.rename_class(ce2, "CE1")
    assert refused.value.code == "class_name_taken"
    canteen.enrol(child, school, YEAR, ce1)
    with pytest.raises(Conflict) as refused:
        canteen.delete_class(ce1)
    assert refused.value.code == "class_in_use" and "La classe « CE1 » a un enfant inscrit" in refused.value.message
    assert canteen.delete_class(ce2)["name"] == "CE2"
    assert [c["name"] for c in canteen.list_classes(school, YEAR)] == ["CE1"]
    for call in (canteen.delete_class, lambda i: canteen.rename_class(i, "CP")):
        with pytest.raises(NotFound):
            call(ce2)
