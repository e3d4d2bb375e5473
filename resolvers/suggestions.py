"""Suggestions (提建议): villagers propose, cadres answer, with a status lifecycle.

submitted → acknowledged → in progress → answered → closed; rejected (with a reason) from
any state before answered. The database enforces the lifecycle (trigger
vg.suggestion_lifecycle, SQLSTATE 55000 on a forbidden move) and who may read or write
(RLS). An answer or a rejection notifies the submitter through the outbox in the same
transaction.
"""

from __future__ import annotations

from datetime import datetime

from villagegraph.models import from_record, from_records
from villagegraph.models.suggestions import Suggestion, SuggestionReply
from villagegraph.resolvers.loaders import Loader, by_key, grouped
from villagegraph.resolvers.measure import Measure
from villagegraph.resolvers.notifications import enqueue_notification
from villagegraph.tenants.session import ScopedSession

SUGGESTION_COLUMNS = (
    "s.id, s.village_code, s.submitted_by, s.title, s.body, s.status, s.reason, "
    "s.submitted_at, s.first_answered_at, s.updated_at"
)
OPEN_STATUSES = ("SUBMITTED", "ACKNOWLEDGED", "IN_PROGRESS")
ANSWERED_STATUSES = ("ANSWERED", "CLOSED")


async def submit(
    db: ScopedSession, village: int, resident_id: int, account_id: int, title: str, body: str
) -> Suggestion:
    record = await db.fetchrow(
        f"""insert into vg.suggestions as s
                (village_code, resident_id, submitted_by, title, body)
            values ($1, $2, $3, $4, $5)
            returning {SUGGESTION_COLUMNS}""",
        village,
        resident_id,
        account_id,
        title,
        body,
    )
    assert record is not None
    row = from_record(Suggestion, record)
    await db.audit("suggestion.submit", village, "suggestion", row.id, {"title": title})
    return row


async def move(
    db: ScopedSession, suggestion: Suggestion, status: str, reason: str | None
) -> Suggestion:
    """Change the status; the first answer's time is set by the reply's trigger."""
    record = await db.fetchrow(
        f"""update vg.suggestions s
               set status = $2, reason = coalesce($3, s.reason), updated_at = now()
             where s.id = $1
         returning {SUGGESTION_COLUMNS}""",
        suggestion.id,
        status,
        reason,
    )
    assert record is not None
    row = from_record(Suggestion, record)
    await db.audit(
        "suggestion.status",
        suggestion.village_code,
        "suggestion",
        suggestion.id,
        {"from": suggestion.status, "to": status, "reason": reason},
    )
    if status == "REJECTED" and suggestion.submitted_by is not None:
        await enqueue_notification(
            db,
            kind="suggestion.rejected",
            tenant=suggestion.village_code,
            recipient_account=suggestion.submitted_by,
            payload={
                "suggestion": suggestion.id,
                "title": suggestion.title,
                "reason": reason,
            },
            idempotency_key=f"suggestion.rejected:{suggestion.id}",
        )
    return row


async def reply(
    db: ScopedSession, suggestion: Suggestion, body: str, account_id: int
) -> Suggestion:
    """Append the reply, mark the suggestion answered and notify the submitter."""
    reply_id = await db.fetchval(
        """insert into vg.suggestion_replies (village_code, suggestion_id, body, replied_by)
           values ($1, $2, $3, $4) returning id""",
        suggestion.village_code,
        suggestion.id,
        body,
        account_id,
    )
    row = await move(db, suggestion, "ANSWERED", None)
    await db.audit("suggestion.reply", suggestion.village_code, "suggestion_reply", reply_id)
    if suggestion.submitted_by is None:
        return row  # handed in on paper: the village office tells the submitter
    await enqueue_notification(
        db,
        kind="suggestion.answered",
        tenant=suggestion.village_code,
        recipient_account=suggestion.submitted_by,
        payload={"suggestion": suggestion.id, "title": suggestion.title, "reply": body},
        idempotency_key=f"suggestion.answered:{suggestion.id}:{reply_id}",
    )
    return row


async def page(
    db: ScopedSession,
    lo: int,
    hi: int,
    status: str | None,
    after: tuple[datetime, int] | None,
    limit: int,
) -> list[Suggestion]:
    after_time, after_id = after or (None, None)
    rows = await db.fetch(
        f"""select {SUGGESTION_COLUMNS} from vg.suggestions s
             where s.village_code between $1 and $2
               and ($3::text is null or s.status = $3)
               and ($4::timestamptz is null or (s.submitted_at, s.id) < ($4, $5))
             order by s.submitted_at desc, s.id desc
             limit $6""",
        lo,
        hi,
        status,
        after_time,
        after_id,
        limit,
    )
    return from_records(Suggestion, rows)


async def count(db: ScopedSession, lo: int, hi: int, status: str | None) -> int:
    return int(
        await db.fetchval(
            """select count(*) from vg.suggestions s
                where s.village_code between $1 and $2 and ($3::text is null or s.status = $3)""",
            lo,
            hi,
            status,
        )
    )


class SuggestionByIdLoader(Loader[int, Suggestion | None]):
    async def batch_load(self, keys: list[int]) -> list[Suggestion | None]:
        rows = await self.db.fetch(
            f"select {SUGGESTION_COLUMNS} from vg.suggestions s where s.id = any($1::bigint[])",
            keys,
        )
        return by_key(from_records(Suggestion, rows), keys, "id")


class RepliesBySuggestionIdLoader(Loader[int, list[SuggestionReply]]):
    async def batch_load(self, keys: list[int]) -> list[list[SuggestionReply]]:
        rows = await self.db.fetch(
            """select id, suggestion_id, body, replied_at from vg.suggestion_replies
                where suggestion_id = any($1::bigint[])
                order by replied_at, id""",
            keys,
        )
        return grouped(from_records(SuggestionReply, rows), keys, "suggestion_id")


# --- analytics measures (resolvers/analytics.py) ---------------------------------------

SUGGESTIONS = Measure(
    name="SUGGESTIONS",
    description="Suggestions (提建议) by village, when submitted; category: status.",
    source="vg.suggestions s",
    tenant="s.village_code",
    time="s.submitted_at",
    category="s.status",
)
