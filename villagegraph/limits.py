"""What a caller may ask for: per-role limits on a document and a per-principal rate limit.

A document is measured before it runs, and only the operation that will run: a document
with several operations must name one (`operationName`), else it is refused as
BAD_USER_INPUT. Measured: lexical tokens (counted by the parser, which stops at the limit),
depth, aliases, the `first` of every connection, the items of every list argument
(`_entities` representations, ids, ...; capped per role by `list_items`), and a cost
estimate (every object field costs 1, times how many parents it is resolved for: `first` of
a connection for its edges, a plain list as many items as its list argument has, else
LIST_FANOUT; each item of a list argument costs 1 more; scalars are free). Over-budget
documents are refused with QUERY_TOO_COMPLEX; nothing of them executes. Introspection
(`__schema`, `__type`) and the federation SDL (`_service`) are one thing: the schema.
The rate limit is a token bucket per key (account, or client address for anonymous
callers) behind the small `Buckets` interface, so its storage can be shared between
processes; `RateLimiter` keeps them in this process. This module does not touch the database.
"""

from __future__ import annotations

import functools
import math
import time
from collections import OrderedDict
from dataclasses import dataclass, fields, replace
from typing import Any, Protocol

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    parse,
)

from villagegraph.errors import BadUserInput, Forbidden, QueryTooComplex, RateLimited
from villagegraph.tenants.principal import Principal

DEFAULT_PAGE = 20  # what a connection returns without `first` (schema/pagination.py)
LIST_FANOUT = 10  # assumed length of a plain list field, for the cost estimate
MAX_VISITS = 20_000  # selections a document may expand to, fragments spread out


@dataclass(frozen=True)
class RoleLimits:
    depth: int
    tokens: int
    aliases: int
    page_size: int
    cost: int
    rate_per_minute: int
    burst: int
    list_items: int


TIERS = ("anonymous", "resident", "official", "analyst")

DEFAULT_LIMITS: dict[str, RoleLimits] = {
    "anonymous": RoleLimits(
        depth=8,
        tokens=1000,
        aliases=10,
        page_size=100,
        cost=2_000,
        rate_per_minute=120,
        burst=60,
        list_items=50,
    ),
    "resident": RoleLimits(
        depth=10,
        tokens=2000,
        aliases=20,
        page_size=100,
        cost=5_000,
        rate_per_minute=240,
        burst=120,
        list_items=100,
    ),
    "official": RoleLimits(
        depth=12,
        tokens=5000,
        aliases=40,
        page_size=100,
        cost=50_000,
        rate_per_minute=600,
        burst=300,
        list_items=1000,
    ),
    "analyst": RoleLimits(
        depth=12,
        tokens=5000,
        aliases=60,
        page_size=100,
        cost=100_000,
        rate_per_minute=120,
        burst=60,
        list_items=200,
    ),
}


def check_overrides(overrides: dict[str, dict[str, int]]) -> None:
    """Refuse a misspelt tier or limit in the configuration instead of ignoring it."""
    known = {f.name for f in fields(RoleLimits)}
    for tier, changes in overrides.items():
        if tier not in TIERS:
            raise ValueError(f"VILLAGEGRAPH_LIMITS: unknown role {tier!r}; roles are {TIERS}")
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"VILLAGEGRAPH_LIMITS: unknown limits {sorted(unknown)} for {tier}")


def limits_for(overrides: dict[str, dict[str, int]], tier: str) -> RoleLimits:
    """The defaults of a tier with the configured overrides (Settings.limits) applied."""
    base = DEFAULT_LIMITS[tier]
    known = {f.name for f in fields(RoleLimits)}
    changes = {k: int(v) for k, v in (overrides.get(tier) or {}).items() if k in known}
    return replace(base, **changes)


def tier_of(principal: Principal | None) -> str:
    """The limit tier: staff (officials, cadres) before analysts before residents."""
    if principal is None:
        return "anonymous"
    if principal.is_staff:
        return "official"
    if any(g.role == "ANALYST" for g in principal.grants):
        return "analyst"
    return "resident"


@dataclass
class Measure:
    depth: int = 0
    aliases: int = 0
    cost: int = 0
    introspection: bool = False
    operation: str | None = None


