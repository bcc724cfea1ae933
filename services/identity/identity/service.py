"""The identity service's entrypoints: thin wrappers around the domain and the store."""
from dataclasses import asdict

from espace_common.errors import InvalidInput, NotFound, Unauthenticated
from espace_common.events import Event
from espace_common.nameko_support import Database, HealthMixin, rpc

from . import domain, passwords, store
from .orm import metadata


class IdentityService(HealthMixin):
    name = "identity"

    db = Database(metadata)

    @rpc
    def register_family(self, payload):
        """Register a family with its representatives and children; idempotent by request_id."""
        command = domain.parse_registration(payload)
        with self.db.unit_of_work() as uow:
            if command.request_id:
                existing = store.family_by_request(uow, command.request_id)
                if existing:
                    return asdict(existing)
            dossier = domain.dossier_number(store.next_counter(uow, "dossier"))
            family = store.add_family(uow, command, dossier, self.db.clock.now())
            uow.record(Event("identity", "family_registered", {
                "family_id": family.id, "dossier": family.dossier,
                "representatives": [{"id": r["id"], "first_name": r["first_name"], "last_name": r["last_name"]}
                                    for r in family.representatives],
                "children": family.children,
            }))
            uow.commit()
        return asdict(family)

    @rpc
    def get_family(self, family_id):
        with self.db.unit_of_work(read_only=True) as uow:
            family = store.load_family(uow, family_id)
        if family is None:
            raise NotFound("family_not_found", "Cette famille n'existe pas.")
        return asdict(family)

    @rpc
    def ensure_agent(self, username, password, roles):
        """Create the agent or reset its password and roles (used for the administrator at start)."""
        username = (username or "").strip()
        if not username or not password:
            raise InvalidInput("invalid_agent", "Un agent a un identifiant et un mot de passe.")
        roles = domain.validate_roles(roles)
        password_hash = passwords.hash_password(password)
        with self.db.unit_of_work() as uow:
            agent_id = store.save_agent(uow, username, password_hash, roles, self.db.clock.now())
            uow.commit()
        return {"id": agent_id, "username": username, "roles": list(roles)}

    @rpc
    def authenticate_agent(self, username, password):
        with self.db.unit_of_work(read_only=True) as uow:
            agent = store.agent_by_username(uow, username or "")
        if agent is None or not agent.active:
            passwords.burn_verification(password or "")
            raise Unauthenticated("bad_credentials", "Identifiant ou mot de passe incorrect.")
        matches, needs_rehash = passwords.verify_password(agent.password_hash, password or "")
        if not matches:
            raise Unauthenticated("bad_credentials", "Identifiant ou mot de passe incorrect.")
        if needs_rehash:
            new_hash = passwords.hash_password(password)
            with self.db.unit_of_work() as uow:
                store.set_agent_hash(uow, agent.id, new_hash)
                uow.commit()
        return {"id": agent.id, "username": agent.username, "roles": list(agent.roles)}
