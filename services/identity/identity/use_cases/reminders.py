"""Reminders by e-mail (issue #12): a parent's opt-in, and the scheduled task that sends each reminder once.

The task (`run_reminders`, from identity's timer) runs in one place per slot whatever the number of replicas
(`espace_common.schedule.claim_run`), and each reminder is keyed once by (account, kind, subject) in
`reminders_sent`, written in the transaction of its mail: a second run, a second replica or a run taken over
after a crash writes nothing more. The facts come at run time from their owners (canteen: the children whose
next week is not reserved; billing: the invoices falling due), and the account's choice is read again in the
transaction of the mail: a family that reserved, paid or opted out meanwhile gets nothing.

`canteen` and `billing` are plain objects (identity.reminder_sources over RPC in the service, fakes in tests):
  canteen.reminder_week(week) -> {"week", "first_deadline" (ISO instant or None)}
  canteen.children_to_remind(week, usual_weeks, usual_min_weeks) -> {"week", "children": [{family_id, child_id,
      first_name, days, deadline}]}
  billing.invoices_falling_due(first_day, last_day) -> [{invoice_id, family_id, regie, number, period,
      due_date, balance_cents}]
"""
import logging

from espace_common.errors import NotFound
from espace_common.schedule import claim_run, due_slot_open, finish_run

from .. import domain_reminders as rules
from .. import orm, reminder_store, store

log = logging.getLogger(__name__)


class SourceUnavailable(Exception):
    """Canteen or billing did not answer: the slot stays open and the next timer tries again."""


# --- A parent's choice ------------------------------------------------------------------------------------------

def preferences(db, account_id):
    """The account's reminder choices (off until chosen), with the address they go to."""
    with db.unit_of_work(read_only=True) as uow:
        account = store.account_by_id(uow, account_id)
        if account is None:
            raise NotFound("account_not_found", "Ce compte n'existe pas.")
        return _preferences(account, reminder_store.preferences_of(uow, account_id))


def set_preferences(db, clock, account_id, canteen_deadline, invoice_due):
    """Opt in or out of each kind; answers the saved choices. Repeating it changes nothing but changed_at."""
    chosen = rules.parse_preferences(canteen_deadline, invoice_due)
    now = clock.now()
    with db.unit_of_work() as uow:
        account = store.account_by_id(uow, account_id)
        if account is None:
            raise NotFound("account_not_found", "Ce compte n'existe pas.")
        reminder_store.save_preferences(uow, account_id, chosen[rules.CANTEEN_DEADLINE], chosen[rules.INVOICE_DUE],
                                        now)
        saved = _preferences(account, reminder_store.preferences_of(uow, account_id))
        uow.commit()
    return saved


def _preferences(account, row):
    return {"canteen_deadline": bool(row and row.canteen_deadline), "invoice_due": bool(row and row.invoice_due),
            "changed_at": row.changed_at.isoformat() if row else None,
            "email": account.email, "email_confirmed": bool(account.email_confirmed)}


# --- The scheduled task -------------------------------------------------------------------------------------------

def run_reminders(db, clock, settings, canteen, billing):
    """What the timer calls: each kind on its own (one source down does not stop the other). Answers what ran."""
    done = {}
    for kind, run in ((rules.CANTEEN_DEADLINE, lambda: run_canteen_reminders(db, clock, settings, canteen)),
                      (rules.INVOICE_DUE, lambda: run_invoice_reminders(db, clock, settings, billing))):
        try:
            done[kind] = run()
        except SourceUnavailable as exc:
            log.warning("reminders %s: %s; the next run will try again", kind, exc)
            done[kind] = {"error": str(exc)}
    return done


def run_canteen_reminders(db, clock, settings, canteen):
    """«La semaine prochaine n'est pas réservée»: once a day within the window before next week's first deadline
    still ahead, to each opted-in account of a family with a child who usually eats and has nothing reserved."""
    now = clock.now()
    if not rules.may_send_now(now, settings):
        return None
    today = rules.local_today(now, settings)
    week = rules.next_week(today)
    slot = rules.canteen_slot(week, today)
    if not _slot_open(db, rules.CANTEEN_TASK, slot):
        return None
    answer = canteen.reminder_week(week.isoformat())
    if not rules.canteen_window_open(now, answer.get("first_deadline"), settings):
        return None
    if not _claim(db, clock, rules.CANTEEN_TASK, slot):
        return None
    found = canteen.children_to_remind(week.isoformat(), settings.usual_weeks, settings.usual_min_weeks)
    children_by_family = {}
    for child in found["children"]:
        children_by_family.setdefault(child["family_id"], []).append(child)
    sent = _send_each(db, clock, rules.CANTEEN_DEADLINE, children_by_family, lambda family_id, account: (
        week.isoformat(), ", ".join(c["first_name"] for c in children_by_family[family_id]),
        rules.canteen_mail(account.first_name, week, children_by_family[family_id], settings)))
    outcome = {"week": week.isoformat(), "families": len(children_by_family), "sent": sent}
    _finish(db, clock, rules.CANTEEN_TASK, slot, outcome)
    return outcome


