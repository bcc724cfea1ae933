"""The server-rendered web UI, one blueprint per area."""
from . import agent, auth, public  # noqa: F401
