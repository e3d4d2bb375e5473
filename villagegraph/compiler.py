"""The read-side compiler: a query operation whose every selected field has an SQL form
(declared beside its strawberry type, schema/compiled.py) runs as ONE statement that
returns the response's `data` as JSON built by PostgreSQL (json_build_object, json_agg,
correlated subqueries for nested objects, keyset pages with pageInfo and totalCount).

It runs after admission (rate limit, document limits) on the request's own session: the
same transaction, role and RLS context as the general executor, so it cannot see more.
Python parses, validates, coerces variables, prepares each root field's arguments (the
same checks and errors as its resolver), runs the statement and writes the bytes; it
never walks the result. Anything it cannot compile, and any request whose preparation
raises an API error, goes to the general executor whole (`run` returns None), which
answers as it always did. Plans are cached per (document, operation, @skip/@include
values) in a bounded LRU; this module decides nothing about visibility.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLIncludeDirective,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSkipDirective,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    parse,
    validate,
)
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from strawberry.types import ExecutionResult

from villagegraph.errors import INTERNAL_SERVER_ERROR, VillageGraphError, from_database
from villagegraph.schema.compiled import (
    SQL_ROOTS,
    SQL_TYPES,
    Column,
    GeneralPath,
    Many,
    Mapping,
    One,
    OneRow,
    PageRows,
    Rows,
    SqlType,
    utc_iso,
)
from villagegraph.schema.pagination import Keyset
from villagegraph.tenants.session import ScopedSession

log = logging.getLogger("villagegraph.compiler")

PLAN_CACHE_SIZE = 512
INTERNAL_MESSAGE = "Something went wrong on our side; it has been logged."
Source = PageRows | OneRow


class NotCompilable(Exception):
    """Why an operation runs on the general executor (shown by `villagegraph plan`)."""


class CompiledData:
    """The `data` member as PostgreSQL wrote it (JSON text); the view writes it as is."""

    __slots__ = ("json",)

    def __init__(self, json: str) -> None:
        self.json = json


class LRU(OrderedDict[Any, Any]):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def remember(self, key: Any, value: Any) -> Any:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)
        return value

    def recall(self, key: Any, default: Any = None) -> Any:
        if key in self:
            self.move_to_end(key)
            return self[key]
        return default


# --- statement parameters --------------------------------------------------------------

Take = Callable[[Sequence[Source]], Sequence[Any]]


@dataclass
class Params:
    """The statement's `$n` slots in order, each filled per request from the sources."""

    takes: list[Take] = field(default_factory=list)
    count: int = 0

    def rows(self, sql: str, take: Take) -> str:
        """`sql` (own `$1..$k`) renumbered after the slots taken so far."""
        offset = self.count
        numbers = [int(n) for n in re.findall(r"\$(\d+)", sql)]
        self.count += max(numbers, default=0)
        self.takes.append(take)
        return re.sub(r"\$(\d+)", lambda m: f"${int(m[1]) + offset}", sql)

    def value(self, take: Callable[[Sequence[Source]], Any], cast: str) -> str:
        self.count += 1
        self.takes.append(lambda sources: (take(sources),))
        return f"${self.count}::{cast}"

    def args(self, sources: Sequence[Source]) -> list[Any]:
        return [arg for take in self.takes for arg in take(sources)]


# --- plans -------------------------------------------------------------------------------


@dataclass
class Root:
    key: str
    name: str
    nodes: list[FieldNode]
    arguments: dict[str, Any] | None = None  # per request


@dataclass
class Statement:
    sql: str
    params: Params
    effects: list[int]  # root index of each extra column


@dataclass
class Plan:
    """One operation's analysis; its statement is assembled once per shape of sources."""

    compiler: Compiler
    roots: list[Root]
    variables: VariableValues
    fragments: dict[str, FragmentDefinitionNode]
    statements: dict[tuple[Any, ...], Statement] = field(default_factory=dict)

    def statement(self, sources: Sequence[Source]) -> Statement:
        shape = tuple(_shape(source) for source in sources)
        found = self.statements.get(shape)
        if found is None:
            found = Assembly(self).statement(sources)
            self.statements[shape] = found
        return found


def _shape(source: Source) -> tuple[Any, ...]:
    if isinstance(source, PageRows):
        return ("page", source.page.sql, source.count.sql, source.order, source.effect is None)
    return ("one", source.row.sql)


