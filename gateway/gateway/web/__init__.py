"""The server-rendered web UI, one blueprint per area."""
from . import account, agent, auth, canteen, canteen_agent, canteen_common, childcare, childcare_agent, devmail, helpers, myspace, public  # noqa: F401
from . import direct_debit, direct_debit_agent  # noqa: F401
from . import card_payment  # noqa: F401  (the return page from Paybox, issue #10)
