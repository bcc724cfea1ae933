"""The document wallet («porte-documents», issue #12): parents upload, agents decide, absences reuse, parents
are reminded before a document expires. See docs/document-wallet.md.

Each function takes the service's database access (`db.unit_of_work`, `db.clock`), the settings
(domain_wallet.WalletSettings), the private file store (espace_common.documents.DocumentStore) and plain
arguments; files are checked by espace_common.documents.inspect exactly as the absences' justifications.
"""
import base64
import logging
import uuid
from dataclasses import asdict
from datetime import timedelta

from espace_common.clock import PARIS
from espace_common.documents import inspect
from espace_common.errors import NotFound
from espace_common.schedule import claim_run, finish_run

from .. import domain_wallet as rules
from .. import orm, store, store_wallet

log = logging.getLogger(__name__)
NOT_FOUND = ("document_not_found", "Ce document n'existe pas.")
REMINDER_TASK = "wallet_expiry_reminders"


def _document(row, today, settings):
    status = rules.status_of(row.status, row.valid_until, today)
    return {"id": row.id, "kind": row.kind, "kind_label": rules.KINDS.get(row.kind, {}).get("label", row.kind),
            "status": status, "status_label": rules.STATUSES[status], "valid_until": row.valid_until.isoformat(),
            "expiring": rules.expiring(status, row.valid_until, today, settings),
            "uploaded_at": row.uploaded_at.isoformat(), "name": row.document_name, "media_type": row.document_type,
            "decided_at": row.decided_at.isoformat() if row.decided_at else None, "reason": row.reason or "",
            "reusable_for_absences": status == "accepted" and rules.KINDS.get(row.kind, {}).get("absences", False)}


def _wallet(rows, today, settings):
    documents = [_document(row, today, settings) for row in rows]
    state = rules.wallet_state(documents, today, settings)
    return {"documents": documents, "state": state, "complete": rules.complete(state)}


def upload(db, settings, files, family_id, uploaded_by, kind, valid_until, document):
    """A parent's document of a kind, valid until a day the kind's rule allows: checked, stored, pending.

    A pending document of the same kind is replaced by the new one (the agents look at the newest only); an
    accepted one stays until the new one is accepted."""
    today = db.clock.today()
    kind, until = rules.parse_upload(kind, valid_until, today)
    checked = inspect(document)
    with db.unit_of_work(read_only=True) as uow:
        if store.load_family(uow, family_id) is None:
            raise NotFound("family_not_found", "Cette famille n'existe pas.")
    path = files.save(checked.content, checked.suffix)
    now, document_id = db.clock.now(), str(uuid.uuid4())
    try:
        with db.unit_of_work() as uow:
            store_wallet.add_document(uow, {
                "id": document_id, "family_id": family_id, "kind": kind, "status": "pending", "valid_until": until,
                "uploaded_at": now, "uploaded_by": str(uploaded_by)[:80], "document_name": checked.name,
                "document_type": checked.media_type, "document_path": path, "reason": ""})
            store_wallet.supersede(uow, family_id, kind, ("pending",), now, document_id)
            uow.commit()
    except Exception:
        files.delete(path)
        raise
    with db.unit_of_work(read_only=True) as uow:
        return _document(store_wallet.document(uow, document_id), today, settings)


def family_documents(db, settings, family_id):
    """The family's current documents (newest first; replaced ones left out), where each required kind stands
    (`state`: accepted, expiring, pending, refused, expired, missing) and whether the wallet is `complete`."""
    with db.unit_of_work(read_only=True) as uow:
        rows = store_wallet.family_documents(uow, family_id)
    return _wallet(rows, db.clock.today(), settings)


