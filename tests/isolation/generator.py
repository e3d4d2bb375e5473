"""The isolation property test's generator: random hierarchies, people, grants, notices
and every domain's rows (one build step per domain), written as the owner.

Each example builds its data under a city code of its own (province 83-99, never a real
one), so examples do not see one another's rows except where the rules say so. A domain
adds its rows with one `_build_<domain>` step in DOMAIN_BUILD_STEPS. It decides nothing
about visibility: tests/reference_model.py and tests/isolation/<domain>.py do.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("VILLAGEGRAPH_PROPERTY_EXAMPLES", "20"))
TAGS = ["低保", "党员", "老人", "残疾"]
BOARDS = ["ORGANIZATION", "FINANCE", "AFFAIRS", "NOTICE", "POLICY"]
# Any string that is not an argon2 hash: nobody logs in here, tokens are issued directly.
NO_PASSWORD = "not-a-password-hash"
# Root fields per document, well below any alias limit.
FIELDS_PER_DOCUMENT = 20


# Each test session has a database of its own, so plain counters keep examples apart.
_city_numbers = itertools.count()
_phone_numbers = itertools.count()


def next_city() -> int:
    """A city code no other example (and no real division) uses: provinces 83-99 do not
    exist, which leaves 17 x 99 cities for one session."""
    n = next(_city_numbers)
    province, city = 99 - n // 99, n % 99 + 1
    assert province >= 83, "more examples than unused city codes; shorten the run"
    return (province * 100 + city) * 100_000_000


@dataclass
class Scenario:
    """What one example generated, as indexes; `build` turns it into rows."""

    counties: list[int]
    towns: dict[int, list[int]]  # county digits -> town digits
    villages: dict[tuple[int, int], list[int]]  # (county, town) -> village digits
    residents: list[tuple[int, int | None, bool, list[str]]]  # village, residence, member, tags
    staff: int  # accounts with no resident record
    grants: list[tuple[int, str, int, bool]]  # account, role, unit, revoked
    notices: list[tuple[int, str, str, list[str], int | None]]  # unit, board, audience, tags, by
    receipts: list[tuple[int, int]]  # resident, notice
    outbox: list[tuple[int, int | None]]  # unit, recipient account
    audit: list[tuple[int | None, int | None]]  # unit, account
    domains: Domains


@dataclass
class Domains:
    """Rows of the domain tables (issues 3-5), as indexes into the scenario's lists."""

    identity: list[tuple[bool, bool]] = field(default_factory=list)  # per resident: id, phone
    # village, direction, BOOKED | REVERSED (booked, then reversed) | PENDING (awaits approval)
    finance: list[tuple[int, str, str]] = field(default_factory=list)
    budgets: list[int] = field(default_factory=list)  # village
    # village, closed, electors as (resident, option voted or None)
    consultations: list[tuple[int, bool, list[tuple[int, int | None]]]] = field(
        default_factory=list
    )
    comments: list[tuple[int, int]] = field(default_factory=list)  # consultation, account
    suggestions: list[tuple[int, str]] = field(default_factory=list)  # resident, status
    replies: list[tuple[int, int]] = field(default_factory=list)  # suggestion, account
    tasks: list[tuple[int, int, bool, bool]] = field(default_factory=list)  # unit, up, esc, done
    reminders: list[tuple[int, str]] = field(default_factory=list)  # task, kind
    city_rules: bool = False  # task_rules and disclosure_rules rows for the city
    addresses: list[tuple[int, str]] = field(default_factory=list)  # account, channel
    ledger: list[int] = field(default_factory=list)  # village
    inspections: list[tuple[int, int]] = field(default_factory=list)  # village, account
    cadres: list[tuple[int, int | None, bool]] = field(default_factory=list)  # vil, res, ended
    party: list[int] = field(default_factory=list)  # resident
    listings: list[tuple[int, str, str]] = field(default_factory=list)  # resident, kind, status
    shelters: list[tuple[int, str]] = field(default_factory=list)  # unit, status


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    counties = draw(st.lists(st.integers(1, 99), min_size=1, max_size=2, unique=True))
    towns = {
        c: draw(st.lists(st.sampled_from([1, 2, 101, 102]), min_size=1, max_size=2, unique=True))
        for c in counties
    }
    villages = {
        (c, t): draw(st.lists(st.sampled_from([1, 2, 201]), min_size=1, max_size=2, unique=True))
        for c in counties
        for t in towns[c]
    }
    n_villages = sum(len(v) for v in villages.values())
    n_units = 1 + len(counties) + len(villages) + n_villages
    village = st.integers(0, n_villages - 1)
    unit = st.integers(0, n_units - 1)
    tag_sets = st.lists(st.sampled_from(TAGS), max_size=2, unique=True)
    residents = draw(
        st.lists(
            st.tuples(village, st.none() | village, st.booleans(), tag_sets), min_size=1, max_size=5
        )
    )
    staff = draw(st.integers(0, 3))
    accounts = len(residents) + staff
    account = st.integers(0, accounts - 1)
    roles = st.sampled_from(["OFFICIAL", "CADRE", "ANALYST"])
    grants = draw(st.lists(st.tuples(account, roles, unit, st.booleans()), max_size=6))
    notices = draw(
        st.lists(
            st.tuples(
                unit,
                st.sampled_from(BOARDS),
                st.sampled_from(["PUBLIC", "MEMBERS"]),
                st.lists(st.sampled_from(TAGS), max_size=2, unique=True),
                st.none() | account,
            ),
            max_size=7,
        )
    )
    receipts = []
    if notices:
        pairs = st.tuples(st.integers(0, len(residents) - 1), st.integers(0, len(notices) - 1))
        receipts = draw(st.lists(pairs, max_size=6, unique=True))
    outbox = draw(st.lists(st.tuples(unit, st.none() | account), max_size=3))
    audit = draw(st.lists(st.tuples(st.none() | unit, st.none() | account), max_size=3))
    domains = draw(domain_rows(n_villages, n_units, len(residents), accounts))
    return Scenario(
        counties,
        towns,
        villages,
        residents,
        staff,
        grants,
        notices,
        receipts,
        outbox,
        audit,
        domains,
    )


