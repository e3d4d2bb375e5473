"""What a document must pass before it runs, over HTTP and websockets alike: the caller's
rate-limit bucket, then the document limits of its tier (villagegraph/limits.py), measured
on the operation that will run; and the per-address bucket of login attempts.

Refusals are raised as the API's errors (RATE_LIMITED, QUERY_TOO_COMPLEX, BAD_USER_INPUT
for an unchosen operation, FORBIDDEN for the schema when it is hidden); this module does
not know how they are sent. Client addresses are the real peer's: the server trusts
proxy headers only from the addresses configured (Settings.forwarded_allow_ips).
"""

from __future__ import annotations

import hmac
from typing import Any

from graphql import GraphQLSchema

from villagegraph.config import Settings
from villagegraph.limits import (
    Bucket,
    Buckets,
    Measure,
    Rate,
    RateLimiter,
    check_introspection,
    check_overrides,
    limits_for,
    measure_document,
    rate_limited,
    tier_of,
)
from villagegraph.tenants.principal import Principal


class LocalBuckets:
    """This process's buckets (limits.RateLimiter), for one process only; the service uses
    the database's (villagegraph/shared.py) so every serving process spends from one."""

    def __init__(self) -> None:
        self.limiter = RateLimiter()

    async def take(self, key: str, limits: Rate) -> float:
        return self.limiter.take(key, limits)


def bucket_key(account_id: int | None, client_host: str) -> str:
    """Signed-in callers share one bucket per account; anonymous ones one per address."""
    return f"account:{account_id}" if account_id is not None else f"address:{client_host}"


class Admission:
    def __init__(
        self, settings: Settings, schema: GraphQLSchema, buckets: Buckets | None = None
    ) -> None:
        check_overrides(settings.limits)
        self.settings = settings
        self.schema = schema
        self.rate_limiter: Buckets = buckets if buckets is not None else LocalBuckets()

    async def _take(self, key: str, limits: Rate) -> None:
        wait = await self.rate_limiter.take(key, limits)
        if wait > 0:
            raise rate_limited(wait)

    def is_gateway(self, presented: str | None) -> bool:
        """The federation gateway's explicit way to the SDL: its configured token."""
        expected = self.settings.gateway_token
        if not expected or not presented:
            return False
        return hmac.compare_digest(expected.encode(), presented.encode())

    async def admit_login(self, client_host: str) -> None:
        """One login attempt from this address, whatever account it names (wrong passwords
        are counted per phone in the database: tenants/login.py)."""
        per_minute = self.settings.login_attempts_per_minute
        await self._take(f"login:{client_host}", Bucket(per_minute, per_minute))

    async def admit_request(
        self,
        principal: Principal | None,
        client_host: str,
        query: str,
        operation_name: str | None,
        variables: dict[str, Any] | None,
        gateway: bool = False,
    ) -> tuple[str, Measure | None]:
        """An HTTP request's document: returns the caller's tier and the measure."""
        tier = tier_of(principal)
        limits = limits_for(self.settings.limits, tier)
        await self._take(
            bucket_key(principal.account_id if principal else None, client_host), limits
        )
        measure = measure_document(query, self.schema, operation_name, variables, limits)
        check_introspection(measure, tier, self.settings.anonymous_introspection or gateway)
        return tier, measure

    async def admit_subscription(
        self, account_id: int | None, client_host: str, payload: dict[str, Any]
    ) -> None:
        """A subscribe message, measured as a resident when signed in, else anonymous."""
        tier = "anonymous" if account_id is None else "resident"
        limits = limits_for(self.settings.limits, tier)
        await self._take(bucket_key(account_id, client_host), limits)
        measure = measure_document(
            str(payload.get("query") or ""),
            self.schema,
            payload.get("operationName"),
            payload.get("variables"),
            limits,
        )
        check_introspection(measure, tier, self.settings.anonymous_introspection)
