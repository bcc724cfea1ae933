"""The family's data in its hands (GDPR, issue #12): everything identity holds on a family, as JSON values.

`family_export` builds its answer from SECTIONS, a list of functions `section(uow, family_id) -> (key, value)`;
another feature of identity adds its data (reminder preferences, health records, documents, messages) by appending
its `export_family(uow, family_id)` (answering a dict of sections) to EXTRA_SECTIONS. Nothing secret leaves:
no password hash, no token or key digest, no key letter.
"""
from dataclasses import asdict

from espace_common.errors import NotFound
from espace_common.mail import mails_to
from espace_common.purge import iso

from .. import domain, orm, personal_data_store as pds, store
from ..domain_gdpr import LABELS, journal_entry_summary

FAMILY_NOT_FOUND = ("family_not_found", "Cette famille n'existe pas.")


def _accounts(uow, family_id):
    return [{"id": a.id, "representative_id": a.representative_id, "username": a.username, "email": a.email,
             "email_confirmed": a.email_confirmed, "created_at": iso(a.created_at)}
            for a in pds.accounts_of_family(uow, family_id)]


def _account_ids(uow, family_id):
    return [a.id for a in pds.accounts_of_family(uow, family_id)]


def section_family(uow, family_id):
    family = store.load_family(uow, family_id)
    return "family", {"id": family.id, "dossier": family.dossier}


def section_representatives(uow, family_id):
    return "representatives", asdict(store.load_family(uow, family_id))["representatives"]


def section_children(uow, family_id):
    return "children", asdict(store.load_family(uow, family_id))["children"]


def section_accounts(uow, family_id):
    return "accounts", _accounts(uow, family_id)


def section_keys(uow, family_id):
    return "activation_keys", [{"representative_id": k.representative_id, "issued_at": iso(k.issued_at),
                                "expires_at": iso(k.expires_at), "used_at": iso(k.used_at),
                                "revoked_at": iso(k.revoked_at)} for k in pds.keys_of_family(uow, family_id)]


def section_events(uow, family_id):
    """Contact changes, logins and their failures, password changes: the accounts' audit."""
    return "account_events", [{"account_id": e.account_id, "at": iso(e.at), "kind": e.kind,
                               "label": domain.AUDIT_LABELS.get(e.kind, e.kind), "client_ip": e.client_ip,
                               "detail": e.detail} for e in pds.audit_of_accounts(uow, _account_ids(uow, family_id))]


def section_sessions(uow, family_id):
    return "sessions", [{"account_id": s.subject_id, "kind": s.kind, "created_at": iso(s.created_at),
                         "last_seen_at": iso(s.last_seen_at), "revoked_at": iso(s.revoked_at),
                         "client_ip": s.client_ip} for s in pds.sessions_of_accounts(uow, _account_ids(uow, family_id))]


def section_links(uow, family_id):
    return "mailed_links", [{"account_id": link.account_id, "purpose": link.purpose, "email": link.email,
                             "created_at": iso(link.created_at), "expires_at": iso(link.expires_at),
                             "used_at": iso(link.used_at)}
                            for link in pds.links_of_accounts(uow, _account_ids(uow, family_id))]


def section_mails(uow, family_id):
    """The mails identity wrote to the family's addresses: to whom, subject, when (never the body: it may carry a
    link that still works)."""
    return "mails", mails_to(uow, orm.mail_outbox, store.family_emails(uow, family_id), limit=1000)


def section_journal(uow, family_id):
    return "agent_journal", [journal_entry_summary({"at": iso(r.at), "action": r.action, "method": r.method,
                                                    "path": r.path}) for r in pds.journal_of_family(uow, family_id)]


SECTIONS = [section_family, section_representatives, section_children, section_accounts, section_keys,
            section_events, section_sessions, section_links, section_mails, section_journal]

# Other features' `export_family(uow, family_id) -> {key: value}` (reminders, health, wallet, messages), at merge.
def _extra_sections():
    """The other #12 features' own data of the family: reminders, health records, the wallet, messages."""
    from . import health, messages, reminders, wallet
    return [reminders.export_family, health.export_family, wallet.export_family, messages.export_family]


EXTRA_SECTIONS = _extra_sections()


def _as_sections(function, value):
    """A feature's answer as sections: a dict of them, one (key, value) pair, or a plain list named by its module."""
    if isinstance(value, dict):
        return value
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str):
        return dict([value])
    return {getattr(function, "__module__", "extra").rsplit(".", 1)[-1]: value}


def family_export(db, family_id):
    """Everything identity holds on the family: {family, representatives, children, accounts, ...}."""
    with db.unit_of_work(read_only=True) as uow:
        if not isinstance(family_id, str) or len(family_id) > 36 or store.load_family(uow, family_id) is None:
            raise NotFound(*FAMILY_NOT_FOUND)
        answer = dict(section(uow, family_id) for section in SECTIONS)
        for extra in EXTRA_SECTIONS:
            answer.update(_as_sections(extra, extra(uow, family_id)))
    answer["labels"] = LABELS
    return answer
