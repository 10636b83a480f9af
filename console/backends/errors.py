"""Typed backend errors with messages an on-call engineer can act on.

Messages never contain credentials: they name the URL (without userinfo), the status and
the backend's own error text.
"""


class BackendError(Exception):
    """Base class: a backend could not answer."""

    retryable = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConnectionFailed(BackendError):
    """The TCP connection was refused, reset or could not be made."""

    retryable = True


class TlsFailure(BackendError):
    """The TLS handshake or certificate verification failed."""


class AuthFailed(BackendError):
    """The backend answered 401 or 403."""


class BadQuery(BackendError):
    """The backend rejected the query (400 or 422) and said why."""


class ServerError(BackendError):
    """The backend answered with a 5xx status."""

    retryable = True


class RequestTimeout(BackendError):
    """No complete answer within the request timeout."""

    retryable = True


class MalformedResponse(BackendError):
    """The answer was not the JSON shape the API documents."""


class CircuitOpen(BackendError):
    """Too many consecutive failures: requests are paused until the cool-down ends."""


class NotSupported(BackendError):
    """The backend cannot answer this kind of request (for example raw PromQL on the demo)."""
