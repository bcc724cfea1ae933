"""The identity service's entrypoints: each hands its arguments to one use case (identity.use_cases)."""

from nameko.dependency_providers import Config
from nameko.rpc import RpcProxy
from nameko.timer import timer

from espace_common.nameko_support import Database, HealthMixin, rpc

from . import domain
from .orm import metadata
from .passwords import Passwords
from .policy import Policy
from .use_cases import accounts, agents, api_clients, contact, credentials, families, journal, keys, logins, sessions
# Health record (issue #12)
from .care_services import CareServices
from .use_cases import health
from .use_cases import export, retention  # the family's data in its hands (issue #12)
# Reminders by e-mail (issue #12): a timer whose interval is config.yml's REMINDER_TIMER_SECONDS.
from . import domain_reminders, reminder_sources  # noqa: E402
from .configured_timer import configured_timer  # noqa: E402
from .use_cases import reminders  # noqa: E402
# The document wallet (issue #12).
from espace_common.documents import DocumentStore  # noqa: E402
from espace_common.observability import Observability  # noqa: E402
from .domain_wallet import WalletSettings  # noqa: E402
from .use_cases import wallet  # noqa: E402
from .use_cases import messages  # messages to the service (issue #12)


class IdentityService(HealthMixin):
    name = "identity"

    db = Database(metadata)
    observability = Observability()  # issue #13: request ids in the log lines, /metrics
    config = Config()
    # Health record (issue #12): asked at an agent's read whether the child attends the agent's service.
    canteen_rpc = RpcProxy("canteen")
    childcare_rpc = RpcProxy("childcare")

    @property
    def policy(self):
        return Policy.from_config(self.config)

    @property
    def passwords(self):
        return Passwords(self.config.get("PASSWORD_TIME_COST", 3), self.config.get("PASSWORD_MEMORY_KIB", 65536))

    @rpc
    def vocabulary(self):
        """What identity's codes mean (agent roles, API scopes) and the limits it enforces, for the gateway."""
        return domain.vocabulary()

    # --- Families (agents) ------------------------------------------------------

    @rpc
    def register_family(self, payload):
        """Register a family with its representatives and children; idempotent by request_id."""
        return families.register_family(self.db, self.db.clock, payload)

    @rpc
    def get_family(self, family_id, account_id=None):
        """A family; with account_id, only that account's own family (others are NotFound)."""
        return families.get_family(self.db, family_id, account_id)

    @rpc
    def find_families(self, query):
        """Agents' search by dossier number, a member's name or e-mail."""
        return families.find_families(self.db, query)

    @rpc
    def family_for_agent(self, family_id, with_mails=False):
        """A family with each representative's account and key state, for the agents' pages; with_mails, its
        addresses and the mails identity sent to them (the family's file)."""
        return families.family_for_agent(self.db, family_id, with_mails)

    @rpc
    def billing_contacts(self, family_ids):
        """Per family: its dossier, its payer (name and address) and the confirmed e-mails, for billing's documents."""
        return families.billing_contacts(self.db, family_ids)

    # --- Keys ---------------------------------------------------------------------

    @rpc
    def issue_key(self, representative_id, agent_id=None):
        """A new key for a representative (revoking the previous one) and its letter, kept encrypted."""
        return keys.issue_key(self.db, self.db.clock, self.policy, representative_id, agent_id)

    @rpc
    def key_letter(self, representative_id):
        """The letter of the current key, while that key can still be used."""
        return keys.key_letter(self.db, self.db.clock, self.policy, representative_id)

    @timer(interval=3600)
    def purge_lapsed_letters(self):
        keys.purge_lapsed_letters(self.db, self.db.clock)

    # --- Accounts ------------------------------------------------------------------

    @rpc
    def create_account(self, key, username, email, password, client_ip=""):
        """Create a parent's account with the mailed key; the key is consumed in the same transaction."""
        return accounts.create_account(self.db, self.db.clock, self.policy, self.passwords, key, username, email,
                                       password, client_ip)

    @rpc
    def me(self, account_id):
        """The account and its family, as the parent sees them."""
        return accounts.me(self.db, self.db.clock, account_id)

    @rpc
    def confirm_email(self, token):
        """Follow the link of a confirmation mail: the address becomes the account's, confirmed."""
        return accounts.confirm_email(self.db, self.db.clock, token)

    # --- Logging in, sessions and tokens ---------------------------------------------

    @rpc
    def login(self, username, password, client_ip="", kind="web"):
        """Parents and agents; answers the same, in the same time, whether the identifier exists or not."""
        return logins.login(self.db, self.db.clock, self.policy, self.passwords, self._principal, username, password,
                            client_ip, kind)

    @rpc
    def client_login(self, client_id, client_secret, client_ip=""):
        """Client credentials of another municipal system; the token carries its scopes."""
        return logins.client_login(self.db, self.db.clock, self.policy, self.passwords, self._principal, client_id,
                                   client_secret, client_ip)

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

    # --- Passwords ----------------------------------------------------------------------

    @rpc
    def change_password(self, account_id, current_password, new_password, client_ip="", keep_token=None):
        """Needs the current password; ends every other session of the account."""
        return credentials.change_password(self.db, self.db.clock, self.passwords, account_id, current_password,
                                           new_password, client_ip, keep_token)

    @rpc
    def request_password_reset(self, login, client_ip=""):
        """By identifier or e-mail; answers the same whether anything matched or not."""
        return credentials.request_password_reset(self.db, self.db.clock, self.policy, login, client_ip)

    @rpc
    def check_reset_token(self, token):
        """Whether a reset link can still be used (the page asks before showing its form)."""
        return credentials.check_reset_token(self.db, self.db.clock, token)

    @rpc
    def confirm_password_reset(self, token, password, client_ip=""):
        """Set the new password from a reset link, once, and end every session of the account."""
        return credentials.confirm_password_reset(self.db, self.db.clock, self.passwords, token, password, client_ip)

    # --- Contact details and audit ----------------------------------------------------------

    @rpc
    def change_contact(self, account_id, changes, client_ip=""):
        """Phone and address change at once; a new e-mail waits for the link sent to it."""
        return contact.change_contact(self.db, self.db.clock, self.policy, account_id, changes, client_ip)

    @rpc
    def recent_events(self, account_id, limit=20):
        return contact.recent_events(self.db, account_id, limit)

    # --- Agents and API clients ---------------------------------------------------------------

    @rpc
    def ensure_agent(self, username, password, roles):
        """Create the agent or reset its password and roles (used for the administrator at start)."""
        return agents.ensure_agent(self.db, self.db.clock, self.passwords, username, password, roles)

    @rpc
    def record_agent_action(self, action):
        """The gateway reports an agent's successful write (who, what, which family, when); once per action id."""
        return journal.record_agent_action(self.db, self.db.clock, action)

    @rpc
    def agent_journal(self, filters=None):
        """A page of the agents' journal for administrators, newest first, filtered by family, agent, dates."""
        return journal.agent_journal(self.db, filters or {})

    @rpc
    def create_api_client(self, name, scopes):
        """A client id and secret for another municipal system; the secret is shown this once."""
        return api_clients.create_api_client(self.db, self.db.clock, self.passwords, name, scopes)

    @rpc
    def rotate_api_client_secret(self, client_id):
        """A new secret for a system, shown this once; the old one and every token it got stop at once."""
        return sessions.rotate_api_client_secret(self.db.unit_of_work, self.db.clock, self.passwords, client_id,
                                                 domain.new_secret_token())

    # --- Health record («fiche sanitaire», issue #12) --------------------------------------------------------

    @rpc
    def family_health_records(self, account_id):
        """The family's children and whether each one's health record is filled."""
        return health.family_health_records(self.db, account_id)

    @rpc
    def health_record(self, account_id, child_id):
        """A parent reads a child's record (another family's child is NotFound), with the agents' reads of it."""
        return health.health_record(self.db, account_id, child_id)

    @rpc
    def save_health_record(self, account_id, child_id, payload):
        """A representative saves the whole record; identity.health_flags_changed tells the canteen and the crèche."""
        return health.save_health_record(self.db, self.db.clock, account_id, child_id, payload)

    @rpc
    def agent_health_record(self, agent_id, child_id):
        """An agent reads a child's record when the child attends the agent's service; Forbidden otherwise; every
        read is recorded."""
        return health.agent_health_record(self.db, self.db.clock, self._care_services.attends, agent_id, child_id)

    @property
    def _care_services(self):
        return CareServices({"canteen": self.canteen_rpc, "childcare": self.childcare_rpc})

    # --- The family's data in its hands (GDPR, issue #12) ---------------------------------------------------------

    @rpc
    def family_export(self, family_id):
        """Everything identity holds on a family, as JSON values, without any secret (hashes, digests, letters)."""
        return export.family_export(self.db, family_id)

    @rpc
    def personal_data(self, runs=True):
        """The kinds of data identity keeps with their retention periods; with runs, the latest purges."""
        return retention.personal_data(self.db, self.config, runs)

    @timer(interval=3600, eager=True)
    def purge_expired_data(self):
        """Once a day (the first timer of the day in any replica): the data older than its period goes."""
        retention.purge(self.db, self.db.clock, self.config)

    # --- Reminders by e-mail (issue #12, docs/reminders.md) -------------------------------------------------------

    @property
    def reminder_settings(self):
        return domain_reminders.ReminderSettings.from_config(self.config)

    @rpc
    def reminder_preferences(self, account_id):
        """The account's reminder choices (all off until the parent opts in) and the address they go to."""
        return reminders.preferences(self.db, account_id)

    @rpc
    def set_reminder_preferences(self, account_id, canteen_deadline, invoice_due):
        """Opt in or out of the canteen-deadline and invoice-due reminders; answers the saved choices."""
        return reminders.set_preferences(self.db, self.db.clock, account_id, canteen_deadline, invoice_due)

    @configured_timer("REMINDER_TIMER_SECONDS", 300)
    def send_reminders(self):
        """Every replica fires it; one claims each slot, and each reminder is written (with its mail) once."""
        settings = self.reminder_settings
        reminders.run_reminders(self.db, self.db.clock, settings,
                                reminder_sources.CanteenSource(self.config["AMQP_URI"], settings.rpc_timeout),
                                reminder_sources.BillingSource(self.config["AMQP_URI"], settings.rpc_timeout))

    # --- The document wallet (issue #12, docs/document-wallet.md) -------------------------------------------------

    @property
    def wallet_settings(self):
        return WalletSettings.from_config(self.config)

    @property
    def wallet_files(self):
        return DocumentStore(self.config.get("IDENTITY_FILES_DIR") or "var/identity-files")

    @rpc
    def upload_wallet_document(self, family_id, uploaded_by, kind, valid_until, document):
        """A parent's document (checked like an absence's justification), pending until an agent decides."""
        return wallet.upload(self.db, self.wallet_settings, self.wallet_files, family_id, uploaded_by, kind,
                             valid_until, document)

    @rpc
    def family_documents(self, family_id):
        """The family's wallet: its current documents, where each required kind stands, whether it is complete."""
        return wallet.family_documents(self.db, self.wallet_settings, family_id)

    @rpc
    def family_wallet_for_agent(self, family_id):
        """The family's wallet for the agents, with who read each file."""
        return wallet.family_wallet_for_agent(self.db, self.wallet_settings, family_id)

    @rpc
    def wallet_documents_to_review(self, status="pending"):
        """The town's documents in a status (pending by default), oldest first."""
        return wallet.documents_to_review(self.db, self.wallet_settings, status)

    @rpc
    def decide_wallet_document(self, document_id, decision, reason, agent):
        """An agent accepts or refuses (with a reason) a pending document, once."""
        return wallet.decide(self.db, self.wallet_settings, document_id, decision, reason, agent)

    @rpc
    def wallet_document_file(self, document_id, family_id=None, reader=None):
        """A document's file for its family (family_id given) or an agent (None); every read is recorded."""
        return wallet.document_file(self.db, self.wallet_files, document_id, family_id, reader)

    @rpc
    def wallet_justification(self, family_id, document_id, reader=None):
        """An accepted document of the family as an absence's justification {name, content_base64}."""
        return wallet.justification(self.db, self.wallet_files, family_id, document_id, reader)

    @timer(interval=3600, eager=True)
    def send_wallet_reminders(self):
        """At start, then hourly; the first run of a day claims the day's slot, the others (and other replicas) do
        nothing."""
        wallet.send_expiry_reminders(self.db, self.wallet_settings)

    # --- Messages to the service (issue #12, identity/use_cases/messages.py) ---------------------------------------

    @property
    def message_settings(self):
        return messages.MessageSettings.from_config(self.config)

    @property
    def message_files(self):
        return messages.files_from_config(self.config)

    @rpc
    def messages_vocabulary(self):
        """The services a family writes to, the conversations' states, the limits of subjects, bodies, attachments."""
        return messages.vocabulary()

    @rpc
    def start_conversation(self, account_id, payload, document=None, request_id=None):
        """A parent writes to Affaires Scolaires or Petite Enfance; idempotent by request_id; the service is mailed."""
        return messages.start_conversation(self.db.unit_of_work, self.db.clock, self.message_settings,
                                           self.message_files, account_id, payload, document, request_id)

    @rpc
    def reply_to_conversation(self, viewer_kind, viewer_id, conversation_id, body, document=None, request_id=None):
        """The family or an agent of the service answers in a conversation not closed; the other side is mailed."""
        return messages.reply(self.db.unit_of_work, self.db.clock, self.message_settings, self.message_files,
                              viewer_kind, viewer_id, conversation_id, body, document, request_id)

    @rpc
    def close_conversation(self, agent_id, conversation_id):
        """An agent of the service closes a conversation; the family is mailed."""
        return messages.close(self.db.unit_of_work, self.db.clock, self.message_settings, agent_id, conversation_id)

    @rpc
    def conversation(self, viewer_kind, viewer_id, conversation_id):
        """One conversation with its messages, for its family or an agent of its service (marked read for them)."""
        return messages.conversation(self.db.unit_of_work, self.db.clock, viewer_kind, viewer_id, conversation_id)

    @rpc
    def conversations(self, viewer_kind, viewer_id, state=None, family_id=None):
        """A family's conversations, or an agent's inbox over the services of their roles (unread first)."""
        return messages.conversations(self.db.unit_of_work, viewer_kind, viewer_id, state, family_id)

    @rpc
    def message_attachment(self, viewer_kind, viewer_id, message_id):
        """A message's attachment for the family or an agent of the service; every read is recorded."""
        return messages.attachment(self.db.unit_of_work, self.db.clock, self.message_files, viewer_kind, viewer_id,
                                   message_id)

    @rpc
    def message_attachment_reads(self, message_id):
        """Who read a message's attachment, and when (for the data protection officer)."""
        return messages.attachment_reads(self.db.unit_of_work, message_id)
