"""Schema extensions every operation runs through: the request transaction, error masking,
and a cache of parsed documents."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from functools import lru_cache

from graphql import DocumentNode, GraphQLError, parse
from graphql.validation import ValidationRule
from strawberry.extensions import AddValidationRules, SchemaExtension
from strawberry.extensions.query_depth_limiter import create_validator
from strawberry.types.graphql import OperationType

from villagegraph.errors import (
    INTERNAL_SERVER_ERROR,
    BadUserInput,
    QueryTooComplex,
    Unauthenticated,
    VillageGraphError,
    from_database,
)
from villagegraph.tenants.session import UnknownAccount

log = logging.getLogger("villagegraph.errors")

INTERNAL_MESSAGE = "Something went wrong on our side; it has been logged."


class RequestTransaction(SchemaExtension):
    """Commit the request's transaction when it succeeded; roll a failed mutation back whole."""

    async def on_operation(self) -> AsyncIterator[None]:
        yield
        context = self.execution_context.context
        result = self.execution_context.result
        failed = bool(result is not None and result.errors)
        try:
            is_mutation = self.execution_context.operation_type == OperationType.MUTATION
        except RuntimeError:  # no parsable document or no such operation: nothing ran
            is_mutation = False
        try:
            await context.db.close(commit=not (failed and is_mutation))
        except Exception as error:  # a failed commit must not look like success
            log.exception("commit failed", extra={"request_id": context.request_id})
            if result is not None:
                result.data = None
                code = {"code": INTERNAL_SERVER_ERROR, "requestId": context.request_id}
                result.errors = [
                    GraphQLError(INTERNAL_MESSAGE, original_error=error, extensions=code)
                ]


def _expected(error: GraphQLError) -> GraphQLError | None:
    """The client-facing form of an error, or None when it must be masked."""
    original = error.original_error
    # Variable values that cannot be coerced raise GraphQLError without a path.
    if original is None or (isinstance(original, GraphQLError) and not error.path):
        # Syntax and validation errors describe the client's document: safe to show.
        extensions = dict(error.extensions or {})
        if "code" not in extensions:
            depth = "exceeds maximum operation depth" in error.message
            extensions["code"] = QueryTooComplex.code if depth else BadUserInput.code
        return GraphQLError(
            error.message,
            error.nodes,
            error.source,
            error.positions,
            error.path,
            extensions=extensions,
        )
    if isinstance(original, VillageGraphError):
        return error
    if isinstance(original, UnknownAccount):
        replacement: VillageGraphError | None = Unauthenticated(
            "Your account no longer exists; log in again."
        )
    else:
        replacement = from_database(original)
    if replacement is None:
        return None
    return GraphQLError(
        replacement.message,
        error.nodes,
        error.source,
        error.positions,
        error.path,
        extensions=replacement.extensions,
    )


class MaskInternalErrors(SchemaExtension):
    """Expected errors keep their message and code; anything else becomes a generic error
    with the request id, and its detail goes to the server log only."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        request_id = self.execution_context.context.request_id
        masked: list[GraphQLError] = []
        for error in result.errors:
            shown = _expected(error)
            if shown is None:
                log.error(
                    "internal error in %s: %r",
                    ".".join(str(p) for p in error.path or []),
                    error.original_error,
                    exc_info=error.original_error,
                    extra={"request_id": request_id},
                )
                shown = GraphQLError(
                    INTERNAL_MESSAGE,
                    error.nodes,
                    error.source,
                    error.positions,
                    error.path,
                    extensions={"code": INTERNAL_SERVER_ERROR, "requestId": request_id},
                )
            masked.append(shown)
        result.errors = masked


@lru_cache(maxsize=512)
def _parse(query: str) -> DocumentNode:
    return parse(query)


class CachedParse(SchemaExtension):
    """Parse each distinct document once (clients send the same few over and over).

    Strawberry's ParserCache raises a syntax error from inside its hook, past the error
    handling (no code, no masking); here a document that does not parse is left to
    strawberry's own parse, which reports it as usual. Failures are not cached.
    """

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is None and context.query and not context.parse_options:
            with contextlib.suppress(GraphQLError):
                context.graphql_document = _parse(context.query)
        yield


@lru_cache(maxsize=8)
def _depth_rule(max_depth: int) -> type[ValidationRule]:
    return create_validator(max_depth, None, None)


class DepthLimit(AddValidationRules):
    """Strawberry's query depth limit with ONE validation rule per depth for the process.

    Extensions are built per request (strawberry's factories); QueryDepthLimiter made a new
    rule class each time, and the validation cache is keyed by the rules, so no document
    was ever validated from the cache (validation ran on every request, most of a feed
    request's Python time). The rule is the same as QueryDepthLimiter's.
    """

    def __init__(self, max_depth: int) -> None:
        super().__init__([_depth_rule(max_depth)])
