"""The server-rendered web UI, one blueprint per area."""
from . import account, agent, auth, canteen, canteen_agent, canteen_common, devmail, helpers, myspace, public  # noqa: F401
