"""Consultations (码上协商): the roll, secret ballots, tallies, the statutory decision, closing.

The database enforces what matters under concurrency: one ballot per elector (primary
key), eligibility (foreign key to the roll fixed at creation), the voting window (a trigger
that locks the consultation row against a concurrent close). Ballot rows are readable only
by their voter; turnout comes from vg.consultation_tallies, and per-option counts only from
a closed consultation's fixed result. This module never decides who may
see a consultation; RLS does.

The decision rules of the Organic Law of Villagers' Committees (村民委员会组织法) live in
the database too (vg.consultation_decision), and so does the result: on closing, the
trigger vg.consultation_result fixes the counts and the decision; a closed consultation
never changes. Closing here words and publishes the resolution and notifies.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast

import asyncpg

from villagegraph.models import from_record, from_records
from villagegraph.models.consultations import (
    BallotProxy,
    ConsultationBase,
    ConsultationComment,
    ConsultationElector,
    DecisionRule,
)

# The domain's democracy scan, re-exported for villagegraph.domains (worker scans).
from villagegraph.resolvers.democracy import raise_democracy_tasks as raise_democracy_tasks
from villagegraph.resolvers.loaders import Loader, by_key, grouped
from villagegraph.resolvers.measure import Measure
from villagegraph.resolvers.notices import insert_notice
from villagegraph.resolvers.notifications import announce, enqueue_notification
from villagegraph.tenants.session import ScopedSession

VOTING_AGE = 18

CONSULTATION_COLUMNS = (
    "c.id, c.village_code, c.title, c.description, c.options, c.opens_at, c.closes_at, "
    "c.rule, c.eligibility, c.created_by, c.created_at, c.closed_at, c.eligible_count, "
    "c.eligible_households, c.ballots_cast, c.households_voted, c.votes, c.quorum_met, "
    "c.winning_option, c.passed, c.resolution_notice_id, c.counts_published, "
    "vg.rule_is_binding(c.rule) as binding, "
    "case when c.closed_at is not null then 'CLOSED' when now() < c.opens_at then 'DRAFT' "
    "else 'OPEN' end as status, "
    "(c.closed_at is null and now() >= c.opens_at and now() < c.closes_at) as voting_open"
)


class ConsultationWithStatus(ConsultationBase):
    """A consultation as CONSULTATION_COLUMNS reads it: its columns, the status derived at
    read time (DRAFT, OPEN or CLOSED) and whether ballots are accepted now."""

    binding: bool
    status: str
    voting_open: bool


STATUS_SQL = (
    "case when c.closed_at is not null then 'CLOSED' when now() < c.opens_at then 'DRAFT' "
    "else 'OPEN' end"
)

# Who is on the roll, by eligibility: household-registered adults (the default), those plus
# residents the village admitted as members, or the villagers' representatives appointed
# (村民代表, art. 25) and in office on the first day of voting.
ELECTORS_SQL = {
    "VILLAGERS": "r.village_code = c.village_code",
    "VILLAGERS_AND_RESIDENTS": (
        "(r.village_code = c.village_code"
        " or (r.residence_code = c.village_code and r.residence_member))"
    ),
    "REPRESENTATIVES": (
        "r.village_code = c.village_code and exists (select 1 from vg.cadres k"
        " where k.village_code = c.village_code and k.body = 'REPRESENTATIVES'"
        " and k.resident_village = r.village_code and k.resident_id = r.id"
        " and vg.in_term(k.term_start, k.term_end, (c.opens_at at time zone 'Asia/Shanghai')::date))"
    ),
}


class Statements(Protocol):
    """What closing needs from a connection: a request's ScopedSession or the worker's."""

    async def fetch(self, sql: str, /, *args: Any) -> list[Any]: ...
    async def fetchrow(self, sql: str, /, *args: Any) -> Any: ...
    async def fetchval(self, sql: str, /, *args: Any) -> Any: ...
    async def execute(self, sql: str, /, *args: Any) -> str: ...


@dataclass(frozen=True)
class Tally:
    """Turnout of a consultation; per-option votes only once it is closed."""

    votes: list[int] | None
    ballots: int
    households: int
    electors: int
    elector_households: int

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Tally:
        """A row of vg.consultation_tallies."""
        return cls(
            votes=None,
            ballots=int(row["ballots"]),
            households=int(row["households"]),
            electors=int(row["electors"]),
            elector_households=int(row["elector_households"]),
        )

    @classmethod
    def from_closed(cls, row: ConsultationBase) -> Tally:
        """The result a closed consultation fixed (vg.consultation_result sets them all)."""
        assert row.ballots_cast is not None
        assert row.households_voted is not None and row.eligible_count is not None
        assert row.eligible_households is not None
        return cls(
            votes=None if row.votes is None else list(row.votes),
            ballots=row.ballots_cast,
            households=row.households_voted,
            electors=row.eligible_count,
            elector_households=row.eligible_households,
        )


async def create(
    db: ScopedSession,
    village: int,
    title: str,
    description: str,
    options: list[str],
    opens_at: datetime,
    closes_at: datetime,
    rule: str,
    eligibility: str,
    account_id: int,
) -> tuple[ConsultationWithStatus, int]:
    """The new consultation and the number of electors enrolled on its roll."""
    record = await db.fetchrow(
        f"""insert into vg.consultations as c
                (village_code, title, description, options, opens_at, closes_at, rule,
                 eligibility, created_by)
            values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            returning {CONSULTATION_COLUMNS}""",
        village,
        title,
        description,
        options,
        opens_at,
        closes_at,
        rule,
        eligibility,
        account_id,
    )
    assert record is not None
    row = from_record(ConsultationWithStatus, record)
    # Age is reckoned on the first day of voting, in China Standard Time; a resident
    # without a known birth date is not on the roll.
    enrolled = await db.execute(
        f"""insert into vg.consultation_electors
                (village_code, consultation_id, resident_village, resident_id, household)
            select c.village_code, c.id, r.village_code, r.id,
                   coalesce(r.household_no, r.village_code || '/' || r.id)
              from vg.consultations c
              join vg.residents r on {ELECTORS_SQL[eligibility]}
             where c.village_code = $1 and c.id = $2
               and r.birth_date <= ((c.opens_at at time zone 'Asia/Shanghai')::date
                                    - interval '{VOTING_AGE} years')""",
        village,
        row.id,
    )
    electors = int(enrolled.split()[-1])
    # The village learns that a vote is coming (a broadcast the worker fans out).
    await announce(
        db,
        kind="consultation.opened",
        tenant=village,
        audience="MEMBERS",
        created_by=account_id,
        payload={
            "consultation": row.id,
            "title": title,
            "opens_at": opens_at,
            "closes_at": closes_at,
            "electors": electors,
        },
    )
    await db.audit(
        "consultation.create",
        village,
        "consultation",
        row.id,
        {
            "title": title,
            "options": options,
            "rule": rule,
            "eligibility": eligibility,
            "electors": electors,
        },
    )
    return row, electors


async def page(
    db: ScopedSession,
    lo: int,
    hi: int,
    status: str | None,
    after: tuple[datetime, int] | None,
    limit: int,
) -> list[ConsultationWithStatus]:
    after_time, after_id = after or (None, None)
    rows = await db.fetch(
        f"""select {CONSULTATION_COLUMNS} from vg.consultations c
             where c.village_code between $1 and $2
               and ($3::text is null or {STATUS_SQL} = $3)
               and ($4::timestamptz is null or (c.opens_at, c.id) < ($4, $5))
             order by c.opens_at desc, c.id desc
             limit $6""",
        lo,
        hi,
        status,
        after_time,
        after_id,
        limit,
    )
    return from_records(ConsultationWithStatus, rows)


async def count(db: ScopedSession, lo: int, hi: int, status: str | None) -> int:
    return int(
        await db.fetchval(
            f"""select count(*) from vg.consultations c
                 where c.village_code between $1 and $2
                   and ($3::text is null or {STATUS_SQL} = $3)""",
            lo,
            hi,
            status,
        )
    )


async def is_elector(
    db: ScopedSession, consultation: ConsultationBase, village: int, resident: int
) -> bool:
    return bool(
        await db.fetchval(
            """select exists (select 1 from vg.consultation_electors
                where village_code = $1 and consultation_id = $2
                  and resident_village = $3 and resident_id = $4)""",
            consultation.village_code,
            consultation.id,
            village,
            resident,
        )
    )


async def cast_ballot(
    db: ScopedSession,
    consultation: ConsultationBase,
    option: int,
    elector: tuple[int, int],
    *,
    proxy: tuple[int, int] | None = None,
) -> None:
    """The elector's ballot from the app, or cast by its authorised proxy; the database
    refuses a second ballot (whatever its channel) or one outside the window."""
    await db.execute(
        """insert into vg.ballots
               (village_code, consultation_id, resident_village, resident_id, option_index,
                channel, proxy_village, proxy_id)
           values ($1, $2, $3, $4, $5, $6, $7, $8)""",
        consultation.village_code,
        consultation.id,
        *elector,
        option,
        "APP" if proxy is None else "PROXY",
        *(proxy or (None, None)),
    )
    # The audit row says that a ballot was cast (and by proxy for whom), never for what; the
    # database dates it to the day (vg.audit_ballot_day).
    detail = None if proxy is None else {"for_resident": elector[1]}
    action = "consultation.ballot" if proxy is None else "consultation.ballot_by_proxy"
    await db.audit(action, consultation.village_code, "consultation", consultation.id, detail)


async def record_paper_ballot(
    db: ScopedSession,
    consultation: ConsultationBase,
    option: int,
    elector: tuple[int, int],
    witness: int,
    account_id: int,
) -> None:
    """A paper ballot cast at a polling station, recorded by staff and co-signed by a
    supervisory-committee member (the trigger vg.ballot_channel_check checks the witness)."""
    await db.execute(
        """insert into vg.ballots
               (village_code, consultation_id, resident_village, resident_id, option_index,
                channel, recorded_by, witness_cadre)
           values ($1, $2, $3, $4, $5, 'PAPER', $6, $7)""",
        consultation.village_code,
        consultation.id,
        *elector,
        option,
        account_id,
        witness,
    )
    await db.audit(
        "consultation.ballot_on_paper",
        consultation.village_code,
        "consultation",
        consultation.id,
        {"elector": elector[1], "witness": witness},
    )


async def authorize_proxy(
    db: ScopedSession,
    consultation: ConsultationBase,
    principal: tuple[int, int],
    proxy: tuple[int, int],
    account_id: int,
) -> BallotProxy:
    row = await db.fetchrow(
        """insert into vg.ballot_proxies
               (village_code, consultation_id, principal_village, principal_id, proxy_village,
                proxy_id, authorized_by)
           values ($1, $2, $3, $4, $5, $6, $7)
           returning *""",
        consultation.village_code,
        consultation.id,
        *principal,
        *proxy,
        account_id,
    )
    await db.audit(
        "consultation.proxy",
        consultation.village_code,
        "consultation",
        consultation.id,
        {"principal": principal[1], "proxy": proxy[1]},
    )
    assert row is not None
    return from_record(BallotProxy, row)


async def elector_of(
    db: ScopedSession, consultation: ConsultationBase, resident: int
) -> ConsultationElector | None:
    """A resident's roll entry (staff read the whole roll, an elector its own)."""
    row = await db.fetchrow(
        """select resident_village, resident_id, household from vg.consultation_electors
            where village_code = $1 and consultation_id = $2 and resident_id = $3""",
        consultation.village_code,
        consultation.id,
        resident,
    )
    return None if row is None else from_record(ConsultationElector, row)