@st.composite
def domain_rows(
    draw: st.DrawFn, n_villages: int, n_units: int, n_residents: int, n_accounts: int
) -> Domains:
    village = st.integers(0, n_villages - 1)
    resident = st.integers(0, n_residents - 1)
    account = st.integers(0, n_accounts - 1)
    few = {"max_size": 2}
    d = Domains()
    d.identity = draw(
        st.lists(
            st.tuples(st.booleans(), st.booleans()), min_size=n_residents, max_size=n_residents
        )
    )
    d.finance = draw(
        st.lists(
            st.tuples(
                village,
                st.sampled_from(["INCOME", "EXPENSE"]),
                st.sampled_from(["BOOKED", "REVERSED", "PENDING"]),
            ),
            **few,
        )
    )
    d.budgets = draw(st.lists(village, max_size=1))
    electors = st.lists(
        st.tuples(resident, st.none() | st.integers(0, 1)), max_size=3, unique_by=lambda e: e[0]
    )
    d.consultations = draw(st.lists(st.tuples(village, st.booleans(), electors), **few))
    if d.consultations:
        d.comments = draw(
            st.lists(st.tuples(st.integers(0, len(d.consultations) - 1), account), **few)
        )
    statuses = st.sampled_from(["SUBMITTED", "ANSWERED", "REJECTED"])
    d.suggestions = draw(st.lists(st.tuples(resident, statuses), **few))
    if d.suggestions:
        d.replies = draw(
            st.lists(st.tuples(st.integers(0, len(d.suggestions) - 1), account), **few)
        )
    # Assignee: any unit but the city; issuer: an ancestor `up` tiers above it.
    d.tasks = draw(
        st.lists(
            st.tuples(st.integers(1, n_units - 1), st.integers(1, 3), st.booleans(), st.booleans()),
            **few,
        )
    )
    if d.tasks:
        kinds = st.sampled_from(["DUE_SOON", "OVERDUE", "ESCALATED"])
        d.reminders = draw(
            st.lists(st.tuples(st.integers(0, len(d.tasks) - 1), kinds), max_size=2, unique=True)
        )
    d.city_rules = draw(st.booleans())
    channels = st.sampled_from(["wechat", "sms"])
    d.addresses = draw(st.lists(st.tuples(account, channels), max_size=2, unique=True))
    d.ledger = draw(st.lists(village, **few))
    d.inspections = draw(st.lists(st.tuples(village, account), max_size=1))
    d.cadres = draw(st.lists(st.tuples(village, st.none() | resident, st.booleans()), **few))
    d.party = draw(st.lists(resident, max_size=1))
    kinds = st.sampled_from(["SPECIALTY_PRODUCT", "FARM_STAY"])
    listing_statuses = st.sampled_from(["PENDING", "APPROVED", "REJECTED"])
    d.listings = draw(st.lists(st.tuples(resident, kinds, listing_statuses), **few))
    d.shelters = draw(
        st.lists(
            st.tuples(st.integers(0, n_units - 1), st.sampled_from(["OPEN", "STANDBY", "CLOSED"])),
            **few,
        )
    )
    return d


