"""The health record («fiche sanitaire», issue #12) on a real migrated SQLite file with a fixed clock; no broker.

Whether a service cares for the child is a fake `attends` (the RPC to canteen or childcare is tested over
RabbitMQ in tests/integration/test_health_record_api.py)."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from espace_common.errors import Forbidden, InvalidInput, NotFound
from identity import domain_health, orm
from identity.care_services import DependencyUnavailable
from identity.use_cases import agents, families, health

from .test_use_cases import (  # noqa: F401  (fixtures)
    FAMILY, clock, family, new_account, passwords, policy,
)

RECORD = {
    "allergies": "Arachide, kiwi", "treatment": "Ventoline en cas de crise", "vaccinations_up_to_date": True,
    "doctor": {"name": "Dr Lemoine", "phone": "02 40 45 00 00"},
    "authorised_persons": [{"name": "Monique Martin", "phone": "06 11 22 33 44", "relation": "grand_parent"}],
    "emergency_contacts": [{"name": "Paul Martin", "phone": "+33 6 55 44 33 22", "relation": "oncle_tante"}],
}
SECRET = "Un-mot-de-passe-2026!"


def attending(*services):
    asked = []

    def attends(service, child_id):
        asked.append((service, child_id))
        return service in services
    attends.asked = asked
    return attends


@pytest.fixture
def parent(db, clock, policy, passwords, family):
    return new_account(db, clock, policy, passwords, family)["account"]


@pytest.fixture
def child_id(family):
    return family["children"][0]["id"]


def reads(db):
    with db.engine.connect() as connection:
        return connection.execute(select(orm.health_record_reads).order_by(orm.health_record_reads.c.id)).all()


def test_a_parent_saves_the_record_and_the_flags_are_published(db, clock, parent, child_id):
    empty = health.health_record(db, parent["id"], child_id)
    assert (empty["allergies"], empty["updated_at"], empty["reads"]) == ("", None, [])
    saved = health.save_health_record(db, clock, parent["id"], child_id, RECORD)
    assert saved["doctor"] == {"name": "Dr Lemoine", "phone": "0240450000"}
    assert saved["emergency_contacts"][0]["phone"] == "0655443322"
    assert saved["updated_by"] == "Claire Martin" and saved["updated_at"] == clock.now().isoformat()
    clock.advance(hours=1)
    health.save_health_record(db, clock, parent["id"], child_id, {**RECORD, "allergies": "", "treatment": ""})
    with db.engine.connect() as connection:
        events = [r.payload["data"] for r in connection.execute(
            select(orm.outbox).where(orm.outbox.c.event_type == "health_flags_changed")).all()]
    assert [(e["allergies"], e["has_treatment"]) for e in events] == [("Arachide, kiwi", True), ("", False)]
    listing = health.family_health_records(db, parent["id"])
    assert [(c["child_id"], c["filled"]) for c in listing["children"]] == [(child_id, True)]
    assert reads(db) == []  # a parent's own reads are not recorded


def test_another_familys_child_is_not_found_for_reading_and_saving(db, clock, parent):
    other = families.register_family(db, clock, FAMILY)["children"][0]["id"]
    for call in (lambda c: health.health_record(db, parent["id"], c),
                 lambda c: health.save_health_record(db, clock, parent["id"], c, RECORD)):
        for junk in (other, "nope", "x" * 100_000, None, 42):
            with pytest.raises(NotFound):
                call(junk)


@pytest.mark.parametrize("change, code", [
    ({"allergies": "a" * 100_000}, "invalid_allergies"),
    ({"allergies": "a" * 301}, "invalid_allergies"),
    ({"treatment": ["x"]}, "invalid_treatment"),
    ({"treatment": "t\x00"}, "invalid_treatment"),
    ({"doctor": "Dr House"}, "invalid_doctor"),
    ({"doctor": {"name": "é" * 101}}, "invalid_doctor_name"),
    ({"doctor": {"phone": "0" * 100_000}}, "invalid_phone"),
    ({"vaccinations_up_to_date": "oui"}, "invalid_vaccinations"),
    ({"authorised_persons": {"name": "x"}}, "invalid_authorised_persons"),
    ({"authorised_persons": [{"name": "x", "phone": "0611223344"}] * 7}, "invalid_authorised_persons"),
    ({"authorised_persons": [{"name": "", "phone": "0611223344"}]}, "invalid_authorised_persons"),
    ({"authorised_persons": [{"name": "Zoé", "phone": "٠٦١١٢٢٣٣٤٤"}]}, "invalid_phone"),
    ({"authorised_persons": [{"name": "Zoé"}]}, "invalid_phone"),
    ({"authorised_persons": [{"name": "Zoé", "phone": "0611223344", "relation": "chauffeur"}]},
     "invalid_authorised_persons"),
    ({"emergency_contacts": [{"name": "x", "phone": "0611223344"}] * 5}, "invalid_emergency_contacts"),
    ({"emergency_contacts": ["Paul"]}, "invalid_emergency_contacts"),
])
def test_bad_records_are_refused_with_a_code_and_nothing_is_saved(db, clock, parent, child_id, change, code):
    with pytest.raises(InvalidInput) as refused:
        health.save_health_record(db, clock, parent["id"], child_id, {**RECORD, **change})
    assert refused.value.code == code
    assert health.health_record(db, parent["id"], child_id)["updated_at"] is None


def test_non_ascii_text_is_kept_as_typed(db, clock, parent, child_id):
    saved = health.save_health_record(db, clock, parent["id"], child_id,
                                      {**RECORD, "allergies": "Œufs, crème brûlée — 卵", "authorised_persons": [
                                          {"name": "Zoé N'Guessan-Ørsted", "phone": "0611223344"}]})
    assert saved["allergies"] == "Œufs, crème brûlée — 卵"
    assert saved["authorised_persons"] == [{"name": "Zoé N'Guessan-Ørsted", "phone": "0611223344", "relation": "autre"}]


def test_an_agent_of_the_service_the_child_attends_reads_it_and_the_read_is_recorded(
        db, clock, passwords, parent, child_id):
    health.save_health_record(db, clock, parent["id"], child_id, RECORD)
    creche = agents.ensure_agent(db, clock, passwords, "creche", SECRET, ["petite_enfance"])
    attends = attending("childcare")
    answer = health.agent_health_record(db, clock, attends, creche["id"], child_id)
    assert answer["allergies"] == "Arachide, kiwi" and answer["read_as"] == "petite_enfance"
    assert attends.asked == [("childcare", child_id)]
    [read] = reads(db)
    assert (read.agent_username, read.role, read.granted, read.at) == ("creche", "petite_enfance", True, clock.now())
    seen = health.health_record(db, parent["id"], child_id)["reads"]
    assert [(r["agent"], r["role_label"], r["granted"]) for r in seen] == [("creche", "Petite enfance", True)]


def test_an_agent_of_the_other_service_is_refused_and_the_refusal_is_recorded(db, clock, passwords, parent, child_id):
    health.save_health_record(db, clock, parent["id"], child_id, RECORD)
    ecoles = agents.ensure_agent(db, clock, passwords, "ecoles", SECRET, ["affaires_scolaires"])
    with pytest.raises(Forbidden) as refused:
        health.agent_health_record(db, clock, attending("childcare"), ecoles["id"], child_id)
    assert refused.value.code == "health_record_forbidden"
    [read] = reads(db)
    assert (read.agent_username, read.role, read.granted) == ("ecoles", "", False)
    assert [r["granted"] for r in health.health_record(db, parent["id"], child_id)["reads"]] == [False]


def test_an_administrator_is_not_a_care_agent_unless_it_holds_the_role(db, clock, passwords, parent, child_id):
    admin = agents.ensure_agent(db, clock, passwords, "admin", SECRET, ["admin"])
    attends = attending("canteen", "childcare")
    with pytest.raises(Forbidden):
        health.agent_health_record(db, clock, attends, admin["id"], child_id)
    assert attends.asked == []  # nothing to ask: no care role
    both = agents.ensure_agent(db, clock, passwords, "chef", SECRET, ["admin", "affaires_scolaires"])
    assert health.agent_health_record(db, clock, attends, both["id"], child_id)["read_as"] == "affaires_scolaires"
    assert [(r.agent_username, r.granted) for r in reads(db)] == [("admin", False), ("chef", True)]


def test_an_unknown_child_or_agent_or_a_silent_service_records_nothing(db, clock, passwords, child_id):
    agent = agents.ensure_agent(db, clock, passwords, "ecoles", SECRET, ["affaires_scolaires"])
    with pytest.raises(NotFound):
        health.agent_health_record(db, clock, attending("canteen"), agent["id"], "x" * 100_000)
    with pytest.raises(NotFound):
        health.agent_health_record(db, clock, attending("canteen"), "no-such-agent", child_id)

    def silent(service, child_id):
        raise DependencyUnavailable(service)
    with pytest.raises(DependencyUnavailable):
        health.agent_health_record(db, clock, silent, agent["id"], child_id)
    assert reads(db) == []


def test_export_and_purge_on_a_fixed_clock(db, clock, passwords, parent, family, child_id):
    health.save_health_record(db, clock, parent["id"], child_id, RECORD)
    agent = agents.ensure_agent(db, clock, passwords, "ecoles", SECRET, ["affaires_scolaires"])
    health.agent_health_record(db, clock, attending("canteen"), agent["id"], child_id)
    with db.unit_of_work(read_only=True) as uow:
        exported = health.export_family(uow, family["id"])
    [record] = exported["health_records"]
    assert record["allergies"] == "Arachide, kiwi" and [r["agent"] for r in record["reads"]] == ["ecoles"]

    clock.advance(days=400)  # the read is past its year; the record is still within its two years
    with db.unit_of_work() as uow:
        assert health.purge_expired(uow, clock.now()) == {"health_records": 0, "health_record_reads": 1}
        uow.commit()
    clock.advance(days=400)
    with db.unit_of_work() as uow:
        assert health.purge_expired(uow, clock.now(), timedelta(days=730)) == \
            {"health_records": 1, "health_record_reads": 0}
        uow.commit()
    assert health.health_record(db, parent["id"], child_id)["updated_at"] is None
    with db.engine.connect() as connection:
        last = connection.execute(select(orm.outbox).where(orm.outbox.c.event_type == "health_flags_changed")
                                  .order_by(orm.outbox.c.position.desc())).first()
    assert last.payload["data"]["has_allergies"] is False  # the canteen and the crèche drop the flag


def test_reading_role_follows_the_services_the_child_attends():
    assert domain_health.reading_role(["petite_enfance", "affaires_scolaires"], {"canteen"}) == "affaires_scolaires"
    with pytest.raises(Forbidden):
        domain_health.reading_role(["petite_enfance"], {"canteen"})
    with pytest.raises(Forbidden):
        domain_health.reading_role([], {"canteen", "childcare"})