class _Walker:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: dict[str, Any],
        limits: RoleLimits,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.limits = limits
        self.measure = Measure()
        self.visits = 0

    def _first(self, field: FieldNode) -> int | None:
        for argument in field.arguments or ():
            if argument.name.value != "first":
                continue
            value = argument.value
            if isinstance(value, IntValueNode):
                return int(value.value)
            if isinstance(value, VariableNode):
                given = self.variables.get(value.name.value)
                return given if isinstance(given, int) else None
        return None

    def _items(self, value: ValueNode | Any, inline: bool = True) -> int:
        """The most items one list in an argument value holds (nested lists included)."""
        if inline and isinstance(value, VariableNode):
            return self._items(self.variables.get(value.name.value), inline=False)
        if inline and isinstance(value, ListValueNode):
            inner = max((self._items(v) for v in value.values), default=0)
            return max(len(value.values), inner)
        if inline and isinstance(value, ObjectValueNode):
            return max((self._items(f.value) for f in value.fields), default=0)
        if isinstance(value, list):
            return max(len(value), max((self._items(v, False) for v in value), default=0))
        if isinstance(value, dict):
            return max((self._items(v, False) for v in value.values()), default=0)
        return 0

    def _list_items(self, field: FieldNode) -> int:
        items = max((self._items(a.value) for a in field.arguments or ()), default=0)
        if items > self.limits.list_items:
            raise QueryTooComplex(
                f"A list argument of `{field.name.value}` has more than "
                f"{self.limits.list_items} items for you.",
                limit="listItems",
                max=self.limits.list_items,
            )
        return items

    def walk(
        self,
        selection_set: SelectionSetNode,
        parent: GraphQLNamedType | None,
        multiplier: int,
        depth: int,
        seen: frozenset[str] = frozenset(),
    ) -> None:
        if depth > self.limits.depth:
            raise QueryTooComplex(
                f"The document nests deeper than {self.limits.depth} levels.",
                limit="depth",
                max=self.limits.depth,
            )
        self.measure.depth = max(self.measure.depth, depth)
        for selection in selection_set.selections:
            self.visits += 1
            if self.visits > MAX_VISITS:  # fragments spread into each other many times over
                raise QueryTooComplex(
                    "The document expands to too many selections.", limit="cost", max=MAX_VISITS
                )
            if isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is not None and name not in seen:
                    condition = self.schema.get_type(fragment.type_condition.name.value)
                    self.walk(fragment.selection_set, condition, multiplier, depth, seen | {name})
            elif isinstance(selection, InlineFragmentNode):
                condition = (
                    self.schema.get_type(selection.type_condition.name.value)
                    if selection.type_condition
                    else parent
                )
                self.walk(selection.selection_set, condition, multiplier, depth, seen)
            elif isinstance(selection, FieldNode):
                self._field(selection, parent, multiplier, depth, seen)

    def _field(
        self,
        field: FieldNode,
        parent: GraphQLNamedType | None,
        multiplier: int,
        depth: int,
        seen: frozenset[str],
    ) -> None:
        name = field.name.value
        if field.alias is not None:
            self.measure.aliases += 1
        if name in ("__schema", "__type", "_service"):
            self.measure.introspection = True
        items = self._list_items(field)
        if field.selection_set is None:
            return
        self.measure.cost += multiplier * (1 + items)
        if self.measure.cost > self.limits.cost:
            raise QueryTooComplex(
                f"The document's estimated cost exceeds your budget of {self.limits.cost}.",
                limit="cost",
                max=self.limits.cost,
            )
        definition = (
            parent.fields.get(name)
            if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType)
            else None
        )
        child: GraphQLNamedType | None = None
        fanout = 1
        if definition is not None:
            child = get_named_type(definition.type)
            if "first" in definition.args:
                first = self._first(field)
                if first is not None and first > self.limits.page_size:
                    raise BadUserInput(
                        f"`first` may be at most {self.limits.page_size} for you.",
                        argument="first",
                    )
                fanout = max(1, DEFAULT_PAGE if first is None else first)
            elif isinstance(get_nullable_type(definition.type), GraphQLList) and not (
                parent is not None and parent.name.endswith("Connection")
            ):
                fanout = items or LIST_FANOUT
        self.walk(field.selection_set, child, multiplier * fanout, depth + 1, seen)


