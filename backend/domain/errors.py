"""The one exception domain rules raise; backend.errors turns it into the JSON error shape."""


class DomainError(Exception):
    """A rule refused an operation. `code` is a stable machine string (e.g. insufficient_stock)."""

    def __init__(self, code: str, message: str, status: int = 422, errors: dict | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.errors = errors or {}


def unknown(what: str, key, status: int = 422) -> DomainError:
    """The error for a reference to something that does not exist (404 when it is the URL's)."""
    return DomainError(f"unknown_{what}", f"No {what} {key!r}", status=status)


def conflict(code: str, message: str) -> DomainError:
    """The error for an operation that clashes with the current state."""
    return DomainError(code, message, status=409)