def run_invoice_reminders(db, clock, settings, billing):
    """Once a day: each issued, unpaid invoice falling due within the setting's days, to each opted-in account of
    its family, once per invoice."""
    now = clock.now()
    if not rules.may_send_now(now, settings):
        return None
    today = rules.local_today(now, settings)
    slot = today.isoformat()
    if not _slot_open(db, rules.INVOICE_TASK, slot) or not _claim(db, clock, rules.INVOICE_TASK, slot):
        return None
    first, last = rules.invoice_window(today, settings)
    invoices = billing.invoices_falling_due(first.isoformat(), last.isoformat())
    sent = 0
    for invoice in invoices:
        label = rules.REGIE_LABELS.get(invoice["regie"], invoice["regie"])
        sent += _send_each(db, clock, rules.INVOICE_DUE, {invoice["family_id"]: [invoice]}, lambda _f, account: (
            invoice["invoice_id"], rules.invoice_detail(invoice),
            rules.invoice_mail(account.first_name, invoice, label, settings)))
    outcome = {"from": first.isoformat(), "to": last.isoformat(), "invoices": len(invoices), "sent": sent}
    _finish(db, clock, rules.INVOICE_TASK, slot, outcome)
    return outcome


def _send_each(db, clock, kind, by_family, compose):
    """To each account of these families that asked for `kind`: the reminder row and its mail in one transaction,
    once; the choice and the address are read again inside it."""
    with db.unit_of_work(read_only=True) as uow:
        accounts = reminder_store.opted_in_accounts(uow, sorted(by_family), kind)
    sent = 0
    for account in accounts:
        subject, detail, (mail_subject, body) = compose(account.family_id, account)
        with db.unit_of_work() as uow:
            recipient = reminder_store.still_wanted(uow, account.id, kind)
            if recipient and reminder_store.record_sent(uow, account.id, account.family_id, kind, subject, recipient,
                                                        detail, clock.now()):
                uow.send_mail(recipient, mail_subject, body)
                uow.commit()
                sent += 1
    return sent


def _slot_open(db, task, slot):
    with db.unit_of_work(read_only=True) as uow:
        return due_slot_open(uow, orm.scheduled_runs, task, slot)


def _claim(db, clock, task, slot):
    with db.unit_of_work() as uow:
        claimed = claim_run(uow, orm.scheduled_runs, task, slot, clock.now())
        uow.commit()
    return claimed


def _finish(db, clock, task, slot, outcome):
    with db.unit_of_work() as uow:
        finish_run(uow, orm.scheduled_runs, task, slot, clock.now(), outcome)
        uow.commit()


# --- What the agents and the family's export see --------------------------------------------------------------------

def family_reminders(uow, family_id, limit=None):
    """Each account's choices and the reminders sent to the family, newest first (the agents' family file)."""
    accounts = [{"account_id": r.id, "representative_id": r.representative_id, "username": r.username,
                 "first_name": r.first_name, "last_name": r.last_name, "email": r.email,
                 "email_confirmed": bool(r.email_confirmed), "canteen_deadline": bool(r.canteen_deadline),
                 "invoice_due": bool(r.invoice_due), "changed_at": r.changed_at.isoformat() if r.changed_at else None}
                for r in reminder_store.family_accounts(uow, family_id)]
    sent = [{"account_id": r.account_id, "kind": r.kind, "label": rules.KINDS.get(r.kind, r.kind),
             "subject": r.subject, "recipient": r.recipient, "detail": r.detail, "sent_at": r.sent_at.isoformat()}
            for r in reminder_store.sent_to_family(uow, family_id, limit)]
    return {"accounts": accounts, "sent": sent, "kinds": rules.KINDS}


def export_family(uow, family_id):
    """For the family's GDPR export: the reminder choices of its accounts and every reminder sent to them."""
    found = family_reminders(uow, family_id)
    return {"preferences": [{k: a[k] for k in ("account_id", "username", "canteen_deadline", "invoice_due",
                                               "changed_at")} for a in found["accounts"]],
            "sent": found["sent"]}


def purge_sent_before(uow, before):
    """For the retention purge: forget the reminders sent before `before` (an aware instant); answers how many. The
    choices stay (they are the account's, kept as long as it is)."""
    return reminder_store.delete_sent_before(uow, before)


def erase_family(uow, family_id):
    """For a family's erasure: its accounts' choices and the reminders sent to them; answers how many rows went."""
    return reminder_store.delete_family(uow, family_id)