async def proxy_principal(
    db: ScopedSession, consultation: ConsultationBase, principal: int
) -> BallotProxy | None:
    """The caller's authorisation to vote for `principal` (RLS: the proxy reads its own)."""
    row = await db.fetchrow(
        """select principal_village, principal_id from vg.ballot_proxies
            where village_code = $1 and consultation_id = $2 and principal_id = $3
              and proxy_village = vg.household_village() and proxy_id = vg.resident_id()""",
        consultation.village_code,
        consultation.id,
        principal,
    )
    return None if row is None else from_record(BallotProxy, row)


async def comment(
    db: ScopedSession, consultation: ConsultationBase, body: str, account_id: int, author: str
) -> ConsultationComment:
    """The new comment (id, consultation_id, author_name, body, created_at)."""
    record = await db.fetchrow(
        """insert into vg.consultation_comments
               (village_code, consultation_id, author_account, author_name, body)
           values ($1, $2, $3, $4, $5)
           returning id, consultation_id, author_name, body, created_at""",
        consultation.village_code,
        consultation.id,
        account_id,
        author,
        body,
    )
    assert record is not None
    row = from_record(ConsultationComment, record)
    await db.audit(
        "consultation.comment", consultation.village_code, "consultation_comment", row.id
    )
    return row


def resolution_text(closed: ConsultationWithStatus, rule: DecisionRule) -> str:
    """The resolution as published, worded by the city's decision rule: turnout, the count
    of every option (unless below the published minimum), and the outcome. A poll (意见征集)
    is worded as advice; only the statutory rules form a 决议."""
    options = list(closed.options)
    winner = closed.winning_option
    kind = "决议" if closed.binding else "意见征集"
    if not closed.counts_published or closed.votes is None:
        outcome = rule.wording_turnout_only.replace("%s", str(rule.min_published_ballots))
    elif winner is not None:
        outcome = rule.wording_passed.replace("%s", options[winner])
    elif not closed.quorum_met:
        outcome = rule.wording_invalid
    else:
        outcome = rule.wording_no_majority
    counts = (
        [f"{label}：{votes} 票" for label, votes in zip(options, closed.votes, strict=True)]
        if closed.counts_published and closed.votes is not None
        else []
    )
    return (
        f"【{kind}】{closed.description}\n\n"
        f"应参与 {closed.eligible_count} 人（{closed.eligible_households} 户），"
        f"实际参与 {closed.ballots_cast} 人（{closed.households_voted} 户）。\n"
        + "\n".join(counts)
        + f"\n\n{outcome}"
    )