@dataclass
class Built:
    """The rows of one example, by their database ids."""

    units: list[int]
    villages: list[int]
    accounts: list[int]
    residents: list[int]
    notices: list[int] = field(default_factory=list)
    ids: dict[str, list[int]] = field(default_factory=dict)  # domain table -> row ids


def plan_hierarchy(s: Scenario) -> tuple[list[tuple[int, str, int | None]], list[int]]:
    """(code, level, parent) of every unit under a fresh city, and the village codes."""
    city = next_city()
    villages = []
    hierarchy: list[tuple[int, str, int | None]] = [(city, "CITY", None)]
    for c in s.counties:
        county = city + c * 1_000_000
        hierarchy.append((county, "COUNTY", city))
        for t in s.towns[c]:
            town = county + t * 1_000
            hierarchy.append((town, "TOWN", county))
            for v in s.villages[(c, t)]:
                villages.append(town + v)
                hierarchy.append((town + v, "VILLAGE", town))
    return hierarchy, villages


async def build(owner_pool: asyncpg.Pool, s: Scenario) -> Built:
    hierarchy, villages = plan_hierarchy(s)
    units = [code for code, _, _ in hierarchy]
    started = datetime.now(UTC) - timedelta(days=1)
    async with owner_pool.acquire() as conn, conn.transaction():
        await conn.executemany(
            "insert into vg.org_units (code, name, level, parent_code) values ($1, $2, $3, $4)",
            [(code, f"单位{code}", lvl, parent) for code, lvl, parent in hierarchy],
        )
        resident_ids, account_ids = await build_people(conn, s, villages, units)
        notice_ids = await build_notices(
            conn, s, villages, units, resident_ids, account_ids, started
        )
        await build_outbox_and_audit(conn, s, units, account_ids)
        ids = await build_domains(conn, s, hierarchy, villages, account_ids, resident_ids)
    return Built(units, villages, account_ids, resident_ids, notice_ids, ids)


async def build_people(
    conn: asyncpg.Connection, s: Scenario, villages: list[int], units: list[int]
) -> tuple[list[int], list[int]]:
    """Residents with their accounts, staff accounts, and the grants; (residents, accounts)."""
    resident_ids, account_ids = [], []
    for i, (home, residence, member, tags) in enumerate(s.residents):
        rid = await conn.fetchval(
            """insert into vg.residents
                   (village_code, name, residence_code, residence_member, tags)
               values ($1, $2, $3, $4, $5) returning id""",
            villages[home],
            f"村民{i}",
            None if residence is None else villages[residence],
            member,
            tags,
        )
        resident_ids.append(rid)
        account_ids.append(
            await conn.fetchval(
                """insert into vg.accounts
                       (phone, password_hash, display_name, resident_village, resident_id)
                   values ($1, $2, $3, $4, $5) returning id""",
                f"16{next(_phone_numbers):09d}",
                NO_PASSWORD,
                f"村民{i}",
                villages[home],
                rid,
            )
        )
    for i in range(s.staff):
        account_ids.append(
            await conn.fetchval(
                """insert into vg.accounts (phone, password_hash, display_name)
                   values ($1, $2, $3) returning id""",
                f"16{next(_phone_numbers):09d}",
                NO_PASSWORD,
                f"干部{i}",
            )
        )
    await conn.executemany(
        """insert into vg.grants (account_id, role, unit_code, revoked_at)
           values ($1, $2, $3, case when $4 then now() end)""",
        [(account_ids[a], role, units[u], revoked) for a, role, u, revoked in s.grants],
    )
    return resident_ids, account_ids


