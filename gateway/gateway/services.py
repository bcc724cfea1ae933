"""Access to the services from a request."""
from flask import current_app


def services():
    return current_app.extensions["services"]
