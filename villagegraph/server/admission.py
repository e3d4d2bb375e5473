"""What a document must pass before it runs, over HTTP and websockets alike: the caller's
rate-limit bucket, then the document limits of its tier (villagegraph/limits.py).

Refusals are raised as the API's errors (RATE_LIMITED, QUERY_TOO_COMPLEX, FORBIDDEN for
introspection); this module does not know how they are sent.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLSchema

from villagegraph.config import Settings
from villagegraph.limits import (
    Measure,
    RateLimiter,
    RoleLimits,
    check_introspection,
    check_overrides,
    limits_for,
    measure_document,
    rate_limited,
    tier_of,
)
from villagegraph.tenants.principal import Principal


def bucket_key(account_id: int | None, client_host: str) -> str:
    """Signed-in callers share one bucket per account; anonymous ones one per address."""
    return f"account:{account_id}" if account_id is not None else f"address:{client_host}"


class Admission:
    def __init__(self, settings: Settings, schema: GraphQLSchema) -> None:
        check_overrides(settings.limits)
        self.settings = settings
        self.schema = schema
        self.rate_limiter = RateLimiter()

    def _take(self, key: str, limits: RoleLimits) -> None:
        wait = self.rate_limiter.take(key, limits)
        if wait > 0:
            raise rate_limited(wait)

    def admit_request(
        self,
        principal: Principal | None,
        client_host: str,
        query: str,
        operation_name: str | None,
        variables: dict[str, Any] | None,
    ) -> tuple[str, Measure | None]:
        """An HTTP request's document: returns the caller's tier and the measure."""
        tier = tier_of(principal)
        limits = limits_for(self.settings.limits, tier)
        self._take(bucket_key(principal.account_id if principal else None, client_host), limits)
        measure = measure_document(query, self.schema, operation_name, variables, limits)
        check_introspection(measure, tier, self.settings.anonymous_introspection)
        return tier, measure

    def admit_subscription(
        self, account_id: int | None, client_host: str, payload: dict[str, Any]
    ) -> None:
        """A subscribe message, measured as a resident when signed in, else anonymous."""
        tier = "anonymous" if account_id is None else "resident"
        limits = limits_for(self.settings.limits, tier)
        self._take(bucket_key(account_id, client_host), limits)
        measure_document(
            str(payload.get("query") or ""),
            self.schema,
            payload.get("operationName"),
            payload.get("variables"),
            limits,
        )