def family_wallet_for_agent(db, settings, family_id):
    """The family's wallet for the agents' pages: as the parent sees it, with the family's dossier and names and who
    read each file when."""
    with db.unit_of_work(read_only=True) as uow:
        family = store.load_family(uow, family_id) if isinstance(family_id, str) and len(family_id) <= 36 else None
        if family is None:
            raise NotFound("family_not_found", "Cette famille n'existe pas.")
        family = asdict(family)
        rows = store_wallet.family_documents(uow, family_id)
        read_rows = store_wallet.reads(uow, [r.id for r in rows])
    answer = _wallet(rows, db.clock.today(), settings)
    by_document = {}
    for r in read_rows:
        by_document.setdefault(r.document_id, []).append({"reader": r.reader, "read_at": r.read_at.isoformat()})
    for doc in answer["documents"]:
        doc["reads"] = by_document.get(doc["id"], [])
    answer["family"] = {"id": family["id"], "dossier": family["dossier"],
                        "representatives": [{"first_name": r["first_name"], "last_name": r["last_name"]}
                                            for r in family["representatives"]]}
    return answer


def documents_to_review(db, settings, status="pending"):
    """The town's documents in a status (pending by default, oldest first) with the family's dossier and name."""
    if status not in ("pending", "accepted", "refused"):
        status = "pending"
    today = db.clock.today()
    with db.unit_of_work(read_only=True) as uow:
        rows = store_wallet.documents_with_status(uow, status)
    return [_document(row, today, settings) | {"family_id": row.family_id, "dossier": row.dossier,
                                               "family_name": f"{row.first_name or ''} {row.last_name or ''}".strip()}
            for row in rows]


def decide(db, settings, document_id, decision, reason, agent):
    """An agent accepts or refuses (with a reason) a pending document, once. An accepted document replaces the
    family's older accepted one of its kind; a refusal is mailed to the family with its reason."""
    decision, reason = rules.parse_decision(decision, reason)
    now, today = db.clock.now(), db.clock.today()
    with db.unit_of_work() as uow:
        row = store_wallet.document(uow, document_id)
        if row is None:
            raise NotFound(*NOT_FOUND)
        rules.check_decidable(row.status)
        if not store_wallet.decide(uow, row.id, decision, reason, str(agent or "agent"), now):
            rules.check_decidable("decided")
        if decision == "accepted":
            store_wallet.supersede(uow, row.family_id, row.kind, ("accepted",), now, row.id)
        else:
            subject, body = rules.refusal_mail(row.kind, reason, _link(settings))
            for email in store_wallet.reminder_addresses(uow, row.family_id):
                uow.send_mail(email, subject, body)
        uow.commit()
        return _document(store_wallet.document(uow, row.id), today, settings) | {"family_id": row.family_id}


def _link(settings):
    return f"{settings.public_url}/mon-espace/porte-documents"


def document_file(db, files, document_id, family_id=None, reader=None):
    """A document's file for its family (family_id given; another family's is NotFound) or an agent (None); every
    read is recorded with who read it."""
    with db.unit_of_work(read_only=True) as uow:
        row = store_wallet.document(uow, document_id)
    if row is None or (family_id is not None and row.family_id != family_id):
        raise NotFound(*NOT_FOUND)
    return _read(db, files, row, reader or (f"family:{family_id}" if family_id else "agent"))


def _read(db, files, row, reader):
    try:
        content = files.read(row.document_path)
    except FileNotFoundError:
        raise NotFound(*NOT_FOUND) from None
    with db.unit_of_work() as uow:
        store_wallet.record_read(uow, row.id, str(reader), db.clock.now())
        uow.commit()
    return {"name": row.document_name, "media_type": row.document_type,
            "content_base64": base64.b64encode(content).decode("ascii")}


def justification(db, files, family_id, document_id, reader=None):
    """An accepted, valid document of the family as an absence's justification ({name, content_base64}, what an
    upload gives canteen and childcare); another family's is NotFound, any other document a Conflict."""
    with db.unit_of_work(read_only=True) as uow:
        row = store_wallet.document(uow, document_id)
    if row is None or row.family_id != family_id:
        raise NotFound(*NOT_FOUND)
    rules.check_reusable(row.kind, row.status, row.valid_until, db.clock.today())
    file = _read(db, files, row, f"absence:{reader or 'family:' + family_id}")
    return {"name": file["name"], "content_base64": file["content_base64"]}


