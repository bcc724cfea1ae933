"""The identity service's entrypoints: thin wrappers around the domain and the store."""
import base64
import secrets
from dataclasses import asdict

from nameko.dependency_providers import Config
from nameko.timer import timer

from espace_common.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated
from espace_common.events import Event
from espace_common.nameko_support import Database, HealthMixin, rpc

from . import domain, mails, store
from .letters import LetterVault, render_letter
from .orm import metadata
from .passwords import Passwords
from .policy import Policy
from .use_cases import sessions

BAD_CREDENTIALS = ("bad_credentials", "Identifiant ou mot de passe incorrect.")


def new_secret_token():
    return secrets.token_urlsafe(32)


class IdentityService(HealthMixin):
    name = "identity"

    db = Database(metadata)
    config = Config()

    @property
    def policy(self):
        return Policy.from_config(self.config)

    @property
    def passwords(self):
        return Passwords(self.config.get("PASSWORD_TIME_COST", 3), self.config.get("PASSWORD_MEMORY_KIB", 65536))

    # --- Families (agents) ------------------------------------------------------

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
    def get_family(self, family_id, account_id=None):
        """A family; with account_id, only that account's own family (others are NotFound)."""
        with self.db.unit_of_work(read_only=True) as uow:
            family = store.load_family(uow, family_id)
            if family is not None and account_id is not None:
                account = store.account_by_id(uow, account_id)
                if account is None or account.family_id != family_id:
                    family = None
        if family is None:
            raise NotFound("family_not_found", "Cette famille n'existe pas.")
        return asdict(family)

    @rpc
    def find_families(self, query):
        """Agents' search by dossier number, a member's name or e-mail."""
        query = (query or "").strip()
        if len(query) < 2:
            raise InvalidInput("query_too_short", "Saisissez au moins deux caractères.")
        with self.db.unit_of_work(read_only=True) as uow:
            return [self._family_summary(uow, family) for family in store.search_families(uow, query)]

    def _family_summary(self, uow, family):
        data = asdict(family)
        for rep in data["representatives"]:
            account = store.account_of_representative(uow, rep["id"])
            key = store.current_key(uow, rep["id"])
            rep["has_account"] = account is not None
            rep["key"] = None if key is None else {
                "issued_at": key.issued_at.isoformat(), "expires_at": key.expires_at.isoformat(),
                "used": key.used_at is not None, "letter_available": key.letter is not None,
            }
        return data

    @rpc
    def family_for_agent(self, family_id):
        """A family with each representative's account and key state, for the agents' pages."""
        with self.db.unit_of_work(read_only=True) as uow:
            family = store.load_family(uow, family_id)
            if family is None:
                raise NotFound("family_not_found", "Cette famille n'existe pas.")
            return self._family_summary(uow, family)

    # --- Keys ---------------------------------------------------------------------

    @rpc
    def issue_key(self, representative_id, agent_id=None):
        """A new key for a representative (revoking the previous one) and its letter, kept encrypted."""
        policy = self.policy
        now = self.db.clock.now()
        with self.db.unit_of_work(read_only=True) as uow:
            rep = store.representative(uow, representative_id)
            if rep is None:
                raise NotFound("representative_not_found", "Ce représentant légal n'existe pas.")
            if store.account_of_representative(uow, representative_id):
                raise Conflict("account_exists", "Ce représentant a déjà créé son espace : il n'a plus besoin de clé.")
            family = asdict(store.load_family(uow, rep.family_id))
        rep_data = next(r for r in family["representatives"] if r["id"] == representative_id)
        key = domain.generate_key(secrets.choice)
        expires_at = now + policy.key_validity
        letter = render_letter(rep_data, key, now, expires_at, policy.public_url)
        sealed = LetterVault(policy.letter_secret).seal(letter)
        with self.db.unit_of_work() as uow:
            store.revoke_keys_of(uow, representative_id, now)
            store.add_key(uow, representative_id, domain.key_digest(domain.normalise_key(key)), now, expires_at,
                          agent_id, sealed)
            store.audit(uow, "key_issued", now, agent_id=agent_id, detail=f"representative {representative_id}")
            uow.commit()
        return {"key": key, "expires_at": expires_at.isoformat(), "representative_id": representative_id}

    @rpc
    def key_letter(self, representative_id):
        """The letter of the current key, while that key can still be used."""
        now = self.db.clock.now()
        with self.db.unit_of_work(read_only=True) as uow:
            key = store.current_key(uow, representative_id)
        letter = None
        if key is not None and key.letter is not None and domain.key_refusal(key, now) is None:
            letter = LetterVault(self.policy.letter_secret).open(key.letter)
        if letter is None:
            raise NotFound("letter_unavailable", "Aucun courrier à imprimer : la clé a été utilisée, a expiré "
                                                 "ou n'a pas été émise. Émettez une nouvelle clé.")
        return {"filename": f"cle-espace-famille-{representative_id[:8]}.pdf",
                "pdf_base64": base64.b64encode(letter).decode("ascii")}

    @timer(interval=3600)
    def purge_lapsed_letters(self):
        with self.db.unit_of_work() as uow:
            store.purge_lapsed_letters(uow, self.db.clock.now())
            uow.commit()

    # --- Accounts ------------------------------------------------------------------

    @rpc
    def create_account(self, key, username, email, password, client_ip=""):
        """Create a parent's account with the mailed key; the key is consumed in the same transaction."""
        policy = self.policy
        now = self.db.clock.now()
        username = domain.check_username(username)
        email = domain.check_email(email)
        domain.check_password(password, username)
        self._check_throttle([f"key-ip:{client_ip}"], now)
        normalised = domain.normalise_key(key)
        with self.db.unit_of_work(read_only=True) as uow:
            key_row = store.key_by_digest(uow, domain.key_digest(normalised)) if normalised else None
        if key_row is None:
            self._fail_throttle([(f"key-ip:{client_ip}", policy.key_throttle)], now)
            raise InvalidInput("invalid_key", "Cette clé n'est pas reconnue. Vérifiez-la sur le courrier reçu "
                                              "(16 caractères, par groupes de 4).")
        refusal = domain.key_refusal(key_row, now)
        if refusal:
            raise refusal
        password_hash = self.passwords.hash(password)
        token = new_secret_token()
        with self.db.unit_of_work() as uow:
            if store.username_taken(uow, username):
                raise Conflict("username_taken", "Cet identifiant est déjà pris : choisissez-en un autre.")
            if not store.consume_key(uow, key_row.id, now):
                raise Conflict("key_used", "Cette clé a déjà servi à créer un espace. Connectez-vous avec votre identifiant.")
            rep = store.representative(uow, key_row.representative_id)
            account_id = store.add_account(uow, rep, username, email, password_hash, now)
            store.add_link_token(uow, domain.token_digest(token), "confirm_email", account_id, now,
                                 now + policy.email_link, email)
            store.audit(uow, "account_created", now, account_id=account_id, client_ip=client_ip)
            uow.send_mail(email, *mails.confirm_new_account(rep.first_name, username, policy.link("confirmer-email", token)))
            uow.commit()
        return self.me(account_id)

    @rpc
    def me(self, account_id):
        """The account and its family, as the parent sees them."""
        with self.db.unit_of_work(read_only=True) as uow:
            account = store.account_by_id(uow, account_id)
            if account is None:
                raise NotFound("account_not_found", "Ce compte n'existe pas.")
            family = asdict(store.load_family(uow, account.family_id))
            pending = store.pending_email(uow, account, self.db.clock.now())
        return {"account": {"id": account.id, "username": account.username, "email": account.email,
                            "email_confirmed": account.email_confirmed, "representative_id": account.representative_id,
                            "pending_email": pending},
                "family": family}

    @rpc
    def confirm_email(self, token):
        """Follow the link of a confirmation mail: the address becomes the account's, confirmed."""
        now = self.db.clock.now()
        digest = domain.token_digest(token or "")
        with self.db.unit_of_work() as uow:
            link = store.link_token(uow, digest, "confirm_email")
            if link is None:
                raise NotFound("link_invalid", "Ce lien n'est pas valide.")
            if link.used_at is not None or link.expires_at <= now or not store.use_link_token(uow, digest, now):
                raise Conflict("link_expired", "Ce lien a déjà servi ou a expiré.")
            account = store.account_by_id(uow, link.account_id)
            store.set_account_email(uow, account, link.email, confirmed=True)
            store.audit(uow, "email_confirmed", now, account_id=account.id)
            uow.commit()
        return {"email": link.email}

    # --- Logging in, sessions and tokens ---------------------------------------------

    @rpc
    def login(self, username, password, client_ip="", kind="web"):
        """Parents and agents; answers the same, in the same time, whether the identifier exists or not."""
        if kind not in ("web", "api"):
            raise InvalidInput("invalid_kind", "Type de session inconnu.")
        policy = self.policy
        now = self.db.clock.now()
        subjects = [f"login:{domain.fold(username or '')}", f"ip:{client_ip}"]
        self._check_throttle(subjects, now)
        with self.db.unit_of_work(read_only=True) as uow:
            account = store.account_by_username(uow, username or "")
            agent = None if account else store.agent_by_username(uow, username or "")
        subject = account or (agent if agent is not None and agent.active else None)
        if subject is None:
            self.passwords.burn(password or "")
            matches, needs_rehash = False, False
        else:
            matches, needs_rehash = self.passwords.verify(subject.password_hash, password or "")
        if not matches:
            self._fail_throttle([(subjects[0], policy.login_throttle), (subjects[1], policy.ip_throttle)], now,
                                account_id=account.id if account else None, client_ip=client_ip)
            raise Unauthenticated(*BAD_CREDENTIALS)
        subject_kind = "parent" if account else "agent"
        token = new_secret_token()
        with self.db.unit_of_work() as uow:
            if needs_rehash:
                rehashed = self.passwords.hash(password)
                (store.set_account_password if account else store.set_agent_hash)(uow, subject.id, rehashed)
            store.clear_throttle(uow, subjects[0])
            store.add_auth_token(uow, domain.token_digest(token), kind, subject_kind, subject.id, now, client_ip)
            store.audit(uow, "login_ok", now, account_id=account.id if account else None,
                        agent_id=None if account else subject.id, client_ip=client_ip)
            uow.commit()
        token_policy = policy.token_policy(kind)
        return {"token": token, "token_type": "Bearer", "expires_in": int(token_policy.absolute.total_seconds()),
                "principal": self._principal(subject_kind, subject, kind)}

    @rpc
    def client_login(self, client_id, client_secret, client_ip=""):
        """Client credentials of another municipal system; the token carries its scopes."""
        policy = self.policy
        now = self.db.clock.now()
        subjects = [f"client:{client_id}", f"ip:{client_ip}"]
        self._check_throttle(subjects, now)
        with self.db.unit_of_work(read_only=True) as uow:
            client = store.api_client(uow, client_id or "")
        if client is None or not client.active:
            self.passwords.burn(client_secret or "")
            matches = False
        else:
            matches, _ = self.passwords.verify(client.secret_hash, client_secret or "")
        if not matches:
            self._fail_throttle([(subjects[0], policy.login_throttle), (subjects[1], policy.ip_throttle)], now)
            raise Unauthenticated("invalid_client", "Identifiants du client API incorrects.")
        token = new_secret_token()
        with self.db.unit_of_work() as uow:
            store.add_auth_token(uow, domain.token_digest(token), "api", "client", client.client_id, now, client_ip)
            uow.commit()
        return {"token": token, "token_type": "Bearer",
                "expires_in": int(policy.token_policy("api").absolute.total_seconds()),
                "principal": self._principal("client", client, "api")}

    @rpc
    def resolve_token(self, token):
        """Who holds this session or bearer token, and until when at most; Unauthenticated once it
        expired or was revoked."""
        return sessions.resolve_token(self.db.unit_of_work, self.db.clock, self.policy, token)

    @rpc
    def logout(self, token):
        """True when the token was live: the gateways are told (credentials_revoked)."""
        return sessions.logout(self.db.unit_of_work, self.db.clock, token)

    def _principal(self, subject_kind, subject, token_kind):
        return sessions.principal_of(subject_kind, subject, token_kind)

    def _check_throttle(self, subjects, now):
        with self.db.unit_of_work(read_only=True) as uow:
            wait = max(domain.retry_after(store.throttle_state(uow, s), now) for s in subjects)
        if wait:
            raise domain.throttled(wait)

    def _fail_throttle(self, subjects_and_policies, now, account_id=None, client_ip=""):
        with self.db.unit_of_work() as uow:
            for subject, policy in subjects_and_policies:
                store.save_throttle(uow, subject, domain.after_failure(store.throttle_state(uow, subject), policy, now))
            if account_id:
                store.audit(uow, "login_failed", now, account_id=account_id, client_ip=client_ip)
            uow.commit()

    # --- Passwords ----------------------------------------------------------------------

    @rpc
    def change_password(self, account_id, current_password, new_password, client_ip="", keep_token=None):
        """Needs the current password; ends every other session of the account."""
        now = self.db.clock.now()
        with self.db.unit_of_work(read_only=True) as uow:
            account = store.account_by_id(uow, account_id)
        if account is None:
            raise NotFound("account_not_found", "Ce compte n'existe pas.")
        matches, _ = self.passwords.verify(account.password_hash, current_password or "")
        if not matches:
            raise Forbidden("wrong_password", "Le mot de passe actuel est incorrect.")
        domain.check_password(new_password, account.username)
        new_hash = self.passwords.hash(new_password)
        with self.db.unit_of_work() as uow:
            store.set_account_password(uow, account.id, new_hash)
            store.revoke_tokens_of(uow, "parent", account.id, now,
                                   except_digest=domain.token_digest(keep_token) if keep_token else None)
            store.audit(uow, "password_changed", now, account_id=account.id, client_ip=client_ip)
            uow.send_mail(account.email, *mails.password_changed(account.username))
            uow.commit()

    @rpc
    def request_password_reset(self, login, client_ip=""):
        """By identifier or e-mail; answers the same whether anything matched or not."""
        policy = self.policy
        now = self.db.clock.now()
        login = (login or "").strip()
        self._check_throttle([f"reset-ip:{client_ip}"], now)
        with self.db.unit_of_work() as uow:
            found = [store.account_by_username(uow, login)] if "@" not in login else store.accounts_by_email(uow, login)
            found = [a for a in found if a is not None]
            if not found and "@" in login:
                found = [a for a in [store.account_by_username(uow, login)] if a is not None]
            for account in found:
                token = new_secret_token()
                store.retire_link_tokens(uow, account.id, "reset_password", now)
                store.add_link_token(uow, domain.token_digest(token), "reset_password", account.id, now,
                                     now + policy.reset_link)
                store.audit(uow, "reset_requested", now, account_id=account.id, client_ip=client_ip)
                uow.send_mail(account.email, *mails.password_reset(
                    account.username, policy.link("mot-de-passe-oublie", token), policy.reset_link))
            # Counted whether or not it matched, so that the answer reveals nothing.
            subject = f"reset-ip:{client_ip}"
            store.save_throttle(uow, subject, domain.after_failure(store.throttle_state(uow, subject),
                                                                   policy.reset_throttle, now))
            uow.commit()

    @rpc
    def check_reset_token(self, token):
        """Whether a reset link can still be used (the page asks before showing its form)."""
        self._usable_reset_link(token, self.db.clock.now())
        return {"valid": True}

    def _usable_reset_link(self, token, now):
        with self.db.unit_of_work(read_only=True) as uow:
            link = store.link_token(uow, domain.token_digest(token or ""), "reset_password")
        if link is None:
            raise NotFound("link_invalid", "Ce lien de réinitialisation n'est pas valide.")
        if link.used_at is not None or link.expires_at <= now:
            raise Conflict("link_expired", "Ce lien a déjà servi ou a expiré : demandez-en un nouveau.")
        return link

    @rpc
    def confirm_password_reset(self, token, password, client_ip=""):
        """Set the new password from a reset link, once, and end every session of the account."""
        now = self.db.clock.now()
        link = self._usable_reset_link(token, now)
        with self.db.unit_of_work(read_only=True) as uow:
            account = store.account_by_id(uow, link.account_id)
        domain.check_password(password, account.username)
        new_hash = self.passwords.hash(password)
        with self.db.unit_of_work() as uow:
            if not store.use_link_token(uow, link.digest, now):
                raise Conflict("link_expired", "Ce lien a déjà servi ou a expiré : demandez-en un nouveau.")
            store.set_account_password(uow, account.id, new_hash)
            store.revoke_tokens_of(uow, "parent", account.id, now)
            store.clear_throttle(uow, f"login:{domain.fold(account.username)}")
            store.audit(uow, "reset_used", now, account_id=account.id, client_ip=client_ip)
            uow.commit()

    # --- Contact details and audit ----------------------------------------------------------

    @rpc
    def change_contact(self, account_id, changes, client_ip=""):
        """Phone and address change at once; a new e-mail waits for the link sent to it."""
        policy = self.policy
        now = self.db.clock.now()
        values, new_email = domain.parse_contact_changes(changes)
        with self.db.unit_of_work() as uow:
            account = store.account_by_id(uow, account_id)
            if account is None:
                raise NotFound("account_not_found", "Ce compte n'existe pas.")
            store.update_representative_contact(uow, account.representative_id, values)
            if new_email and new_email.casefold() != account.email.casefold():
                token = new_secret_token()
                store.retire_link_tokens(uow, account.id, "confirm_email", now)
                store.add_link_token(uow, domain.token_digest(token), "confirm_email", account.id, now,
                                     now + policy.email_link, new_email)
                uow.send_mail(new_email, *mails.confirm_new_email(account.username, policy.link("confirmer-email", token)))
                uow.send_mail(account.email, *mails.email_change_notice(account.username, new_email))
            elif new_email and not account.email_confirmed:
                # The same, still unconfirmed address: send a fresh link (the first one may have lapsed).
                token = new_secret_token()
                store.retire_link_tokens(uow, account.id, "confirm_email", now)
                store.add_link_token(uow, domain.token_digest(token), "confirm_email", account.id, now,
                                     now + policy.email_link, account.email)
                uow.send_mail(account.email, *mails.confirm_new_email(account.username, policy.link("confirmer-email", token)))
            changed = sorted(values) + (["email"] if new_email else [])
            if changed:
                store.audit(uow, "contact_changed", now, account_id=account.id, client_ip=client_ip,
                            detail=", ".join(changed))
            uow.commit()
        result = self.me(account_id)
        result["pending_email"] = result["account"]["pending_email"]
        return result

    @rpc
    def recent_events(self, account_id, limit=20):
        with self.db.unit_of_work(read_only=True) as uow:
            rows = store.recent_audit(uow, account_id, min(int(limit), 100))
        return [{"kind": r.kind, "label": domain.AUDIT_LABELS.get(r.kind, r.kind), "at": r.at.isoformat(),
                 "client_ip": r.client_ip} for r in rows]

    # --- Agents and API clients ---------------------------------------------------------------

    @rpc
    def ensure_agent(self, username, password, roles):
        """Create the agent or reset its password and roles (used for the administrator at start)."""
        username = (username or "").strip()
        if not username or not password:
            raise InvalidInput("invalid_agent", "Un agent a un identifiant et un mot de passe.")
        roles = domain.validate_roles(roles)
        password_hash = self.passwords.hash(password)
        with self.db.unit_of_work() as uow:
            taken = store.account_by_username(uow, username)
            if taken:
                raise Conflict("username_taken", "Cet identifiant est déjà celui d'un parent.")
            agent_id = store.save_agent(uow, username, password_hash, roles, self.db.clock.now())
            uow.commit()
        return {"id": agent_id, "username": username, "roles": list(roles)}

    @rpc
    def create_api_client(self, name, scopes):
        """A client id and secret for another municipal system; the secret is shown this once."""
        scopes = domain.validate_scopes(scopes)
        name = (name or "").strip()
        if not name:
            raise InvalidInput("invalid_name", "Le client API a un nom.")
        client_id = f"client-{secrets.token_hex(8)}"
        secret = secrets.token_urlsafe(32)
        secret_hash = self.passwords.hash(secret)
        with self.db.unit_of_work() as uow:
            store.add_api_client(uow, client_id, name, secret_hash, scopes, self.db.clock.now())
            uow.commit()
        return {"client_id": client_id, "client_secret": secret, "scopes": list(scopes), "name": name}

    @rpc
    def rotate_api_client_secret(self, client_id):
        """A new secret for a system, shown this once; the old one and every token it got stop at once."""
        return sessions.rotate_api_client_secret(self.db.unit_of_work, self.db.clock, self.passwords, client_id,
                                                 secrets.token_urlsafe(32))
