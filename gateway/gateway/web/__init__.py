"""The server-rendered web UI, one blueprint per area."""
from . import account, agent, auth, billing_documents, canteen, canteen_agent, canteen_common, childcare, childcare_agent, devmail, helpers, myspace, public  # noqa: F401
