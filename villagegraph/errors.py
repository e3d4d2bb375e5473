"""Every error code the API answers with, and when; the one place database errors become
API errors.

Codes (`extensions.code`):
  BAD_USER_INPUT                 an argument or body is malformed (also HTTP 400/413)
  UNAUTHENTICATED                no, an invalid or an expired token; an account gone (401)
  FORBIDDEN                      signed in but not allowed (a role, a scope, a grant, RLS),
                                 introspection or an untrusted persisted document
  NOT_FOUND                      the thing does not exist or is not visible to the caller
  CONFLICT                       the thing is in a state that forbids the change
  RATE_LIMITED                   the caller's bucket is empty (HTTP 429, retryAfterSeconds)
  QUERY_TOO_COMPLEX              over the tier's document limits, a statement timeout, or the
                                 HTTP request timeout (504)
  PERSISTED_QUERY_NOT_FOUND      an APQ hash the server does not know yet: send the document
  PERSISTED_QUERY_NOT_SUPPORTED  APQ is switched off
  INTERNAL_SERVER_ERROR          anything unexpected; masked, with the request id

Resolvers and the store raise these classes; anything else is masked by
schema/extensions.MaskInternalErrors. This module decides codes and messages of database
refusals, never what a caller may see (RLS does).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import asyncpg


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


class PersistedQueryNotFound(VillageGraphError):
    code = "PERSISTED_QUERY_NOT_FOUND"


class PersistedQueryNotSupported(VillageGraphError):
    code = "PERSISTED_QUERY_NOT_SUPPORTED"


INTERNAL_SERVER_ERROR = VillageGraphError.code

# A database refusal by its condition: what the schema's own constraints and triggers say.
_CONDITIONS: dict[str, type[asyncpg.PostgresError]] = {
    "unique": asyncpg.UniqueViolationError,
    "foreign_key": asyncpg.ForeignKeyViolationError,
    "wrong_state": asyncpg.ObjectNotInPrerequisiteStateError,
    "check": asyncpg.CheckViolationError,
}


@contextlib.contextmanager
def database_refusals(
    *,
    unique: VillageGraphError | None = None,
    foreign_key: VillageGraphError | None = None,
    wrong_state: VillageGraphError | None = None,
    check: VillageGraphError | None = None,
) -> Iterator[None]:
    """Raise the given API error when the database refuses a statement for that reason
    (a unique or foreign-key violation, a trigger's 'not in this state', a check)."""
    given = {
        "unique": unique,
        "foreign_key": foreign_key,
        "wrong_state": wrong_state,
        "check": check,
    }
    try:
        yield
    except asyncpg.PostgresError as error:
        for condition, refusal in given.items():
            if refusal is not None and isinstance(error, _CONDITIONS[condition]):
                raise refusal from error
        raise


def from_database(error: BaseException) -> VillageGraphError | None:
    """The API error of a database error nobody caught, or None when it must be masked."""
    if isinstance(error, asyncpg.InsufficientPrivilegeError):
        return Forbidden("You are not allowed to do this here.")
    if isinstance(error, asyncpg.QueryCanceledError):
        # statement_timeout (analysts run under one): the request asked for too much.
        return QueryTooComplex("The request took too long; ask for less.", limit="statementTimeout")
    return None