async def build_notices(
    conn: asyncpg.Connection,
    s: Scenario,
    villages: list[int],
    units: list[int],
    resident_ids: list[int],
    account_ids: list[int],
    started: datetime,
) -> list[int]:
    """Notices and read receipts; the notice ids."""
    notice_ids: list[int] = []
    for i, (u, board, audience, tags, by) in enumerate(s.notices):
        notice_ids.append(
            await conn.fetchval(
                """insert into vg.notices (publisher_code, board, title, body, audience,
                                           target_tags, published_at, published_by)
                   values ($1, $2, $3, 'body', $4, $5, $6, $7) returning id""",
                units[u],
                board,
                f"通知{i}",
                audience,
                tags,
                started + timedelta(minutes=i * 7 % 5, seconds=i),
                None if by is None else account_ids[by],
            )
        )
    await conn.executemany(
        "insert into vg.notice_reads values ($1, $2, $3, $4)",
        [
            (
                villages[s.residents[r][0]],
                resident_ids[r],
                units[s.notices[n][0]],
                notice_ids[n],
            )
            for r, n in s.receipts
        ],
    )
    return notice_ids


async def build_outbox_and_audit(
    conn: asyncpg.Connection, s: Scenario, units: list[int], account_ids: list[int]
) -> None:
    await conn.executemany(
        """insert into vg.outbox (tenant_code, kind, recipient_account, idempotency_key)
           values ($1, 'property.test', $2, gen_random_uuid()::text)""",
        [(units[u], None if a is None else account_ids[a]) for u, a in s.outbox],
    )
    for u, a in s.audit:
        # Written as the owner with the account set, the way vg.record_audit does.
        await conn.execute(
            """insert into vg.audit_log (account_id, action, tenant_code, entity)
               values ($1, 'property.test', $2, 'scenario')""",
            None if a is None else account_ids[a],
            None if u is None else units[u],
        )


@dataclass
class DomainBuild:
    """What every domain's build step needs: the owner connection, the scenario's domain
    draws, the units, villages, accounts and residents built, and the ids inserted."""

    conn: asyncpg.Connection
    d: Domains
    units: list[int]
    parent: dict[int, int | None]
    home: list[tuple[int, int]]
    villages: list[int]
    accounts: list[int]
    residents: list[int]
    now: datetime
    ids: dict[str, list[int]] = field(default_factory=dict)

    async def insert(self, table: str, columns: str, *values: Any) -> int:
        marks = ", ".join(f"${i + 1}" for i in range(len(values)))
        sql = f"insert into vg.{table} ({columns}) values ({marks}) returning id"
        row_id: int = await self.conn.fetchval(sql, *values)
        self.ids.setdefault(table, []).append(row_id)
        return row_id


async def build_domains(
    conn: asyncpg.Connection,
    s: Scenario,
    hierarchy: list[tuple[int, str, int | None]],
    villages: list[int],
    accounts: list[int],
    residents: list[int],
) -> dict[str, list[int]]:
    """The domain rows, written as the owner the way the mutations would leave them."""
    b = DomainBuild(
        conn,
        s.domains,
        [code for code, _, _ in hierarchy],
        {code: up for code, _, up in hierarchy},
        [(villages[v], residents[i]) for i, (v, _, _, _) in enumerate(s.residents)],
        villages,
        accounts,
        residents,
        datetime.now(UTC),
    )
    for step in DOMAIN_BUILD_STEPS:
        await step(b)
    return b.ids


async def _build_households(b: DomainBuild) -> None:
    """Residents' identity numbers, phones and households."""
    conn, d, home = b.conn, b.d, b.home
    for i, (has_id, has_phone) in enumerate(d.identity):
        n = next(_phone_numbers)
        household = f"户{i // 2}"
        await conn.execute(
            """update vg.residents set id_number = $3, phone = $4, household_no = $5
                where village_code = $1 and id = $2""",
            *home[i],
            f"83030219900101{n % 10_000:04d}" if has_id else None,
            f"139{n:08d}" if has_phone else None,
            household,
        )
        await conn.execute(
            """insert into vg.households (village_code, household_no, head_resident_id)
               values ($1, $2, $3) on conflict do nothing""",
            home[i][0],
            household,
            home[i][1],
        )


async def _build_finance(b: DomainBuild) -> None:
    """Finance entries (some reversed) and budgets."""
    d, villages, insert = b.d, b.villages, b.insert
    subjects = {"INCOME": ("经营收入", "501"), "EXPENSE": ("管理费用", "551")}
    for v, direction, state in d.finance:
        category, code = subjects[direction]
        entry = await insert(
            "finance_entries",
            "village_code, period, direction, category, subject_code, amount, status",
            villages[v],
            "2026-01",
            direction,
            category,
            code,
            100,
            "PENDING" if state == "PENDING" else "BOOKED",
        )
        if state == "REVERSED":
            await insert(
                "finance_entries",
                "village_code, period, direction, category, subject_code, amount, reverses_id",
                villages[v],
                "2026-01",
                direction,
                category,
                code,
                -100,
                entry,
            )
    for v in d.budgets:
        await insert(
            "finance_budgets",
            "village_code, year, direction, category, amount",
            villages[v],
            2026,
            "EXPENSE",
            "管理费用",
            1000,
        )


