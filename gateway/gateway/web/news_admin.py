"""Editing and withdrawing a published news item: the same two pages for the canteen's and the crèche's agents.

Each service owns its news (canteen: Affaires Scolaires, childcare: Petite Enfance); the agents' blueprints route
to these views with their service's name, their news list's endpoint, their navigation and the limits the service
enforces. An id the service does not know is the 404 page; a refusal is shown on the form.
"""
from flask import abort, flash, redirect, render_template, request, url_for

from espace_common.rpc_client import RemoteError

from ..errors import refusal
from ..services import services
from .helpers import FormError, render_form

LONGEST_ID = 64


def news_values(form):
    return {name: form.get(name, "").strip() for name in ("title", "body", "kind")}


def published(service, news_id):
    """The item as its service has it, or 404 (an id longer than any id is not even sent)."""
    if len(news_id) > LONGEST_ID:
        abort(404)
    return services().call(service, "news_item", news_id)


def edit(service, news_id, listing, nav, limits):
    """GET: the item's form, filled; POST: the correction, then back to the list (303)."""
    item = published(service, news_id)
    error, values = None, item
    if request.method == "POST":
        values = news_values(request.form)
        if not values["title"] or not values["body"]:
            error = FormError("Donnez un titre et un texte.", "invalid_news")
        else:
            try:
                services().call(service, "edit_news", item["id"], values["title"], values["body"],
                                values["kind"] or "news")
            except RemoteError as exc:
                if exc.exc_type == "NotFound":
                    raise
                error = refusal(exc)
            else:
                flash(f"« {values['title']} » est modifié.")
                return redirect(url_for(listing), 303)
    return render_form("agent/news_edit.html", error, item=item, values=values, nav=nav, limits=limits,
                       back_to=url_for(listing))


def withdraw(service, news_id, listing, nav):
    """GET: the confirmation, with the item as the public sees it; POST: the withdrawal, then back to the list."""
    item = published(service, news_id)
    if request.method == "POST":
        services().call(service, "withdraw_news", item["id"])
        flash(f"« {item['title']} » est retiré des pages publiques.")
        return redirect(url_for(listing), 303)
    return render_template("agent/confirm.html", nav=nav, heading="Retirer cette publication ?", item=item,
                           explanation="Elle disparaîtra des pages publiques. Ce retrait est définitif.",
                           button="Retirer la publication", cancel=url_for(listing))
