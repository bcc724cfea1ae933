"""Agents register, find and read families."""
from dataclasses import asdict

from sqlalchemy.exc import IntegrityError

from espace_common.errors import InvalidInput, NotFound
from espace_common.events import Event
from espace_common.mail import mails_to

from .. import domain, orm, store
from .reminders import family_reminders  # issue #12

FAMILY_NOT_FOUND = ("family_not_found", "Cette famille n'existe pas.")


def register_family(db, clock, payload):
    """Register a family with its representatives and children; idempotent by request_id."""
    command = domain.parse_registration(payload)
    try:
        return _register_family(db, clock, command)
    except IntegrityError:
        if not command.request_id:
            raise
        # The same request registered at the same moment by another worker or replica (two gateways, a retry):
        # its transaction committed first and the unique request_id refused ours. Its family is the answer.
        with db.unit_of_work(read_only=True) as uow:
            existing = store.family_by_request(uow, command.request_id)
        if existing is None:
            raise
        return asdict(existing)


def _register_family(db, clock, command):
    with db.unit_of_work() as uow:
        if command.request_id:
            existing = store.family_by_request(uow, command.request_id)
            if existing:
                return asdict(existing)
        dossier = domain.dossier_number(store.next_counter(uow, "dossier"))
        family = store.add_family(uow, command, dossier, clock.now())
        uow.record(Event("identity", "family_registered", domain.family_registered_data(family)))
        uow.commit()
    return asdict(family)


def get_family(db, family_id, account_id=None):
    """A family; with account_id, only that account's own family (others are NotFound, as if absent)."""
    with db.unit_of_work(read_only=True) as uow:
        family = store.load_family(uow, family_id)
        if family is not None and account_id is not None:
            account = store.account_by_id(uow, account_id)
            if account is None or account.family_id != family_id:
                family = None
    if family is None:
        raise NotFound(*FAMILY_NOT_FOUND)
    return asdict(family)


def find_families(db, query):
    """Agents' search by dossier number, a member's name or e-mail."""
    query = domain.search_query(query)
    with db.unit_of_work(read_only=True) as uow:
        return [_summary(uow, family) for family in store.search_families(uow, query)]


def family_for_agent(db, family_id, with_mails=False):
    """A family with each representative's account and key state, for the agents' pages; with_mails adds the
    family's e-mail addresses (its representatives' and accounts') and the mails identity wrote to them."""
    with db.unit_of_work(read_only=True) as uow:
        family = store.load_family(uow, family_id)
        if family is None:
            raise NotFound(*FAMILY_NOT_FOUND)
        summary = _summary(uow, family)
        if with_mails:
            emails = store.family_emails(uow, family_id)
            summary["emails"] = emails
            summary["mails"] = mails_to(uow, orm.mail_outbox, emails)
            summary["reminders"] = family_reminders(uow, family_id, limit=50)  # issue #12: choices, reminders sent
        return summary


def _summary(uow, family):
    data = asdict(family)
    for rep in data["representatives"]:
        rep["has_account"] = store.account_of_representative(uow, rep["id"]) is not None
        rep["key"] = domain.key_summary(store.current_key(uow, rep["id"]))
    return data


MAX_CONTACT_FAMILIES = 1000


def billing_contacts(db, family_ids):
    """Who an invoice is addressed to, per family: its dossier, its payer and the confirmed e-mails to write to.

    The payer is the family's first representative (the one registered first): identity keeps no other choice
    yet. The e-mails are the confirmed addresses of the family's accounts, the payer's first. Unknown ids are
    left out of the answer."""
    if not isinstance(family_ids, (list, tuple)) or len(family_ids) > MAX_CONTACT_FAMILIES \
            or not all(isinstance(f, str) and len(f) <= 36 for f in family_ids):
        raise InvalidInput("invalid_family_ids", f"Une liste d'au plus {MAX_CONTACT_FAMILIES} identifiants de famille.")
    with db.unit_of_work(read_only=True) as uow:
        return store.billing_contacts(uow, sorted(set(family_ids)))