def send_expiry_reminders(db, settings):
    """Once a day whatever the number of replicas (the local date is the slot): each accepted, current document
    ending within `reminder_days` gets one mail to each of its family's addresses, keyed once by (document,
    kind of reminder) in the transaction that queues the mails. Answers how many documents were reminded."""
    now, today = db.clock.now(), db.clock.today()
    slot = today.isoformat()
    with db.unit_of_work() as uow:
        claimed = claim_run(uow, orm.scheduled_runs, REMINDER_TASK, slot, now)
        uow.commit()
    if not claimed:
        return None
    with db.unit_of_work(read_only=True) as uow:
        due = [(r.id, r.family_id, r.kind, r.valid_until)
               for r in store_wallet.expiring_documents(uow, today, today + timedelta(days=settings.reminder_days))]
    sent = 0
    for document_id, family_id, kind, valid_until in due:
        with db.unit_of_work() as uow:
            if store_wallet.claim_reminder(uow, document_id, rules.REMINDER_BEFORE_EXPIRY, now):
                subject, body = rules.expiry_reminder_mail(kind, valid_until, _link(settings))
                for email in store_wallet.reminder_addresses(uow, family_id):
                    uow.send_mail(email, subject, body)
                sent += 1
            uow.commit()
    with db.unit_of_work() as uow:
        finish_run(uow, orm.scheduled_runs, REMINDER_TASK, slot, db.clock.now(), {"reminded": sent, "due": len(due)})
        uow.commit()
    log.info("wallet expiry reminders of %s: %d of %d documents", slot, sent, len(due))
    return sent


# --- Hooks for the family's data (GDPR) -------------------------------------------------------------------------

def export_family(uow, family_id):
    """What the wallet holds on a family, for its export: every document's metadata (replaced ones too), who read
    each file and the reminders sent; never the files' bytes nor where they are stored."""
    rows = store_wallet.family_documents(uow, family_id, with_superseded=True)
    read_rows = store_wallet.reads(uow, [r.id for r in rows])
    return {"documents": [{
        "id": r.id, "kind": r.kind, "kind_label": rules.KINDS.get(r.kind, {}).get("label", r.kind),
        "status": r.status, "valid_until": r.valid_until.isoformat(), "uploaded_at": r.uploaded_at.isoformat(),
        "uploaded_by": r.uploaded_by, "file_name": r.document_name, "media_type": r.document_type,
        "decided_at": r.decided_at.isoformat() if r.decided_at else None, "reason": r.reason or "",
        "superseded_at": r.superseded_at.isoformat() if r.superseded_at else None,
        "reads": [{"reader": x.reader, "read_at": x.read_at.isoformat()} for x in read_rows if x.document_id == r.id],
    } for r in rows]}


def purge_expired(uow, now, retention, files=None):
    """Deletes the documents kept longer than `retention` (a timedelta, or WalletSettings) after they stopped
    counting: expired (from valid_until), refused (from the decision), replaced (from the replacement); their reads
    and reminders go with them. Answers {"documents": n, "paths": [...]}: the caller commits, then deletes the
    files (or passes `files` to have them deleted here, once the rows are gone in this transaction)."""
    days = retention.retention_days if isinstance(retention, rules.WalletSettings) else retention.days
    settings = rules.WalletSettings(retention_days=days)
    today = now.astimezone(PARIS).date()
    doomed = [r for r in store_wallet.all_documents(uow)
              if rules.purgeable(r.status, r.valid_until, r.decided_at.astimezone(PARIS).date()
                                 if r.decided_at else None,
                                 r.superseded_at.astimezone(PARIS).date() if r.superseded_at else None,
                                 today, settings)]
    store_wallet.delete_documents(uow, [r.id for r in doomed])
    paths = [r.document_path for r in doomed]
    if files is not None:
        for path in paths:
            files.delete(path)
    return {"documents": len(doomed), "paths": paths}


def purge_expired_documents(db, settings, files):
    """The whole purge as a use case: rows deleted and committed, then the files."""
    with db.unit_of_work() as uow:
        answer = purge_expired(uow, db.clock.now(), settings)
        uow.commit()
    for path in answer["paths"]:
        files.delete(path)
    return {"documents": answer["documents"]}