@functools.lru_cache(maxsize=1024)
def _parse(source: str, max_tokens: int) -> DocumentNode:
    """Parsed once per distinct document (clients repeat the same few), never mutated."""
    return parse(source, max_tokens=max_tokens, no_location=True)


def measure_document(
    source: str,
    schema: GraphQLSchema,
    operation_name: str | None,
    variables: dict[str, Any] | None,
    limits: RoleLimits,
) -> Measure | None:
    """Check a document against a tier's limits; raise the client-facing error if over.

    Returns None when the document does not parse or has no operation: GraphQL
    validation then reports that in its usual form. Several operations without a name
    choosing one, or a name matching none, are refused here (BAD_USER_INPUT), so what runs
    is always what was measured.
    """
    try:
        document = _parse(source, limits.tokens)
    except GraphQLError as error:
        if "tokens" in error.message:
            raise QueryTooComplex(
                f"The document has more than {limits.tokens} tokens.",
                limit="tokens",
                max=limits.tokens,
            ) from error
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
        if not operations:
            raise BadUserInput(
                f"The document has no operation named {operation_name!r}.",
                argument="operationName",
            )
    elif len(operations) > 1:
        raise BadUserInput(
            "The document has several operations; name the one to run in `operationName`.",
            argument="operationName",
        )
    if not operations:
        return None
    operation = operations[0]
    root = schema.get_root_type(operation.operation)
    walker = _Walker(schema, fragments, variables or {}, limits)
    walker.walk(operation.selection_set, root, 1, 1)
    walker.measure.operation = operation.name.value if operation.name else None
    if walker.measure.aliases > limits.aliases:
        raise QueryTooComplex(
            f"The document uses more than {limits.aliases} aliases.",
            limit="aliases",
            max=limits.aliases,
        )
    return walker.measure


def check_introspection(measure: Measure | None, tier: str, anonymous_allowed: bool) -> None:
    """The one schema-visibility switch: introspection and `_service { sdl }` alike."""
    if measure is not None and measure.introspection and tier == "anonymous":
        if not anonymous_allowed:
            raise Forbidden(
                "The schema (introspection, `_service`) is available to signed-in callers "
                "and to the federation gateway's token."
            )


class Rate(Protocol):
    """A bucket's refill rate and size (RoleLimits is one)."""

    @property
    def rate_per_minute(self) -> int: ...

    @property
    def burst(self) -> int: ...


@dataclass(frozen=True)
class Bucket:
    rate_per_minute: int
    burst: int


class Buckets(Protocol):
    """Where token buckets live. `take` takes one token from `key`'s bucket and returns 0
    when allowed, else the seconds until one is available. Asynchronous, because the
    service keeps them in the database so that every serving process spends from the same
    bucket (villagegraph/shared.py); RateLimiter below is the in-process arithmetic
    (server/admission.py's LocalBuckets wraps it)."""

    async def take(self, key: str, limits: Rate) -> float: ...


class RateLimiter:
    """Token buckets per key in this process; the oldest idle keys are forgotten past
    `max_keys`."""

    def __init__(self, max_keys: int = 50_000) -> None:
        self.buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self.max_keys = max_keys

    def take(self, key: str, limits: Rate, now: float | None = None) -> float:
        """Take one request from `key`'s bucket; 0 when allowed, else seconds to wait."""
        now = time.monotonic() if now is None else now
        rate = limits.rate_per_minute / 60.0
        tokens, last = self.buckets.pop(key, (float(limits.burst), now))
        tokens = min(float(limits.burst), tokens + (now - last) * rate)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / rate if rate > 0 else 60.0
        self.buckets[key] = (tokens, now)
        while len(self.buckets) > self.max_keys:
            self.buckets.popitem(last=False)
        return wait


def rate_limited(wait: float) -> RateLimited:
    seconds = max(1, math.ceil(wait))
    return RateLimited(f"Too many requests; try again in {seconds} s.", retryAfterSeconds=seconds)
