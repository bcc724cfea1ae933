"""The family's trail (issue #12), the gateway's part: who acts (passed to every write RPC) and the trail of a family
merged from the services that keep one (canteen, childcare), newest first.

The services record and word the entries; the gateway only says who the caller is and puts the two lists together.
"""
from espace_common.rpc_client import ServiceUnavailable

from .auth import current_principal
from .services import services

TRAIL_SERVICES = ("canteen", "childcare")
MAX_DATE_TEXT = 20  # a date is 10 characters: more is refused by the services, and not worth sending them


def actor(principal=None):
    """Who makes this request, for the trail: a parent (account id and identifier), an agent (id and identifier),
    another municipal system through the API (a client: recorded as the system, with the client's name)."""
    principal = principal or current_principal()
    if principal is None:
        return None
    kind = principal.get("kind")
    if kind in ("parent", "agent"):
        return {"kind": kind, "id": str(principal.get("id") or ""), "name": principal.get("username") or ""}
    return {"kind": "system", "id": str(principal.get("id") or ""), "name": principal.get("username") or ""}


def family_trail(family_id, start, end, wanted=TRAIL_SERVICES, tolerate_down=False):
    """(entries newest first, the services that did not answer, whether a service cut its list).

    A refusal of the dates (InvalidInput) is raised as the service said it; a service that does not answer is
    raised too, unless `tolerate_down` (the web pages show the rest and say which part is missing)."""
    start, end = str(start or "")[:MAX_DATE_TEXT], str(end or "")[:MAX_DATE_TEXT]
    entries, down, truncated = [], [], False
    for service in wanted:
        try:
            part = services().call(service, "family_trail", family_id, start, end)
        except ServiceUnavailable:
            if not tolerate_down:
                raise
            down.append(service)
            continue
        entries += part["entries"]
        truncated |= bool(part.get("truncated"))
    entries.sort(key=lambda e: e["at"], reverse=True)  # ISO instants in UTC: their text sorts as they happened
    return entries, down, truncated


def api_entry(entry):
    """An entry as the API answers it: {at, actor, action, child_id, details} and the service and French summary."""
    return {"at": entry["at"], "actor": entry["actor"], "action": entry["action"], "child_id": entry.get("child_id"),
            "details": entry.get("details") or {}, "service": entry.get("service"), "summary": entry.get("summary")}
