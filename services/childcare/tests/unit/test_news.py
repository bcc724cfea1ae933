"""Agents of Petite Enfance correct and withdraw the crèche's news: use cases on a migrated SQLite file."""
from datetime import datetime

import pytest

from childcare import orm, use_cases
from childcare.domain import ChildcareRules
from espace_common.clock import FixedClock
from espace_common.documents import DocumentStore
from espace_common.errors import InvalidInput, NotFound
from espace_deploy.testing import SqliteUnits, migrated_sqlite

RULES = ChildcareRules()
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=RULES.zone)


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    return migrated_sqlite("childcare", tmp_path_factory.mktemp("childcare-template"))


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture
def creche(migrated, tmp_path, clock):
    units = SqliteUnits(migrated, tmp_path / "childcare.sqlite", orm.metadata, clock)
    yield use_cases.Childcare(units, clock, RULES, DocumentStore(tmp_path / "files"))
    units.dispose()


def test_a_news_item_is_edited_keeping_its_date_then_withdrawn(creche, clock):
    news_id = creche.publish_news("Fermeture estivale", "Du 3 au 21 août.", "news")["id"]
    clock.advance(days=3)
    edited = creche.edit_news(news_id, "Fermeture d'été", "Du **4** au 22 août.", "practical")
    assert (edited["title"], edited["kind"]) == ("Fermeture d'été", "practical")
    assert datetime.fromisoformat(edited["published_at"]) == NOW
    assert creche.list_news("news") == [] and [n["id"] for n in creche.list_news("practical")] == [news_id]
    assert creche.withdraw_news(news_id) == {"id": news_id, "title": "Fermeture d'été", "kind": "practical"}
    assert creche.list_news("practical") == []
    with pytest.raises(NotFound):
        creche.withdraw_news(news_id)
    # Withdrawn, the same title can be published again (publishing is idempotent by title).
    assert creche.publish_news("Fermeture d'été", "Texte", "practical")["id"] != news_id


@pytest.mark.parametrize("news_id", ["inconnu", "x" * 100_000, ""])
def test_junk_ids_are_not_found_and_change_nothing(creche, news_id):
    creche.publish_news("Titre", "Texte", "news")
    for call in (lambda: creche.edit_news(news_id, "T", "B", "news"), lambda: creche.withdraw_news(news_id),
                 lambda: creche.news_item(news_id)):
        with pytest.raises(NotFound):
            call()
    assert [n["title"] for n in creche.list_news("news")] == ["Titre"]


@pytest.mark.parametrize("title, body, kind", [("T" * 201, "texte", "news"), ("Titre", "x" * 100_000, "news"),
                                               ("Titre", "", "news"), ("Titre", "texte", "autre")])
def test_an_edit_that_breaks_the_rules_changes_nothing(creche, title, body, kind):
    news_id = creche.publish_news("Titre", "Texte", "news")["id"]
    with pytest.raises(InvalidInput):
        creche.edit_news(news_id, title, body, kind)
    assert creche.news_item(news_id)["body"] == "Texte"
