"""The server-rendered web UI, one blueprint per area."""
from . import (  # noqa: F401
    account, agent, auth, billing, billing_agent, billing_documents, canteen, canteen_agent, canteen_common, card_payment,
    childcare, childcare_agent, devmail, direct_debit, direct_debit_agent, helpers, myspace, public,
)
from . import messages  # noqa: F401,E402  (messages to the service, issue #12)