async def decision_rule(db: Statements, village: int, rule: str) -> DecisionRule:
    """The decision rule in force for a village (its city's, or the statute's)."""
    row = await db.fetchrow("select * from vg.decision_rule($1, $2)", village, rule)
    assert row is not None  # the statute's when the city has none
    return from_record(DecisionRule, row)


async def close(
    db: Statements, consultation_id: int, closed_by: int | None, now: datetime | None
) -> ConsultationWithStatus | None:
    """Close the vote, publish the resolution on the AFFAIRS board and notify; None when the
    consultation is already closed. Runs for staff (request role) and for the worker (owner).

    The row lock (FOR UPDATE) holds back ballots still arriving; the update's trigger
    (vg.consultation_result) fixes the counts and the decision, which word the notice.
    """
    row = await db.fetchrow(
        "select closed_at from vg.consultations where id = $1 for update", consultation_id
    )
    if row is None or row["closed_at"] is not None:
        return None
    record = await db.fetchrow(
        f"""update vg.consultations c set closed_at = coalesce($2, now()), closed_by = $3
             where c.id = $1
         returning {CONSULTATION_COLUMNS}""",
        consultation_id,
        now,
        closed_by,
    )
    assert record is not None
    closed = await _publish_resolution(db, from_record(ConsultationWithStatus, record), closed_by)
    await _audit_close(db, closed)
    await _notify_resolution(cast(ScopedSession, db), closed, closed_by)
    return closed


