"""Inspections (远程验收): who read a village's ledger, tasks, notices or finance from outside,
and inspection reports with a verdict.

The reads are recorded by the domains that serve them (resolvers/inspections.record_inspection);
this module lists them. A report (`recordInspection`) carries a checklist, findings, evidence
and a verdict; RECTIFY assigns a supervised rectification task (整改) to the inspected unit,
whose completion the inspecting side accepts or rejects (`reviewRectification`). RLS decides
who may see which inspection or report.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry

from villagegraph import resolvers
from villagegraph.errors import BadUserInput, Conflict, Forbidden, NotFound
from villagegraph.models.inspections import Inspection as InspectionRow
from villagegraph.resolvers.inspections import InspectionReportWithRectification
from villagegraph.resolvers.tasks import TaskByIdLoader
from villagegraph.schema.context import Info
from villagegraph.schema.guards import LoggedIn, authorize, guarded
from villagegraph.schema.hierarchy import OrgUnit, load_unit, require_unit, subtree_bounds
from villagegraph.schema.inputs import division_code, record_id, text
from villagegraph.schema.pagination import Connection, Keyset, Page
from villagegraph.schema.tasks import Task, attachment_links, future_time
from villagegraph.tenants.principal import Principal

# The sort key, and so the cursor, of the connection field below (schema/pagination.py).
INSPECTION_ORDER = Keyset(("inspected_at", datetime), ("id", int))


@strawberry.enum
class InspectionSubject(Enum):
    LEDGER = "LEDGER"
    TASKS = "TASKS"
    NOTICES = "NOTICES"
    FINANCE = "FINANCE"


@strawberry.type(
    description="远程验收: an official outside a village read its ledger, tasks, notices or finance."
)
class Inspection:
    id: strawberry.ID
    subject: InspectionSubject
    inspector_name: str
    search: str | None
    inspected_at: datetime
    village_code: strawberry.Private[int]
    queried_code: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: InspectionRow) -> Inspection:
        return cls(
            id=strawberry.ID(str(row.id)),
            subject=InspectionSubject(row.subject),
            inspector_name=row.inspector_name,
            search=row.search,
            inspected_at=row.inspected_at,
            village_code=row.village_code,
            queried_code=row.queried_unit,
        )

    @strawberry.field(description="The inspected village.")
    async def village(self, info: Info) -> OrgUnit:
        unit = await load_unit(info, self.village_code)
        assert unit is not None
        return unit

    @strawberry.field(description="The unit the inspector asked about (the village or above).")
    async def queried_unit(self, info: Info) -> OrgUnit | None:
        return await load_unit(info, self.queried_code)


@strawberry.type
class InspectionQuery:
    @strawberry.field(
        description="Who read a village's ledger or tasks from outside, newest first."
    )
    async def inspections(
        self,
        info: Info,
        unit: strawberry.ID,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Inspection]:
        page = Page(INSPECTION_ORDER, first, after)
        lo, hi = subtree_bounds(division_code(unit))
        db = info.context.db
        rows = await resolvers.inspections.inspections_page(db, lo, hi, page.after, page.limit)
        return page.connection(
            rows,
            Inspection.from_row,
            lambda: resolvers.inspections.inspections_count(db, lo, hi),
        )


# --- inspection reports ------------------------------------------------------------------

REPORT_ORDER = Keyset(("recorded_at", datetime), ("id", int))
MAX_CHECKLIST = 50


@strawberry.enum
class InspectionVerdict(Enum):
    PASS = "PASS"
    RECTIFY = "RECTIFY"  # 整改


@strawberry.enum(description="Where a RECTIFY verdict's rectification stands.")
class RectificationStatus(Enum):
    RECTIFYING = "RECTIFYING"
    AWAITING_REVIEW = "AWAITING_REVIEW"  # the task is done; the inspector has not decided
    ACCEPTED = "ACCEPTED"


@strawberry.type
class ChecklistItem:
    item: str
    passed: bool
    note: str | None


@strawberry.input
class ChecklistItemInput:
    item: str
    passed: bool
    note: str | None = None


@strawberry.type(description="远程验收 with a verdict: what was checked, found and decided.")
class InspectionReport:
    id: strawberry.ID
    subject: str
    checklist: list[ChecklistItem]
    verdict: InspectionVerdict
    findings: str
    evidence: list[str] = strawberry.field(description="Links to photos and documents.")
    rectify_by: datetime | None
    rectification: RectificationStatus | None
    rejections: int = strawberry.field(description="Times a rectification was sent back.")
    review_note: str | None
    accepted_at: datetime | None
    recorded_at: datetime
    unit_code: strawberry.Private[int]
    inspector_code: strawberry.Private[int]
    task_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: InspectionReportWithRectification) -> InspectionReport:
        return cls(
            id=strawberry.ID(str(row.id)),
            subject=row.subject,
            checklist=[
                ChecklistItem(item=c["item"], passed=c["passed"], note=c.get("note"))
                for c in row.checklist
            ],
            verdict=InspectionVerdict(row.verdict),
            findings=row.findings,
            evidence=list(row.evidence),
            rectify_by=row.rectify_by,
            rectification=(
                None if row.rectification is None else RectificationStatus(row.rectification)
            ),
            rejections=row.rejections,
            review_note=row.review_note,
            accepted_at=row.accepted_at,
            recorded_at=row.recorded_at,
            unit_code=row.unit_code,
            inspector_code=row.inspector_unit,
            task_id=row.rectification_task,
        )

    @strawberry.field(description="The inspected unit.")
    async def unit(self, info: Info) -> OrgUnit:
        unit = await load_unit(info, self.unit_code)
        assert unit is not None
        return unit

    @strawberry.field(description="The inspecting unit.")
    async def inspector(self, info: Info) -> OrgUnit:
        unit = await load_unit(info, self.inspector_code)
        assert unit is not None
        return unit

    @strawberry.field(description="The supervised rectification task (整改), for RECTIFY.")
    async def rectification_task(self, info: Info) -> Task | None:
        if self.task_id is None:
            return None
        row = await info.context.loader(TaskByIdLoader).load(self.task_id)
        return None if row is None else Task.from_row(row)


def _checklist(items: list[ChecklistItemInput] | None) -> list[dict[str, Any]]:
    if len(items or []) > MAX_CHECKLIST:
        raise BadUserInput(f"At most {MAX_CHECKLIST} checklist items.", argument="checklist")
    return [
        {
            "item": text(c.item, "checklist", max_length=200),
            "passed": c.passed,
            "note": None if c.note is None else text(c.note, "checklist", max_length=1000),
        }
        for c in items or []
    ]


@strawberry.type
class InspectionReportQuery:
    @strawberry.field(description="Inspection reports on units inside a subtree, newest first.")
    async def inspection_reports(
        self,
        info: Info,
        unit: strawberry.ID,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[InspectionReport]:
        page = Page(REPORT_ORDER, first, after)
        lo, hi = subtree_bounds(division_code(unit))
        db = info.context.db
        rows = await resolvers.inspections.reports_page(db, lo, hi, page.after, page.limit)
        return page.connection(
            rows,
            InspectionReport.from_row,
            lambda: resolvers.inspections.reports_count(db, lo, hi),
        )


@strawberry.type
class InspectionMutation:
    @strawberry.mutation(
        description="An official records an inspection of a unit below it; RECTIFY needs "
        "findings and `rectifyBy`, and assigns a supervised rectification task (整改).",
        extensions=guarded(LoggedIn("record inspections")),
    )
    async def record_inspection(
        self,
        info: Info,
        unit: strawberry.ID,
        subject: str,
        verdict: InspectionVerdict,
        checklist: list[ChecklistItemInput] | None = None,
        findings: str | None = None,
        evidence: list[str] | None = None,
        rectify_by: datetime | None = None,
    ) -> InspectionReport:
        code = division_code(unit)
        about = text(subject, "subject", max_length=200)
        items = _checklist(checklist)
        found = text(findings or "", "findings", max_length=5000, required=False)
        links = attachment_links(evidence, "evidence")
        rectify = verdict is InspectionVerdict.RECTIFY
        if rectify and (rectify_by is None or not found):
            raise BadUserInput(
                "A RECTIFY verdict needs `findings` and a `rectifyBy` date.", argument="rectifyBy"
            )
        if not rectify and rectify_by is not None:
            raise BadUserInput("Only a RECTIFY verdict takes `rectifyBy`.", argument="rectifyBy")
        deadline = None if rectify_by is None else future_time(rectify_by, "rectifyBy")
        await require_unit(info, code)
        principal = await authorize(
            info,
            Principal.issues_to,
            code,
            refusal="Inspect only units below the ones you serve.",
            argument="unit",
        )
        inspector = principal.issuer_for(code)
        db = info.context.db
        report_id = await resolvers.inspections.next_report_id(db)
        task_id = None
        if deadline is not None:
            [task] = await resolvers.tasks.assign(
                db,
                assignments=[(code, inspector)],
                title=f"整改：{about}",
                body=found,
                due_at=deadline,
                supervised=True,
                attachments=links,
                account_id=principal.account_id,
                source_key=f"inspection:{report_id}",
            )
            task_id = task.id
        row = await resolvers.inspections.record_report(
            db,
            {
                "unit_code": code,
                "id": report_id,
                "inspector_unit": inspector,
                "inspected_by": principal.account_id,
                "subject": about,
                "checklist": items,
                "verdict": verdict.value,
                "findings": found,
                "evidence": links,
                "rectify_by": deadline,
                "rectification_task": task_id,
            },
        )
        return InspectionReport.from_row(row)

    @strawberry.mutation(
        description="The inspecting side accepts a completed rectification, or rejects it "
        "with a reason (`note`) and a new `rectifyBy`, which reopens the task.",
        extensions=guarded(LoggedIn("review rectifications")),
    )
    async def review_rectification(
        self,
        info: Info,
        inspection: strawberry.ID,
        accept: bool,
        note: str | None = None,
        rectify_by: datetime | None = None,
    ) -> InspectionReport:
        db = info.context.db
        report = await resolvers.inspections.report_by_id(db, record_id(inspection, "inspection"))
        if report is None:
            raise NotFound(
                "No such inspection, or it is not visible to you.", argument="inspection"
            )
        if report.rectification_task is None:
            raise Conflict("This inspection passed; there is no rectification to review.")
        task = await info.context.loader(TaskByIdLoader).load(report.rectification_task)
        reviewers = "Only the inspecting unit or its superiors review this rectification."
        if task is None:  # RLS hides the task from all but the two sides: not a reviewer
            raise Forbidden(reviewers)
        principal = await authorize(
            info, Principal.acts_for_issuer, task.issuer_code, refusal=reviewers
        )
        if report.rectification != "AWAITING_REVIEW":
            raise Conflict("The rectification is not awaiting review (not done, or accepted).")
        cleaned = None if note is None else text(note, "note", max_length=2000, required=False)
        if accept:
            row = await resolvers.inspections.review_rectification(
                db, report, accepted_by=principal.account_id, note=cleaned or None
            )
            return InspectionReport.from_row(row)
        if not cleaned or rectify_by is None:
            raise BadUserInput(
                "Rejecting needs a reason (`note`) and a new `rectifyBy`.", argument="rectifyBy"
            )
        reopened = await resolvers.tasks.reopen(
            db, task, future_time(rectify_by, "rectifyBy"), cleaned
        )
        tasks = info.context.loader(TaskByIdLoader)
        tasks.clear(task.id)
        tasks.prime(task.id, reopened)
        row = await resolvers.inspections.review_rectification(
            db, report, accepted_by=None, note=cleaned
        )
        return InspectionReport.from_row(row)