class Compiler:
    def __init__(self, schema: GraphQLSchema, max_depth: int) -> None:
        self.schema = schema
        self.max_depth = max_depth
        self.documents = LRU(PLAN_CACHE_SIZE)
        self.plans = LRU(PLAN_CACHE_SIZE)

    def mapping(self, gtype: GraphQLObjectType) -> SqlType:
        definition = (gtype.extensions or {}).get("strawberry-definition")
        found = SQL_TYPES.get(getattr(definition, "origin", None))  # type: ignore[arg-type]
        if found is None:
            raise NotCompilable(f"{gtype.name} has no SQL form")
        return found

    def _document(self, query: str) -> DocumentNode | None:
        if query not in self.documents:
            try:
                document: DocumentNode | None = parse(query)
            except GraphQLError:
                document = None
            if document is not None and validate(self.schema, document):
                document = None
            self.documents.remember(query, document)
        return self.documents.recall(query)  # type: ignore[no-any-return]

    def plan(
        self, query: str, operation_name: str | None, variables: dict[str, Any] | None
    ) -> Plan:
        """The operation's plan, or NotCompilable saying why not."""
        document = self._document(query)
        if document is None:
            raise NotCompilable("the document does not parse or validate")
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if operation_name is not None:
            operations = [o for o in operations if o.name and o.name.value == operation_name]
        if len(operations) != 1 or operations[0].operation != OperationType.QUERY:
            raise NotCompilable("not exactly one query operation")
        operation = operations[0]
        coerced = get_variable_values(
            self.schema, operation.variable_definitions or (), variables or {}
        )
        if isinstance(coerced, list):
            raise NotCompilable("the variables do not coerce")
        switches = tuple(sorted((k, v) for k, v in coerced.coerced.items() if isinstance(v, bool)))
        key = (query, operation_name, switches)
        cached = self.plans.recall(key)
        if cached is None:
            try:
                cached = self._analyse(document, operation, coerced)
            except NotCompilable as reason:
                cached = reason
            self.plans.remember(key, cached)
        if isinstance(cached, NotCompilable):
            raise cached
        return Plan(self, cached.roots, coerced, cached.fragments, cached.statements)

    def _analyse(
        self, document: DocumentNode, operation: OperationDefinitionNode, variables: VariableValues
    ) -> Plan:
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        plan = Plan(self, [], variables, fragments)
        query_type = self.schema.query_type
        assert query_type is not None
        collected = Collector(plan).collect(query_type, [operation.selection_set])
        if len(collected) > 50:
            raise NotCompilable("more than 50 root fields")
        for key, nodes in collected.items():
            name = nodes[0].name.value
            if name != "__typename" and name not in SQL_ROOTS:
                raise NotCompilable(f"Query.{name} has no SQL form")
            plan.roots.append(Root(key, name, nodes))
        # Build the statement's shape now, so an unmapped nested field is found at plan
        # time (sources are only known per request: the check runs on the selections).
        Assembly(plan).check()
        return plan

    async def run(
        self,
        db: ScopedSession,
        request_id: str,
        query: str,
        operation_name: str | None,
        variables: dict[str, Any] | None,
    ) -> ExecutionResult | None:
        """The operation's result, or None: run it on the general executor."""
        try:
            plan = self.plan(query, operation_name, variables)
        except NotCompilable:
            return None
        try:
            sources = await self._prepare(db, plan)
            statement = plan.statement(sources)
        except (VillageGraphError, GeneralPath, NotCompilable):
            return None
        try:
            row = await db.fetchrow(statement.sql, *statement.params.args(sources))
            assert row is not None
            for column, index in enumerate(statement.effects, start=1):
                effect = sources[index].effect  # type: ignore[union-attr]
                assert effect is not None
                await effect.run(db, list(row[column] or ()))
            await db.close(commit=True)
        except asyncio.CancelledError:
            await _abandon(db)
            raise
        except Exception as error:
            await _abandon(db)
            return ExecutionResult(data=None, errors=[_masked(error, request_id)])
        return ExecutionResult(data=CompiledData(row[0]), errors=None)  # type: ignore[arg-type]

    async def _prepare(self, db: ScopedSession, plan: Plan) -> list[Source]:
        query_type = self.schema.query_type
        assert query_type is not None
        sources: list[Source] = []
        for root in plan.roots:
            if root.name == "__typename":
                sources.append(OneRow(Rows("", ())))
                continue
            arguments = get_argument_values(
                query_type.fields[root.name], root.nodes[0], plan.variables
            )
            sources.append(await SQL_ROOTS[root.name](db, **arguments))
        return sources

    def explain(
        self, query: str, operation_name: str | None, variables: dict[str, Any] | None
    ) -> str:
        """The plan's SQL as it would run for a sample resident (`villagegraph plan`)."""
        try:
            plan = self.plan(query, operation_name, variables)
            sources = asyncio.run(self._prepare(SampleSession(), plan))  # type: ignore[arg-type]
        except NotCompilable as reason:
            return f"-- not compiled, runs on the general executor: {reason}"
        except (VillageGraphError, GeneralPath) as error:
            return f"-- not compiled for this request: {error}"
        statement = plan.statement(sources)
        args = statement.params.args(sources)
        listed = "\n".join(f"-- ${n}: {arg!r}" for n, arg in enumerate(args, start=1))
        return f"{statement.sql}\n{listed}"