async def _publish_resolution(
    db: Statements, closed: ConsultationWithStatus, closed_by: int | None
) -> ConsultationWithStatus:
    """The resolution notice on the village's AFFAIRS board, linked from the consultation."""
    rule = await decision_rule(db, closed.village_code, closed.rule)
    heading = "表决结果" if closed.binding else "意见征集结果"
    notice = await insert_notice(
        db,
        closed.village_code,
        "AFFAIRS",
        f"{heading}：{closed.title}",
        resolution_text(closed, rule),
        "MEMBERS",
        closed_by,
        published_at=closed.closed_at,
    )
    linked = await db.fetchrow(
        f"""update vg.consultations c set resolution_notice_id = $2 where c.id = $1
         returning {CONSULTATION_COLUMNS}""",
        closed.id,
        notice.id,
    )
    assert linked is not None
    return from_record(ConsultationWithStatus, linked)


async def _audit_close(db: Statements, closed: ConsultationBase) -> None:
    detail = {
        "ballots": closed.ballots_cast,
        "electors": closed.eligible_count,
        "votes": None if closed.votes is None else list(closed.votes),
        "passed": closed.passed,
        "notice": closed.resolution_notice_id,
    }
    await db.execute(
        "select vg.record_audit('consultation.close', $1, 'consultation', $2, $3::jsonb)",
        closed.village_code,
        str(closed.id),
        json.dumps(detail, ensure_ascii=False),
    )


async def _notify_resolution(
    outbox: ScopedSession, closed: ConsultationBase, closed_by: int | None
) -> None:
    """The village's members learn of the resolution through the notice; the outbox carries
    it to them (a broadcast the worker fans out to every member) and to the consultation's
    creator. enqueue_notification needs only `fetchval`, which both connections have."""
    assert closed.resolution_notice_id is not None  # _publish_resolution linked it
    consultation_id = closed.id
    payload = {
        "consultation": consultation_id,
        "title": closed.title,
        "passed": closed.passed,
        "notice": closed.resolution_notice_id,
    }
    await announce(
        outbox,
        kind="consultation.resolution",
        tenant=closed.village_code,
        payload=payload,
        audience="MEMBERS",
        notice=(closed.village_code, closed.resolution_notice_id),
        created_by=closed_by,
    )
    if closed.created_by is not None:
        await enqueue_notification(
            outbox,
            kind="consultation.closed",
            tenant=closed.village_code,
            recipient_account=closed.created_by,
            payload=payload,
            idempotency_key=f"consultation.closed:{consultation_id}",
        )


