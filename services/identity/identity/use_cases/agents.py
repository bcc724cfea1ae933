"""Agents' accounts: the administrator of a local run or a deployment is made or updated here."""
from espace_common.errors import Conflict, InvalidInput

from .. import domain, store


def ensure_agent(db, clock, passwords, username, password, roles):
    """Create the agent or reset its password and roles (used for the administrator at start)."""
    username = domain.check_agent_username(username)
    if not isinstance(password, str) or not password or len(password) > domain.MAX_LENGTH["password"]:
        raise InvalidInput("invalid_agent", "Un agent a un identifiant et un mot de passe.")
    roles = domain.validate_roles(roles)
    password_hash = passwords.hash(password)
    with db.unit_of_work() as uow:
        if store.account_by_username(uow, username):
            raise Conflict("username_taken", "Cet identifiant est déjà celui d'un parent.")
        agent_id = store.save_agent(uow, username, password_hash, roles, clock.now())
        uow.commit()
    return {"id": agent_id, "username": username, "roles": list(roles)}