def _masked(error: Exception, request_id: str) -> GraphQLError:
    """As MaskInternalErrors shows a failed field: a database error the catalogue knows
    (a statement timeout: QUERY_TOO_COMPLEX) keeps its code, anything else is logged."""
    known = from_database(error)
    if known is not None:
        return GraphQLError(known.message, original_error=error, extensions=known.extensions)
    log.exception("compiled operation failed", extra={"request_id": request_id})
    code = {"code": INTERNAL_SERVER_ERROR, "requestId": request_id}
    return GraphQLError(INTERNAL_MESSAGE, original_error=error, extensions=code)


async def _abandon(db: ScopedSession) -> None:
    try:
        await db.close(commit=False)
    except Exception:  # releasing the connection is what matters
        log.exception("closing a compiled request's session failed")


class SampleSession:
    """A stand-in session for showing plans: a resident of the demo's first village."""

    async def principal(self) -> Any:
        from villagegraph.tenants.principal import Principal

        return Principal(
            account_id=0,
            phone="-",
            display_name="plan",
            resident_id=1,
            household_village=330302006001,
        )


# --- selections --------------------------------------------------------------------------


class Collector:
    """GraphQL's field collection: response key → its field nodes, in first-seen order,
    with fragments merged and @skip/@include applied; other directives do not compile."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan

    def included(self, node: Any) -> bool:
        for directive in node.directives or ():
            name = directive.name.value
            if name not in ("skip", "include"):
                raise NotCompilable(f"directive @{name}")
            which = GraphQLSkipDirective if name == "skip" else GraphQLIncludeDirective
            value = get_argument_values(which, directive, self.plan.variables)["if"]
            if value == (name == "skip"):
                return False
        return True

    def collect(
        self, gtype: GraphQLObjectType, sets: list[SelectionSetNode | None]
    ) -> dict[str, list[FieldNode]]:
        fields: dict[str, list[FieldNode]] = {}
        visited: set[str] = set()
        for selection_set in sets:
            if selection_set is not None:
                self._walk(gtype, selection_set, fields, visited)
        return fields

    def _walk(
        self,
        gtype: GraphQLObjectType,
        selection_set: SelectionSetNode,
        fields: dict[str, list[FieldNode]],
        visited: set[str],
    ) -> None:
        for selection in selection_set.selections:
            if not self.included(selection):
                continue
            if isinstance(selection, FieldNode):
                key = (selection.alias or selection.name).value
                fields.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                if self.applies(gtype, selection.type_condition):
                    self._walk(gtype, selection.selection_set, fields, visited)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.plan.fragments.get(name)
                if name in visited or fragment is None:
                    continue
                visited.add(name)
                if self.applies(gtype, fragment.type_condition):
                    self._walk(gtype, fragment.selection_set, fields, visited)

    def applies(self, gtype: GraphQLObjectType, condition: Any) -> bool:
        if condition is None or condition.name.value == gtype.name:
            return True
        named = self.plan.compiler.schema.get_type(condition.name.value)
        if isinstance(named, GraphQLObjectType):
            return False
        raise NotCompilable("a fragment on an abstract type")


# --- SQL -----------------------------------------------------------------------------------


def json_object(pairs: list[str]) -> str:
    if len(pairs) > 50:
        raise NotCompilable("more than 50 fields in one object")
    return f"json_build_object({', '.join(pairs)})"


def cursor_sql(keyset: Keyset, alias: str) -> str:
    """Keyset.cursor in SQL, byte for byte: url-safe base64 of `json.dumps([...])`."""
    parts = []
    for name, kind in keyset.columns:
        column = f"{alias}.{name}"
        if kind is int:
            parts.append(f"{column}::text")
        elif kind.__name__ == "datetime":
            parts.append(f"'\"' || {utc_iso(column)} || '\"'")
        elif kind.__name__ == "date":
            parts.append(f"'\"' || to_char({column}, 'YYYY-MM-DD') || '\"'")
        else:
            raise NotCompilable(f"a cursor column of type {kind.__name__}")
    listed = " || ', ' || ".join(parts)
    text = f"'[' || {listed} || ']'"
    return f"translate(encode(convert_to({text}, 'UTF8'), 'base64'), E'+/\\n', '-_')"


class Assembly:
    """Builds one plan's statement: the CTEs of each connection, then one json object."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.collector = Collector(plan)
        self.params = Params()
        self.ctes: list[str] = []
        self.extra: list[str] = []
        self.effects: list[int] = []
        self.aliases = 0

    def alias(self) -> str:
        self.aliases += 1
        return f"t{self.aliases}"

    def check(self) -> None:
        """Walk every selection with stand-in sources (raises NotCompilable)."""
        query_type = self.plan.compiler.schema.query_type
        assert query_type is not None
        for root in self.plan.roots:
            if root.name == "__typename":
                continue
            ctype = get_named_type(query_type.fields[root.name].type)
            assert isinstance(ctype, GraphQLObjectType)
            if ctype.name.endswith("Connection"):
                self.connection(0, ctype, root.nodes, _STAND_IN_PAGE, lambda s: s[0])
            else:
                self.object(ctype, root.nodes, "t0", 1)

    def statement(self, sources: Sequence[Source]) -> Statement:
        query_type = self.plan.compiler.schema.query_type
        assert query_type is not None
        pairs = []
        for index, (root, source) in enumerate(zip(self.plan.roots, sources, strict=True)):
            if root.name == "__typename":
                pairs.append(f"'{root.key}', '{query_type.name}'")
                continue
            gtype = get_named_type(query_type.fields[root.name].type)
            assert isinstance(gtype, GraphQLObjectType)
            pairs.append(f"'{root.key}', {self.root(index, gtype, root, source)}")
        ctes = f"with {', '.join(self.ctes)}\n" if self.ctes else ""
        extra = "".join(f", {column}" for column in self.extra)
        sql = f"{ctes}select {json_object(pairs)}::text as data{extra}"
        return Statement(sql, self.params, self.effects)

    def root(self, index: int, gtype: GraphQLObjectType, root: Root, source: Source) -> str:
        def pick(sources: Sequence[Source]) -> Any:
            return sources[index]

        if isinstance(source, PageRows):
            return self.connection(index, gtype, root.nodes, source, pick)
        row = self.params.rows(source.row.sql, lambda s: pick(s).row.args)
        alias = self.alias()
        return f"(select {self.object(gtype, root.nodes, alias, 1)} from ({row}) {alias})"

    def connection(
        self,
        index: int,
        ctype: GraphQLObjectType,
        nodes: list[FieldNode],
        source: PageRows,
        pick: Callable[[Sequence[Source]], Any],
    ) -> str:
        fetched, rows = f"f{index}_fetched", f"f{index}_rows"
        page = self.params.rows(source.page.sql, lambda s: pick(s).page.args)
        size = self.params.value(lambda s: pick(s).size, "int")
        order = source.order
        self.ctes.append(f"{fetched} as materialized ({page})")
        self.ctes.append(
            f"{rows} as (select f.*, row_number() over (order by {order}) as vg_rank"
            f" from {fetched} f order by {order} limit {size})"
        )
        if source.effect is not None:
            self.extra.append(f"array(select e.{source.effect.column} from {rows} e)")
            self.effects.append(index)
        pairs = []
        for key, fields in self.collector.collect(ctype, [n.selection_set for n in nodes]).items():
            name = fields[0].name.value
            subtype = get_named_type(ctype.fields[name].type) if name != "__typename" else None
            if name == "__typename":
                expr = f"'{ctype.name}'"
            elif name == "totalCount":
                expr = f"({self.params.rows(source.count.sql, lambda s: pick(s).count.args)})"
            elif name == "edges":
                assert isinstance(subtype, GraphQLObjectType)
                expr = self.edges(subtype, fields, rows, source.keyset, 2)
            elif name == "pageInfo":
                assert isinstance(subtype, GraphQLObjectType)
                expr = self.page_info(subtype, fields, fetched, rows, size, source.keyset)
            else:
                raise NotCompilable(f"{ctype.name}.{name}")
            pairs.append(f"'{key}', {expr}")
        return json_object(pairs)

    def edges(
        self,
        etype: GraphQLObjectType,
        nodes: list[FieldNode],
        rows: str,
        keyset: Keyset,
        depth: int,
    ) -> str:
        alias = self.alias()
        pairs = []
        for key, fields in self.collector.collect(etype, [n.selection_set for n in nodes]).items():
            name = fields[0].name.value
            if name == "__typename":
                expr = f"'{etype.name}'"
            elif name == "cursor":
                expr = cursor_sql(keyset, alias)
            else:
                node_type = get_named_type(etype.fields[name].type)
                assert isinstance(node_type, GraphQLObjectType)
                expr = self.object(node_type, fields, alias, depth + 1)
            pairs.append(f"'{key}', {expr}")
        edge = json_object(pairs)
        return (
            f"coalesce((select json_agg({edge} order by {alias}.vg_rank)"
            f" from {rows} {alias}), '[]'::json)"
        )

    def page_info(
        self,
        ptype: GraphQLObjectType,
        nodes: list[FieldNode],
        fetched: str,
        rows: str,
        size: str,
        keyset: Keyset,
    ) -> str:
        pairs = []
        for key, fields in self.collector.collect(ptype, [n.selection_set for n in nodes]).items():
            name = fields[0].name.value
            if name == "__typename":
                expr = f"'{ptype.name}'"
            elif name == "hasNextPage":
                expr = f"((select count(*) from {fetched}) > {size})"
            elif name == "endCursor":
                alias = self.alias()
                last = f"{rows} {alias} order by {alias}.vg_rank desc limit 1"
                expr = f"(select {cursor_sql(keyset, alias)} from {last})"
            else:
                raise NotCompilable(f"PageInfo.{name}")
            pairs.append(f"'{key}', {expr}")
        return json_object(pairs)

    def object(
        self, gtype: GraphQLObjectType, nodes: list[FieldNode], alias: str, depth: int
    ) -> str:
        """The JSON of one row (alias) of `gtype` with the selections of `nodes`."""
        if depth >= self.plan.compiler.max_depth:
            raise NotCompilable("deeper than the depth limit")
        mapping = self.plan.compiler.mapping(gtype)
        pairs = []
        for key, fields in self.collector.collect(gtype, [n.selection_set for n in nodes]).items():
            name = fields[0].name.value
            if name == "__typename":
                pairs.append(f"'{key}', '{gtype.name}'")
                continue
            sql = mapping.fields.get(name)
            if sql is None:
                raise NotCompilable(f"{gtype.name}.{name} has no SQL form")
            if any(node.arguments for node in fields):
                raise NotCompilable(f"{gtype.name}.{name} takes arguments")
            pairs.append(f"'{key}', {self.field(gtype, name, sql, fields, alias, depth)}")
        return json_object(pairs)

    def field(
        self,
        gtype: GraphQLObjectType,
        name: str,
        sql: Mapping,
        nodes: list[FieldNode],
        alias: str,
        depth: int,
    ) -> str:
        if isinstance(sql, Column):
            return sql.expr.replace("{t}", alias)
        child_type = get_named_type(gtype.fields[name].type)
        assert isinstance(child_type, GraphQLObjectType)
        child = self.alias()
        where = sql.where.replace("{t}", alias).replace("{c}", child)
        inner = self.object(child_type, nodes, child, depth + 1)
        if isinstance(sql, One):
            return f"(select {inner} from {sql.table} {child} where {where})"
        assert isinstance(sql, Many)
        order = sql.order.replace("{c}", child)
        return (
            f"coalesce((select json_agg({inner} order by {order})"
            f" from {sql.table} {child} where {where}), '[]'::json)"
        )


_STAND_IN_PAGE = PageRows(
    page=Rows("", ()),
    count=Rows("", ()),
    keyset=Keyset(("id", int)),
    order="id",
    size=0,
)
