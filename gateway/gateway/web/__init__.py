"""The server-rendered web UI, one blueprint per area."""
from . import (  # noqa: F401
    account, agent, auth, billing, billing_agent, billing_documents, canteen, canteen_agent, canteen_common, card_payment,
    childcare, childcare_agent, devmail, direct_debit, direct_debit_agent, helpers, myspace, public,
)
from . import health_records  # noqa: F401,E402  (the health record, issue #12)
from . import personal_data  # noqa: F401,E402  (the family's data in its hands, issue #12)
from . import reminders  # noqa: F401,E402  (issue #12: reminders by e-mail)
from . import trail  # noqa: F401,E402  (the family's trail, issue #12)
from . import wallet  # noqa: F401,E402  (the document wallet, issue #12)
from . import messages  # noqa: F401,E402  (messages to the service, issue #12)
