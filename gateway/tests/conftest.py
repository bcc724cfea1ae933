import pytest

from espace_common.rpc_client import RemoteError, ServiceUnavailable
from gateway import create_app


# What a fake identity answers to vocabulary(); the gateway holds no copy, so the pages show whatever this says.
IDENTITY_VOCABULARY = {
    "agent_roles": {"affaires_scolaires": "Affaires scolaires", "petite_enfance": "Petite enfance",
                    "admin": "Administration"},
    "api_scopes": {"kitchen": "Cuisine centrale", "accounting": "Comptabilité",
                   "childcare_relay": "Relais Petite Enfance", "families:read": "Lecture des familles"},
    "max_length": {"first_name": 100, "last_name": 100, "email": 254, "phone": 30, "address_line": 200,
                   "postal_code": 5, "city": 100, "caf_number": 20, "username": 40, "agent_username": 80,
                   "api_client_name": 100, "request_id": 80, "search_query": 100, "password": 256},
    "username": {"min_length": 3, "max_length": 40},
    "password": {"min_length": 12, "max_length": 256, "rules": [
        "au moins 12 caractères ;",
        "au moins une majuscule, une minuscule, un chiffre et un caractère spécial (par exemple ! ? - _ #) ;",
        "sans votre identifiant ;", "pas un mot de passe courant (comme « Motdepasse123! »)."]},
}

# The document wallet's words (issue #12), as identity's vocabulary() serves them.
IDENTITY_VOCABULARY["wallet"] = {
    "kinds": {"proof_of_address": "Justificatif de domicile de moins de trois mois",
              "insurance": "Attestation d'assurance (responsabilité civile et individuelle accident)",
              "caf_notice": "Attestation de quotient familial CAF",
              "vaccination_record": "Carnet de vaccinations (pages des vaccins)",
              "medical_certificate": "Certificat médical"},
    "required_kinds": ["proof_of_address", "insurance", "caf_notice", "vaccination_record"],
    "absence_kinds": ["vaccination_record", "medical_certificate"],
    "statuses": {"pending": "en attente de vérification", "accepted": "accepté", "refused": "refusé",
                 "expired": "expiré", "superseded": "remplacé"},
    "states": {"accepted": "accepté", "expiring": "expire bientôt", "pending": "en attente de vérification",
               "refused": "refusé", "expired": "expiré", "missing": "manquant"},
    "max_reason": 500,
}


class FakeServices:
    """Stands in for the broker: answers from a table, or raises what a test asks."""

    def __init__(self):
        self.answers = {("identity", "vocabulary"): IDENTITY_VOCABULARY}
        self.calls = []
        self.agent_actions = []  # what the gateway reported to identity's journal, apart from the pages' calls
        self.monitor = None

    def call(self, service, method, *args, **kwargs):
        if (service, method) == ("identity", "record_agent_action"):
            self.agent_actions.append(args[0])
            answer = self.answers.get((service, method), {"id": args[0]["id"], "recorded": True})
            if isinstance(answer, Exception):
                raise answer
            return answer
        self.calls.append((service, method, args, kwargs))
        answer = self.answers.get((service, method))
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(*args, **kwargs)
        if answer is None:
            raise ServiceUnavailable(service, "not answering in this test")
        return answer


@pytest.fixture
def services():
    return FakeServices()


@pytest.fixture
def app(services):
    return create_app({"LOCAL_RUN": True, "SECRET_KEY": "test", "TESTING": True}, services=services)


@pytest.fixture
def client(app):
    return app.test_client()


def remote(kind, code="some_code", message="Un message.", *extra):
    return RemoteError.from_reply("identity", {"exc_type": kind, "exc_args": [code, message, *extra]})
