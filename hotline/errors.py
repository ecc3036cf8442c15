"""The one error root of the service and CLI.

Each error owns the text a user may safely read (never report content), the
HTTP status the API middleware answers with, and the exit code the CLI
wrapper uses. Handlers raise; one middleware and one CLI wrapper render.
"""

from __future__ import annotations


class HotlineError(Exception):
    """Something went wrong."""

    http_status = 500
    exit_code = 1

    def __init__(self, message: str | None = None) -> None:
        self.public_message = message or (self.__doc__ or "error").strip()
        super().__init__(self.public_message)


class ConfigError(HotlineError):
    """The configuration is invalid."""

    exit_code = 2


class InstanceError(HotlineError):
    """The instance folder is missing or incomplete."""

    exit_code = 2


class BadRequest(HotlineError):
    """The request is malformed."""

    http_status = 400


class PayloadTooLarge(HotlineError):
    """The request is too large."""

    http_status = 413


class UnsupportedMediaType(HotlineError):
    """The request has the wrong content type."""

    http_status = 415


class Unauthorized(HotlineError):
    """Authentication is required or has expired."""

    http_status = 401


class Forbidden(HotlineError):
    """You are not allowed to do this."""

    http_status = 403


class NotFound(HotlineError):
    """Not found."""

    http_status = 404


class Conflict(HotlineError):
    """The request conflicts with the current state."""

    http_status = 409


class TooManyRequests(HotlineError):
    """Too many attempts; wait a minute and try again."""

    http_status = 429


class ServiceUnavailable(HotlineError):
    """The service is not ready."""

    http_status = 503


class UsageError(HotlineError):
    """The command was used incorrectly."""

    exit_code = 2


class ClientError(HotlineError):
    """The server refused the request."""

    exit_code = 1
