"""Domain errors every service raises and the gateway turns into HTTP answers.

A service raises one of these kinds with a stable machine code and a French
message for people; over RPC they travel as (code, message), and the gateway maps
the kind's name to an HTTP status in one place.
"""


class DomainError(Exception):
    """A rule of the trade refused the request; nothing was changed."""

    kind = "DomainError"

    def __init__(self, code, message):
        super().__init__(code, message)
        self.code = code
        self.message = message

    def __str__(self):
        return f"{self.code}: {self.message}"


class InvalidInput(DomainError):
    """The request is malformed or a value is out of its domain."""


class NotFound(DomainError):
    """The thing does not exist, or the caller may not know it exists."""


class Conflict(DomainError):
    """The request is well formed but the current state refuses it."""


class Unauthenticated(DomainError):
    """The caller could not be identified."""


class Forbidden(DomainError):
    """The caller is known but lacks the right."""


class Throttled(DomainError):
    """Too many attempts; the message says when to try again."""

    def __init__(self, code, message, retry_after=60):
        Exception.__init__(self, code, message, retry_after)
        self.code = code
        self.message = message
        self.retry_after = retry_after


DOMAIN_ERRORS = {cls.__name__: cls for cls in (InvalidInput, NotFound, Conflict, Unauthenticated, Forbidden, Throttled)}