async def _build_consultations(b: DomainBuild) -> None:
    """Consultations with rolls, ballots and comments."""
    conn, d, home, villages, accounts, insert, now = (
        b.conn,
        b.d,
        b.home,
        b.villages,
        b.accounts,
        b.insert,
        b.now,
    )
    for v, closed, electors in d.consultations:
        cid = await insert(
            "consultations",
            "village_code, title, description, options, opens_at, closes_at, rule, eligibility",
            villages[v],
            "协商",
            "说明",
            ["同意", "反对"],
            now - timedelta(hours=1),
            now + timedelta(hours=1),
            "VILLAGERS_ASSEMBLY",
            "VILLAGERS",
        )
        for r, option in electors:
            await conn.execute(
                "insert into vg.consultation_electors values ($1, $2, $3, $4, $5)",
                villages[v],
                cid,
                *home[r],
                f"户{r // 2}",
            )
            if option is not None:
                await conn.execute(
                    """insert into vg.ballots
                           (village_code, consultation_id, resident_village, resident_id,
                            option_index)
                       values ($1, $2, $3, $4, $5)""",
                    villages[v],
                    cid,
                    *home[r],
                    option,
                )
        if closed:
            # The window runs out first: no close before closesAt (issue 15).
            await conn.execute(
                "update vg.consultations set closes_at = now(), closed_at = now()"
                " where village_code = $1 and id = $2",
                villages[v],
                cid,
            )
    for c, a in d.comments:
        await insert(
            "consultation_comments",
            "village_code, consultation_id, author_account, author_name, body",
            villages[d.consultations[c][0]],
            b.ids["consultations"][c],
            accounts[a],
            "某人",
            "意见",
        )


async def _build_suggestions(b: DomainBuild) -> None:
    """Suggestions and their replies."""
    d, home, accounts, insert = b.d, b.home, b.accounts, b.insert
    for r, status in d.suggestions:
        await insert(
            "suggestions",
            "village_code, resident_id, submitted_by, title, body, status, reason",
            *home[r],
            accounts[r],
            "建议",
            "内容",
            status,
            "不合规" if status == "REJECTED" else None,
        )
    for k, a in d.replies:
        await insert(
            "suggestion_replies",
            "village_code, suggestion_id, body, replied_by",
            home[d.suggestions[k][0]][0],
            b.ids["suggestions"][k],
            "答复",
            accounts[a],
        )


async def _build_tasks(b: DomainBuild) -> None:
    """Tasks, reminders and the city's task and disclosure rules."""
    conn, d, units, parent, insert, now = b.conn, b.d, b.units, b.parent, b.insert, b.now
    for u, up, escalated, done in d.tasks:
        issuer = units[u]
        for _ in range(up):
            issuer = parent[issuer] if parent[issuer] is not None else issuer
        escalated_to = parent[issuer] if escalated else None
        await insert(
            "tasks",
            "assignee_code, issuer_code, title, body, due_at, escalated_to, completed_at",
            units[u],
            issuer,
            "任务",
            "内容",
            now + timedelta(days=1),
            escalated_to,
            now if done else None,
        )
        if done:  # a completion reopened once before (vg.task_reopenings)
            await conn.execute(
                """insert into vg.task_reopenings (assignee_code, task_id, reason,
                       previous_due_at, previous_completed_at, new_due_at)
                   values ($1, $2, '重新办理', $3, $3, $3)""",
                units[u],
                b.ids["tasks"][-1],
                now,
            )
    for t, kind in d.reminders:
        await conn.execute(
            "insert into vg.task_reminders values ($1, $2, $3, $4, $5)",
            units[d.tasks[t][0]],
            b.ids["tasks"][t],
            kind,
            now + timedelta(days=1),
            now,
        )
    if d.city_rules:
        await conn.execute("insert into vg.task_rules (city_code) values ($1)", units[0])
        await conn.execute(
            "insert into vg.disclosure_rules values ($1, 'FINANCE', 1, 1, 10, '2026-01-01')",
            units[0],
        )


