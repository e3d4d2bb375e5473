"""Exports for reporting upward (上报): `GET /export/{dashboard|statistics|analytics|tasks}.{xlsx|csv}`.

The GraphQL field's arguments are the query parameters; the bearer token is the same. An
export never reads the database itself: it executes the corresponding GraphQL operation
through the GraphQL view (the same schema, per-request context, RLS, masking, admission and
limits; `VillageGraphQL.execute_internal`) and flattens the answer into rows, so it can never
show more than that caller's GraphQL answer. A task list is read page by page (each page one
operation) up to MAX_EXPORT_ROWS. Workbooks are written by openpyxl; CSV carries a UTF-8 BOM
so Excel opens Chinese text correctly.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from openpyxl import Workbook
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

if TYPE_CHECKING:
    from villagegraph.server.view import VillageGraphQL

MAX_EXPORT_ROWS = 5000
TASK_PAGE = 100

# HTTP status per error code of villagegraph/errors.py.
STATUS = {
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "BAD_USER_INPUT": 400,
    "QUERY_TOO_COMPLEX": 400,
    "RATE_LIMITED": 429,
}

Row = dict[str, Any]


@dataclass(frozen=True)
class Parameter:
    """A query parameter: the GraphQL variable it fills and how it is read."""

    variable: str
    kind: str = "text"  # text | list | int | bool


@dataclass(frozen=True)
class ExportKind:
    document: str
    parameters: dict[str, Parameter]
    columns: tuple[str, ...]
    numeric: frozenset[str]
    rows: Callable[[dict[str, Any]], list[Row] | None]  # None: the field was null


DASHBOARD_FIGURES = (
    "residents partyMembers cadres noticesPublished noticeReach openConsultations "
    "resolvedConsultations openSuggestions answeredSuggestions medianHoursToFirstAnswer "
    "income expense openTasks overdueTasks supervisedOverdueTasks tasksCompleted "
    "tasksCompletedOnTime onTimeCompletionRate villagesOutOfCompliance"
).split()
OWN_FIGURES = (
    "noticesPublished openTasks overdueTasks supervisedOverdueTasks tasksCompleted "
    "tasksCompletedOnTime"
).split()


def _dashboard_rows(data: dict[str, Any]) -> list[Row] | None:
    board = data["dashboard"]
    if board is None:
        return None

    def row(node: dict[str, Any], part: str, figures: list[str]) -> Row:
        return {"part": part, **_unit(node["unit"], "unit"), **{f: node.get(f) for f in figures}}

    own = {"part": "own", **_unit(board["unit"], "unit"), **(board["own"] or {})}
    return [
        row(board, "total", DASHBOARD_FIGURES),
        own,
        *(row(child, "child", DASHBOARD_FIGURES) for child in board["children"]),
    ]


def _unit(unit: dict[str, Any] | None, prefix: str) -> Row:
    unit = unit or {}
    return {f"{prefix}.code": unit.get("code"), f"{prefix}.name": unit.get("name")}


def _statistics_rows(data: dict[str, Any]) -> list[Row] | None:
    stats = data["residentStatistics"]
    if stats is None:
        return None
    total = {"on": stats["on"], **_unit(stats["unit"], "unit"), "count": stats["total"]}
    return [
        total,
        *(
            {
                "on": stats["on"],
                **_unit(group["unit"] or stats["unit"], "unit"),
                "ageBand": group["ageBand"],
                "gender": group["gender"],
                "tag": group["tag"],
                "count": group["count"],
            }
            for group in stats["groups"]
        ),
    ]


def _analytics_rows(data: dict[str, Any]) -> list[Row] | None:
    result = data["analytics"]
    return [
        {
            "measure": result["measure"],
            **_unit(group["unit"], "unit"),
            "month": group["month"],
            "category": group["category"],
            "value": group["value"],
        }
        for group in result["groups"]
    ]


def _task_rows(data: dict[str, Any]) -> list[Row] | None:
    return [
        {
            **{k: v for k, v in node.items() if not isinstance(v, dict)},
            **_unit(node["issuer"], "issuer"),
            **_unit(node["assignee"], "assignee"),
            "escalatedTo.code": (node["escalatedTo"] or {}).get("code"),
        }
        for node in (edge["node"] for edge in data["tasks"]["edges"])
    ]


UNIT = "unit { code name }"
KINDS: dict[str, ExportKind] = {
    "dashboard": ExportKind(
        document=f"""query Export($unit: ID!, $from: String, $to: String) {{
            dashboard(unit: $unit, from: $from, to: $to) {{
              {UNIT} {" ".join(DASHBOARD_FIGURES)} own {{ {" ".join(OWN_FIGURES)} }}
              children {{ {UNIT} {" ".join(DASHBOARD_FIGURES)} }} }} }}""",
        parameters={"unit": Parameter("unit"), "from": Parameter("from"), "to": Parameter("to")},
        columns=("part", "unit.code", "unit.name", *DASHBOARD_FIGURES),
        numeric=frozenset({"income", "expense"}),
        rows=_dashboard_rows,
    ),
    "statistics": ExportKind(
        document=f"""query Export($unit: ID!, $on: Date, $by: [ResidentDimension!],
                                  $tags: [String!]) {{
            residentStatistics(unit: $unit, on: $on, by: $by, tags: $tags) {{
              {UNIT} on total groups {{ ageBand gender tag count {UNIT} }} }} }}""",
        parameters={
            "unit": Parameter("unit"),
            "on": Parameter("on"),
            "by": Parameter("by", "list"),
            "tags": Parameter("tags", "list"),
        },
        columns=("on", "unit.code", "unit.name", "ageBand", "gender", "tag", "count"),
        numeric=frozenset(),
        rows=_statistics_rows,
    ),
    "analytics": ExportKind(
        document=f"""query Export($measure: AnalyticsMeasure!, $unit: ID!,
                                  $by: [AnalyticsDimension!]!, $from: String, $to: String,
                                  $limit: Int) {{
            analytics(measure: $measure, unit: $unit, by: $by, from: $from, to: $to,
                      limit: $limit) {{
              measure truncated groups {{ {UNIT} month category value }} }} }}""",
        parameters={
            "measure": Parameter("measure"),
            "unit": Parameter("unit"),
            "by": Parameter("by", "list"),
            "from": Parameter("from"),
            "to": Parameter("to"),
            "limit": Parameter("limit", "int"),
        },
        columns=("measure", "unit.code", "unit.name", "month", "category", "value"),
        numeric=frozenset({"value"}),
        rows=_analytics_rows,
    ),
    "tasks": ExportKind(
        document="""query Export($unit: ID!, $status: TaskStatus, $escalated: Boolean,
                                 $first: Int, $after: String) {
            tasks(unit: $unit, status: $status, escalated: $escalated, first: $first,
                  after: $after) {
              pageInfo { hasNextPage endCursor }
              edges { node { id title status supervised dueAt createdAt acknowledgedAt
                             completedAt urgeCount issuer { code name }
                             assignee { code name } escalatedTo { code } } } } }""",
        parameters={
            "unit": Parameter("unit"),
            "status": Parameter("status"),
            "escalated": Parameter("escalated", "bool"),
        },
        columns=(
            "id",
            "title",
            "status",
            "supervised",
            "dueAt",
            "createdAt",
            "acknowledgedAt",
            "completedAt",
            "urgeCount",
            "issuer.code",
            "issuer.name",
            "assignee.code",
            "assignee.name",
            "escalatedTo.code",
        ),
        numeric=frozenset(),
        rows=_task_rows,
    ),
}


class ExportError(Exception):
    def __init__(self, status: int, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0]["message"] if errors else "export failed")
        self.status = status
        self.errors = errors


def _refusal(status: int, code: str, message: str) -> ExportError:
    return ExportError(status, [{"message": message, "extensions": {"code": code}}])


def variables_of(kind: ExportKind, request: Request) -> dict[str, Any]:
    """The query parameters as the operation's variables; anything else is refused."""
    variables: dict[str, Any] = {}
    for name in request.query_params:
        parameter = kind.parameters.get(name)
        if parameter is None:
            known = ", ".join(kind.parameters)
            raise _refusal(400, "BAD_USER_INPUT", f"Unknown parameter `{name}`; use {known}.")
        values = request.query_params.getlist(name)
        if parameter.kind == "list":
            variables[parameter.variable] = [v for value in values for v in value.split(",") if v]
            continue
        if len(values) != 1:
            raise _refusal(400, "BAD_USER_INPUT", f"Give `{name}` once.")
        value = values[0]
        if parameter.kind == "int":
            if not value.lstrip("-").isdigit():
                raise _refusal(400, "BAD_USER_INPUT", f"`{name}` must be a whole number.")
            variables[parameter.variable] = int(value)
        elif parameter.kind == "bool":
            if value not in ("true", "false"):
                raise _refusal(400, "BAD_USER_INPUT", f"`{name}` must be true or false.")
            variables[parameter.variable] = value == "true"
        else:
            variables[parameter.variable] = value
    return variables


