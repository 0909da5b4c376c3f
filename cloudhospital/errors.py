"""One domain error type. It says what went wrong (its kind and a stable code), never which
HTTP status to answer with: the API layer maps kinds to statuses in one table
(cloudhospital.api.errors), and pages show the message next to the field."""

from enum import StrEnum


class Kind(StrEnum):
    """What sort of refusal a DomainError is."""

    INVALID = "invalid"  # the input itself is malformed or missing
    FORBIDDEN = "forbidden"  # the actor may not do this to this object
    NOT_FOUND = "not_found"  # no such object for this actor (ids cannot be probed)
    CONFLICT = "conflict"  # the object's current state does not allow it
    UNPROCESSABLE = "unprocessable"  # well formed and allowed, but a rule says no


class DomainError(Exception):
    """A domain rule refused the request.

    `code` is a stable machine-readable reason ("slot_full"), `field` names the input at
    fault when there is one, and `kind` says what sort of refusal it is (see Kind).
    """

    def __init__(self, message: str, *, code: str, field: str | None = None, kind: Kind = Kind.CONFLICT):
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field
        self.kind = Kind(kind)

    def as_body(self) -> dict:
        body: dict = {"detail": self.message, "code": self.code}
        if self.field:
            body[self.field] = [self.message]
        return body


def forbidden(message: str, *, code: str = "forbidden") -> DomainError:
    """The refusal a write function gives an actor the access policy does not allow."""
    return DomainError(message, code=code, kind=Kind.FORBIDDEN)


def error_body(code: str, detail: str, *, attr: str | None = None, kind: str = "client_error") -> dict:
    """The API's one error shape (cloudhospital.api.errors), for answers written outside DRF:
    Django's own 404/500 under /api/, the login lockout."""
    return {"type": kind, "errors": [{"code": code, "detail": str(detail), "attr": attr}]}