async def _build_channel_addresses(b: DomainBuild) -> None:
    """Accounts' channel addresses (notifications)."""
    conn, d, accounts = b.conn, b.d, b.accounts
    for a, channel in d.addresses:
        await conn.execute(
            "insert into vg.channel_addresses values ($1, $2, $3)",
            accounts[a],
            channel,
            f"addr-{a}",
        )


async def _build_ledger(b: DomainBuild) -> None:
    """Ledger entries."""
    d, villages, insert, now = b.d, b.villages, b.insert, b.now
    for v in d.ledger:
        await insert(
            "ledger_entries",
            "village_code, category, occurred_on, text",
            villages[v],
            "治理",
            now.date(),
            "村情记录",
        )


async def _build_inspections(b: DomainBuild) -> None:
    """Inspections: the read log and a report with a verdict by the village's town."""
    d, villages, accounts, insert = b.d, b.villages, b.accounts, b.insert
    for v, a in d.inspections:
        await insert(
            "inspections",
            "village_code, account_id, inspector_name, subject, queried_unit",
            villages[v],
            accounts[a],
            "检查员",
            "LEDGER",
            villages[v],
        )
        await insert(
            "inspection_reports",
            "unit_code, inspector_unit, inspected_by, subject, verdict",
            villages[v],
            b.parent[villages[v]],
            accounts[a],
            "台账检查",
            "PASS",
        )


async def _build_cadres(b: DomainBuild) -> None:
    """Cadres and party members."""
    conn, d, home, villages, insert = b.conn, b.d, b.home, b.villages, b.insert
    for v, r, ended in d.cadres:
        # A villager of the village sits on its supervisory committee (issue 15), which
        # reads like the committee; the database refuses one of a committee household.
        supervisor = r is not None and home[r][0] == villages[v]
        try:
            async with conn.transaction():
                await insert(
                    "cadres",
                    "village_code, name, body, position, resident_village, resident_id,"
                    " term_start, term_end",
                    villages[v],
                    "干部",
                    "SUPERVISORY_COMMITTEE" if supervisor else "COMMITTEE",
                    "主任",
                    *(home[r] if r is not None else (None, None)),
                    date(2024, 1, 1),
                    date(2025, 1, 1) if ended else None,
                )
        except asyncpg.CheckViolationError:
            continue
    for r in d.party:
        await conn.execute(
            "insert into vg.party_members values ($1, $2, '2020-01-01', null, $1)", *home[r]
        )


async def _build_listings(b: DomainBuild) -> None:
    """Listings."""
    d, home, insert = b.d, b.home, b.insert
    for r, kind, status in d.listings:
        await insert(
            "listings",
            "village_code, applicant_id, kind, name, description, contact, status, review_reason",
            *home[r],
            kind,
            "特产",
            "描述",
            "电话",
            status,
            "不合格" if status == "REJECTED" else None,
        )


async def _build_shelters(b: DomainBuild) -> None:
    """Shelters."""
    d, units, insert = b.d, b.units, b.insert
    for u, status in d.shelters:
        await insert(
            "shelters",
            "unit_code, name, address, lat, lng, capacity, status",
            units[u],
            "避灾点",
            "地址",
            28.0,
            120.6,
            100,
            status,
        )


async def _build_delivery(b: DomainBuild) -> None:
    """Reaching phones: the last account is a family proxy (亲情账号) for the first resident
    (when it is not that resident's own), and a broadcast with one part at the first unit."""
    conn = b.conn
    if b.residents and len(b.accounts) > 1:
        await conn.execute(
            """insert into vg.family_proxies
                   (resident_village, resident_id, proxy_account, consent, recorded_by)
               values ($1, $2, $3, 'SELF', $3)""",
            b.home[0][0],
            b.home[0][1],
            b.accounts[-1],
        )
    broadcast = await b.insert(
        "broadcasts", "tenant_code, kind, audience", b.units[0], "notice.published", "PUBLIC"
    )
    await conn.execute(
        "insert into vg.broadcast_parts (broadcast_id, lo, hi) values ($1, $2, $2)",
        broadcast,
        b.units[0],
    )


DOMAIN_BUILD_STEPS = (
    _build_households,
    _build_finance,
    _build_consultations,
    _build_suggestions,
    _build_tasks,
    _build_channel_addresses,
    _build_ledger,
    _build_inspections,
    _build_cadres,
    _build_listings,
    _build_shelters,
    _build_delivery,
)