class Export:
    """The ASGI endpoint; BearerAuth in front of it reads the token as for /graphql."""

    def __init__(self, view: VillageGraphQL) -> None:
        self.view = view

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response = await self.respond(request)
        await response(scope, receive, send)

    async def respond(self, request: Request) -> Response:
        name, _, form = str(request.path_params.get("file", "")).partition(".")
        kind = KINDS.get(name)
        if kind is None or form not in ("xlsx", "csv"):
            known = ", ".join(f"{k}.xlsx|csv" for k in KINDS)
            return JSONResponse(
                {
                    "errors": [
                        {"message": f"Exports: {known}.", "extensions": {"code": "NOT_FOUND"}}
                    ]
                },
                status_code=404,
            )
        try:
            rows = await self.rows(kind, name, variables_of(kind, request), request)
        except ExportError as error:
            return JSONResponse({"errors": error.errors}, status_code=error.status)
        filename = f"{name}-{request.query_params.get('unit', 'export')}.{form}"
        headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
        if form == "csv":
            return Response(
                as_csv(kind.columns, rows),
                media_type="text/csv; charset=utf-8",
                headers=headers,
            )
        return Response(
            as_xlsx(name, kind.columns, kind.numeric, rows),
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers=headers,
        )

    async def rows(
        self, kind: ExportKind, name: str, variables: dict[str, Any], request: Request
    ) -> list[Row]:
        if name != "tasks":
            return self.flatten(kind, await self.run(kind, variables, request))
        rows: list[Row] = []
        after = None
        while len(rows) < MAX_EXPORT_ROWS:
            page = {**variables, "first": TASK_PAGE, "after": after}
            data = await self.run(kind, page, request)
            rows += self.flatten(kind, data)
            info = data["tasks"]["pageInfo"]
            if not info["hasNextPage"]:
                break
            after = info["endCursor"]
        return rows[:MAX_EXPORT_ROWS]

    async def run(
        self, kind: ExportKind, variables: dict[str, Any], request: Request
    ) -> dict[str, Any]:
        result = await self.view.execute_internal(request, kind.document, variables)
        if result.errors:
            errors: list[dict[str, Any]] = [dict(error.formatted) for error in result.errors]
            code = str((errors[0].get("extensions") or {}).get("code", ""))
            raise ExportError(STATUS.get(code, 500), errors)
        assert result.data is not None
        return result.data

    @staticmethod
    def flatten(kind: ExportKind, data: dict[str, Any]) -> list[Row]:
        rows = kind.rows(data)
        if rows is None:
            raise _refusal(404, "NOT_FOUND", "Nothing to export: not visible to you.")
        return rows


def as_csv(columns: tuple[str, ...], rows: list[Row]) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
    return ("\ufeff" + text.getvalue()).encode("utf-8")


def as_xlsx(
    title: str, columns: tuple[str, ...], numeric: frozenset[str], rows: list[Row]
) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title)
    sheet.append(list(columns))
    for row in rows:
        sheet.append([_cell(row.get(c), c in numeric) for c in columns])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _cell(value: Any, numeric: bool) -> Any:
    if numeric and isinstance(value, str):
        return Decimal(value)
    return value
