"""Agents issue a representative's key and print its letter again while it can be used."""
import base64
import secrets
from dataclasses import asdict

from espace_common.errors import NotFound

from .. import domain, store
from ..letters import LetterVault, render_letter


def issue_key(db, clock, policy, representative_id, agent_id=None, choice=secrets.choice):
    """A new key for a representative (revoking the previous one) and its letter, kept encrypted."""
    now = clock.now()
    with db.unit_of_work(read_only=True) as uow:
        rep = store.representative(uow, representative_id)
        account = store.account_of_representative(uow, representative_id) if rep else None
        domain.check_key_can_be_issued(rep, account)
        family = asdict(store.load_family(uow, rep.family_id))
    rep_data = next(r for r in family["representatives"] if r["id"] == representative_id)
    key = domain.generate_key(choice)
    expires_at = now + policy.key_validity
    # Rendered outside the transaction: a PDF takes time, and a unit of work does no slow work.
    sealed = LetterVault(policy.letter_secret).seal(render_letter(rep_data, key, now, expires_at, policy.public_url))
    with db.unit_of_work() as uow:
        store.revoke_keys_of(uow, representative_id, now)
        store.add_key(uow, representative_id, domain.key_digest(domain.normalise_key(key)), now, expires_at,
                      agent_id, sealed)
        store.audit(uow, "key_issued", now, agent_id=agent_id, detail=f"representative {representative_id}")
        uow.commit()
    return {"key": key, "expires_at": expires_at.isoformat(), "representative_id": representative_id}


def key_letter(db, clock, policy, representative_id):
    """The letter of the current key, while that key can still be used."""
    with db.unit_of_work(read_only=True) as uow:
        key = store.current_key(uow, representative_id)
    letter = LetterVault(policy.letter_secret).open(key.letter) if domain.letter_printable(key, clock.now()) else None
    if letter is None:
        raise NotFound("letter_unavailable", "Aucun courrier à imprimer : la clé a été utilisée, a expiré "
                                             "ou n'a pas été émise. Émettez une nouvelle clé.")
    return {"filename": f"cle-espace-famille-{representative_id[:8]}.pdf",
            "pdf_base64": base64.b64encode(letter).decode("ascii")}


def purge_lapsed_letters(db, clock):
    """Letters of keys that lapsed unused are erased: the plain key must not outlive its use."""
    with db.unit_of_work() as uow:
        purged = store.purge_lapsed_letters(uow, clock.now())
        uow.commit()
    return purged