async def close_due_consultations(
    conn: asyncpg.Connection, now: datetime, limit: int = 100
) -> list[int]:
    """Close consultations whose window ended by `now` (for the worker, as the owner role).

    Each is closed in its own (sub)transaction; rows locked by another worker are skipped,
    so several workers can run at once. Returns the ids closed.
    """
    async with conn.transaction():
        due = await conn.fetch(
            """select id from vg.consultations
                where closed_at is null and closes_at <= $1
                order by closes_at, id
                limit $2
                for update skip locked""",
            now,
            limit,
        )
        closed = []
        for row in due:
            async with conn.transaction():
                if await close(conn, row["id"], None, now) is not None:
                    closed.append(row["id"])
    return closed


class ConsultationByIdLoader(Loader[int, ConsultationWithStatus | None]):
    async def batch_load(self, keys: list[int]) -> list[ConsultationWithStatus | None]:
        rows = await self.db.fetch(
            f"select {CONSULTATION_COLUMNS} from vg.consultations c where c.id = any($1::bigint[])",
            keys,
        )
        return by_key(from_records(ConsultationWithStatus, rows), keys, "id")


class TallyByConsultationIdLoader(Loader[int, Tally | None]):
    """Live counts of open consultations (a closed one carries its fixed result)."""

    async def batch_load(self, keys: list[int]) -> list[Tally | None]:
        rows = await self.db.fetch("select * from vg.consultation_tallies($1::bigint[])", keys)
        found = {row["consultation_id"]: Tally.from_row(row) for row in rows}
        return [found.get(key) for key in keys]


@dataclass(frozen=True)
class Channels:
    """Ballots by how they were cast: in the app, on paper, by proxy (no options, no voters)."""

    app: int
    paper: int
    proxy: int


class ChannelsByConsultationIdLoader(Loader[int, Channels]):
    async def batch_load(self, keys: list[int]) -> list[Channels]:
        rows = await self.db.fetch("select * from vg.consultation_channels($1::bigint[])", keys)
        found = {r["consultation_id"]: Channels(r["app"], r["paper"], r["proxy"]) for r in rows}
        return [found.get(key, Channels(0, 0, 0)) for key in keys]


class MyBallotByConsultationIdLoader(Loader[int, int | None]):
    """The caller's own option; RLS lets nobody else read a ballot."""

    async def batch_load(self, keys: list[int]) -> list[int | None]:
        rows = await self.db.fetch(
            """select consultation_id, option_index from vg.ballots
                where consultation_id = any($1::bigint[])
                  and resident_village = vg.household_village()
                  and resident_id = vg.resident_id()""",
            keys,
        )
        found = {row["consultation_id"]: row["option_index"] for row in rows}
        return [found.get(key) for key in keys]


class ElectorByConsultationIdLoader(Loader[int, bool]):
    """Whether the caller is on each consultation's roll."""

    async def batch_load(self, keys: list[int]) -> list[bool]:
        rows = await self.db.fetch(
            """select consultation_id from vg.consultation_electors
                where consultation_id = any($1::bigint[])
                  and resident_village = vg.household_village()
                  and resident_id = vg.resident_id()""",
            keys,
        )
        on_roll = {row["consultation_id"] for row in rows}
        return [key in on_roll for key in keys]


class CommentsByConsultationIdLoader(Loader[int, list[ConsultationComment]]):
    async def batch_load(self, keys: list[int]) -> list[list[ConsultationComment]]:
        rows = await self.db.fetch(
            """select id, consultation_id, author_name, body, created_at
                 from vg.consultation_comments
                where consultation_id = any($1::bigint[])
                order by created_at, id""",
            keys,
        )
        return grouped(from_records(ConsultationComment, rows), keys, "consultation_id")


async def close_ended_consultations(conn: asyncpg.Connection, now: datetime) -> int:
    """码上协商 whose voting window has ended: count, decide and publish the resolution."""
    return len(await close_due_consultations(conn, now))


# --- analytics measures (resolvers/analytics.py) ---------------------------------------

CONSULTATIONS = Measure(
    name="CONSULTATIONS",
    description="Consultations (码上协商) by village, when voting opens; category: the rule.",
    source="vg.consultations c",
    tenant="c.village_code",
    time="c.opens_at",
    category="c.rule",
)


BALLOTS = Measure(
    name="BALLOTS",
    description="Ballots cast in closed consultations, by village and closing time;"
    " category: the rule. Open votes are secret until they close.",
    source="vg.consultations c",
    tenant="c.village_code",
    time="c.closed_at",
    category="c.rule",
    value="coalesce(sum(c.ballots_cast), 0)",
)
