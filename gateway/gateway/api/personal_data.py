"""The family's data in its hands (GDPR, issue #12): GET /api/v1/me/export, as JSON or (?format=pdf) a French PDF."""
from flask import Response, request

from espace_common.errors import InvalidInput

from ..auth import api_auth, current_principal
from ..personal_data import export_json, export_pdf, family_export, filename
from ..responses import no_store
from . import bp

FORMATS = ("json", "pdf")


def download(export, kind):
    """The export as a file to keep (attachment), never stored by a cache."""
    if kind == "pdf":
        response = Response(export_pdf(export), mimetype="application/pdf")
    else:
        response = Response(export_json(export), mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename(export, kind)}"'
    return no_store(response)


@bp.get("/me/export")
@api_auth(kinds=("parent",))
def my_export():
    """Everything the town holds on the caller's family, from every service: whole, or 503 when one does not answer."""
    kind = request.args.get("format", "json")
    if kind not in FORMATS:
        raise InvalidInput("invalid_format", "Le paramètre « format » vaut json ou pdf.")
    return download(family_export(current_principal()["family_id"]), kind)
