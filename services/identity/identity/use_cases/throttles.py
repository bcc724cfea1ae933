"""Counting attempts against throttles, in the database so that every worker and replica sees them."""
from .. import domain, store


def check(db, subjects, now):
    """Throttled when any of the subjects is locked now."""
    with db.unit_of_work(read_only=True) as uow:
        wait = max(domain.retry_after(store.throttle_state(uow, subject), now) for subject in subjects)
    if wait:
        raise domain.throttled(wait)


def count_failures(db, subjects_and_policies, now, account_id=None, client_ip=""):
    """Count one failure for each (subject, policy); a failed login of a known account is audited too."""
    with db.unit_of_work() as uow:
        for subject, policy in subjects_and_policies:
            store.save_throttle(uow, subject, domain.count_attempt(store.throttle_state(uow, subject), policy, now))
        if account_id:
            store.audit(uow, "login_failed", now, account_id=account_id, client_ip=client_ip)
        uow.commit()
