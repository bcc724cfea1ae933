"""Other municipal systems get a client id and secret with scopes."""
import secrets

from .. import domain, store


def create_api_client(db, clock, passwords, name, scopes):
    """A client id and secret for another municipal system; the secret is shown this once."""
    scopes = domain.validate_scopes(scopes)
    name = domain.check_api_client_name(name)
    client_id = f"client-{secrets.token_hex(8)}"
    secret = secrets.token_urlsafe(32)
    secret_hash = passwords.hash(secret)
    with db.unit_of_work() as uow:
        store.add_api_client(uow, client_id, name, secret_hash, scopes, clock.now())
        uow.commit()
    return {"client_id": client_id, "client_secret": secret, "scopes": list(scopes), "name": name}
