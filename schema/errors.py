"""The expected failures of the API, each with its `extensions.code` from API.md.

Raise these from resolvers; anything else that escapes is masked by `MaskInternalErrors`
(schema/extensions.py) so no trace, SQL or internal detail reaches a client.
"""

from __future__ import annotations

from typing import Any


class VillageGraphError(Exception):
    code = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extensions: dict[str, Any] = {"code": self.code, **extra}


class Unauthenticated(VillageGraphError):
    code = "UNAUTHENTICATED"


class Forbidden(VillageGraphError):
    code = "FORBIDDEN"


class NotFound(VillageGraphError):
    code = "NOT_FOUND"


class BadUserInput(VillageGraphError):
    code = "BAD_USER_INPUT"


class Conflict(VillageGraphError):
    code = "CONFLICT"


class RateLimited(VillageGraphError):
    code = "RATE_LIMITED"


class QueryTooComplex(VillageGraphError):
    code = "QUERY_TOO_COMPLEX"
