"""The server-rendered web UI, one blueprint per area."""
from . import account, agent, auth, devmail, helpers, myspace, public  # noqa: F401
