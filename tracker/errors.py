"""Domain errors that every way in turns into its own kind of answer."""

from __future__ import annotations

from dataclasses import dataclass

# No list is paged past this: a page number beyond it is an address nobody was given (and an offset the
# database would refuse), so it answers as a page that does not exist.
MAX_PAGE = 10_000


@dataclass(frozen=True)
class FieldProblem:
    field: str
    message: str


class ServiceError(Exception):
    """Base of the errors a service raises on purpose; never a 500."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title


class NotFound(ServiceError):
    """Unknown, or belonging to another clinic or patient: the answer is the same."""

    status = 404
    title = "Not found"


class Forbidden(ServiceError):
    status = 403
    title = "Forbidden"


class Conflict(ServiceError):
    status = 409
    title = "Conflict"


class Unauthenticated(ServiceError):
    """The caller did not prove who they are (a wrong current password)."""

    status = 401
    title = "Unauthorized"


class Gone(ServiceError):
    status = 410
    title = "Gone"


class TooMany(ServiceError):
    """A limit met: `retry_after` is the seconds until the next try can succeed (the Retry-After header)."""

    status = 429
    title = "Too many requests"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = max(1, retry_after)


class Invalid(ServiceError):
    """Values that are well-formed but not acceptable, with one problem per field."""

    status = 422
    title = "Invalid values"

    def __init__(self, problems: list[FieldProblem], detail: str = "") -> None:
        self.problems = problems
        super().__init__(detail or "; ".join(f"{p.field}: {p.message}" for p in problems))

    @classmethod
    def one(cls, field: str, message: str) -> Invalid:
        return cls([FieldProblem(field, message)])
