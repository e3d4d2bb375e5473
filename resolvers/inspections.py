"""Remote inspection (远程验收): officials reading a village's ledger, tasks, notices or
finance from outside the village leave a record of who inspected what, when; and inspection
reports, an inspector's verdict with checklist, findings and evidence, whose RECTIFY verdict
comes with a rectification task (resolvers/tasks.py assigns it) that the inspector reviews.

A GraphQL query's transaction commits when it succeeds, so the record persists with the
read; RLS lets the village and its superiors list the records.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from asyncpg import Record

from villagegraph.models import from_record, from_records
from villagegraph.models.inspections import Inspection, InspectionReportBase
from villagegraph.tenants.principal import Principal
from villagegraph.tenants.session import ScopedSession


async def record_inspection(
    db: ScopedSession,
    principal: Principal,
    *,
    subject: str,
    queried_unit: int,
    villages: set[int],
    search: str | None = None,
) -> None:
    """Record that an official read these villages' ledger or tasks (远程验收).

    Only villages the caller may read in full are inspected, and reads by the village's
    own staff are not inspections.
    """
    own_units = {g.unit for g in principal.grants}
    inspected = sorted(
        v for v in villages if v % 1000 and v not in own_units and principal.can_read_subtree(v)
    )
    if not inspected:
        return
    await db.execute(
        """insert into vg.inspections
               (village_code, account_id, inspector_name, subject, queried_unit, search)
           select v, $2, $3, $4, $5, $6 from unnest($1::bigint[]) v""",
        inspected,
        principal.account_id,
        principal.display_name,
        subject,
        queried_unit,
        search,
    )


async def inspections_page(
    db: ScopedSession, lo: int, hi: int, after: tuple[datetime, int] | None, limit: int
) -> list[Inspection]:
    after_time, after_id = after or (None, None)
    rows = await db.fetch(
        """select i.id, i.village_code, i.account_id, i.inspector_name, i.subject,
                  i.queried_unit, i.search, i.inspected_at
             from vg.inspections i
            where i.village_code between $1 and $2
              and ($3::timestamptz is null or (i.inspected_at, i.id) < ($3, $4))
            order by i.inspected_at desc, i.id desc
            limit $5""",
        lo,
        hi,
        after_time,
        after_id,
        limit,
    )
    return from_records(Inspection, rows)


async def inspections_count(db: ScopedSession, lo: int, hi: int) -> int:
    return int(
        await db.fetchval(
            "select count(*) from vg.inspections where village_code between $1 and $2", lo, hi
        )
    )


# --- inspection reports: 远程验收 with a verdict -------------------------------------------

REPORT_COLUMNS = """r.unit_code, r.id, r.inspector_unit, r.inspected_by, r.subject, r.checklist,
    r.verdict, r.findings, r.evidence, r.rectify_by, r.rectification_task, r.rejections,
    r.review_note, r.accepted_by, r.accepted_at, r.recorded_at,
    case when r.verdict = 'PASS' then null
         when r.accepted_at is not null then 'ACCEPTED'
         when t.completed_at is not null then 'AWAITING_REVIEW'
         else 'RECTIFYING' end as rectification"""
REPORT_SOURCE = """vg.inspection_reports r
    left join vg.tasks t on t.assignee_code = r.unit_code and t.id = r.rectification_task"""


class InspectionReportWithRectification(InspectionReportBase):
    """A report as REPORT_COLUMNS reads it: its columns and where its rectification stands
    (None for a PASS; RECTIFYING, AWAITING_REVIEW or ACCEPTED)."""

    rectification: str | None


def _report(record: Record) -> InspectionReportWithRectification:
    """The checklist arrives as jsonb text; the row carries it decoded."""
    return from_record(
        InspectionReportWithRectification,
        {**record, "checklist": json.loads(record["checklist"])},
    )


async def next_report_id(db: ScopedSession) -> int:
    """The id a report will carry, so its rectification task can name it (`inspection:<id>`)."""
    return int(await db.fetchval("select nextval('vg.inspection_reports_id_seq')"))


async def record_report(
    db: ScopedSession, report: dict[str, Any]
) -> InspectionReportWithRectification:
    """Insert a report (its rectification task already assigned) and audit it."""
    await db.execute(
        """insert into vg.inspection_reports
               (unit_code, id, inspector_unit, inspected_by, subject, checklist, verdict,
                findings, evidence, rectify_by, rectification_task)
           values ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10, $11)""",
        report["unit_code"],
        report["id"],
        report["inspector_unit"],
        report["inspected_by"],
        report["subject"],
        json.dumps(report["checklist"], ensure_ascii=False),
        report["verdict"],
        report["findings"],
        report["evidence"],
        report["rectify_by"],
        report["rectification_task"],
    )
    await db.audit(
        "inspection.record",
        report["unit_code"],
        "inspection_report",
        report["id"],
        {
            "verdict": report["verdict"],
            "subject": report["subject"],
            "rectification_task": report["rectification_task"],
            "evidence": report["evidence"],
        },
    )
    row = await report_by_id(db, report["id"])
    assert row is not None  # the caller just wrote it inside its own subtree
    return row


async def report_by_id(
    db: ScopedSession, report_id: int
) -> InspectionReportWithRectification | None:
    row = await db.fetchrow(
        f"select {REPORT_COLUMNS} from {REPORT_SOURCE} where r.id = $1", report_id
    )
    return None if row is None else _report(row)


async def review_rectification(
    db: ScopedSession, report: InspectionReportBase, *, accepted_by: int | None, note: str | None
) -> InspectionReportWithRectification:
    """Accept (accepted_by set) or reject (counted) a done rectification, with the note."""
    await db.execute(
        """update vg.inspection_reports
              set accepted_by = coalesce($3, accepted_by),
                  rejections = rejections + case when $3::bigint is null then 1 else 0 end,
                  review_note = $4
            where unit_code = $1 and id = $2""",
        report.unit_code,
        report.id,
        accepted_by,
        note,
    )
    action = "inspection.reject" if accepted_by is None else "inspection.accept"
    await db.audit(action, report.unit_code, "inspection_report", report.id, {"note": note})
    row = await report_by_id(db, report.id)
    assert row is not None  # the caller loaded it and reviews it
    return row


async def reports_page(
    db: ScopedSession, lo: int, hi: int, after: tuple[datetime, int] | None, limit: int
) -> list[InspectionReportWithRectification]:
    after_time, after_id = after or (None, None)
    rows = await db.fetch(
        f"""select {REPORT_COLUMNS} from {REPORT_SOURCE}
             where r.unit_code between $1 and $2
               and ($3::timestamptz is null or (r.recorded_at, r.id) < ($3, $4))
             order by r.recorded_at desc, r.id desc
             limit $5""",
        lo,
        hi,
        after_time,
        after_id,
        limit,
    )
    return [_report(row) for row in rows]


async def reports_count(db: ScopedSession, lo: int, hi: int) -> int:
    return int(
        await db.fetchval(
            "select count(*) from vg.inspection_reports where unit_code between $1 and $2", lo, hi
        )
    )
