"""Benchmark cases of consultations: ballots cast at concurrency, counted exactly."""

from __future__ import annotations

import itertools
from typing import Any

import asyncpg

from bench.cases import BenchEnv, Case, as_account
from bench.http import GraphQLConnection
from bench.replay import replay

# --- the README's consultations list, as residents of their own village -----------------

CONSULTATIONS = """query($u: ID!) { consultations(unit: $u, status: OPEN) { edges { node {
  id title eligible myBallot options { index label votes } } } } }"""


async def consultations_graphql(http: GraphQLConnection, env: BenchEnv, i: int) -> Any:
    account, village = env.resident(i)
    return await http.post(CONSULTATIONS, {"u": str(village)}, env.token(account))


async def consultations_floor(pool: asyncpg.Pool, env: BenchEnv, i: int) -> Any:
    account, village = env.resident(i)
    return await replay(pool, env, account, CONSULTATIONS, {"u": str(village)})


# --- ballots cast at concurrency 10 -----------------------------------------------------

BALLOT_VILLAGES = 20
CAST_BALLOT = """mutation($c: ID!, $o: Int!) { castBallot(consultation: $c, option: $o) {
  id } }"""


async def ballot_setup(conn: asyncpg.Connection, env: BenchEnv) -> None:
    """Two consultations open now in each of 20 villages (one for the service, one for the
    floor) with every resident on the roll and an account per resident; voters interleave
    the villages, so concurrent ballots rarely share a village's audit chain."""
    villages = [
        row["code"]
        for row in await conn.fetch(
            """select code from vg.org_units where level = 'VILLAGE'
                order by (code % 1000003 * 2654435761) % 1000003, code limit $1""",
            BALLOT_VILLAGES,
        )
    ]
    async with conn.transaction():
        await conn.execute(
            """insert into vg.accounts (phone, password_hash, display_name, resident_village,
                                        resident_id)
               select '15' || lpad(r.id::text, 9, '0'),
                      (select password_hash from vg.accounts order by id limit 1), r.name,
                      r.village_code, r.id
                 from vg.residents r where r.village_code = any($1::bigint[])
               on conflict (phone) do nothing""",
            villages,
        )
        created = await conn.fetch(
            """insert into vg.consultations (village_code, title, description, options,
                   opens_at, closes_at, rule, eligibility)
               select v, 'bench ' || side, '基准测试投票', array['同意', '不同意', '弃权'],
                      now() - interval '1 minute', now() + interval '1 day',
                      'SIMPLE_MAJORITY', 'VILLAGERS'
                 from unnest($1::bigint[]) v, unnest(array['graphql', 'floor']) side
               returning village_code, id, title""",
            villages,
        )
        await conn.execute(
            """insert into vg.consultation_electors (village_code, consultation_id,
                   resident_village, resident_id, household)
               select c.village_code, c.id, r.village_code, r.id, r.household_no
                 from vg.consultations c
                 join vg.residents r on r.village_code = c.village_code
                where c.id = any($1::bigint[])""",
            [row["id"] for row in created],
        )
        voters = await conn.fetch(
            """select a.id, a.resident_village, a.resident_id from vg.accounts a
                where a.resident_village = any($1::bigint[]) and a.phone like '15%'
                order by row_number() over (partition by a.resident_village order by a.id),
                         a.resident_village""",
            villages,
        )
        # Voters act through their own database sessions, opened as the login path would.
        for row in await conn.fetch(
            "select a as account, vg.open_session(a) as session from unnest($1::bigint[]) a",
            [v["id"] for v in voters],
        ):
            env.sessions[row["account"]] = row["session"]
    for side in ("graphql", "floor"):
        consultation = {
            row["village_code"]: row["id"] for row in created if row["title"] == f"bench {side}"
        }
        queue = [
            (v["id"], v["resident_village"], v["resident_id"], consultation[v["resident_village"]])
            for v in voters
        ]
        env.prepared[f"ballots {side}"] = {
            "voters": iter(queue),
            "consultations": sorted(consultation.values()),
            "accepted": itertools.count(),
        }


def _next_voter(env: BenchEnv, side: str) -> tuple[int, int, int, int]:
    voters = env.prepared[f"ballots {side}"]["voters"]
    try:
        return next(voters)  # type: ignore[no-any-return]
    except StopIteration:
        raise RuntimeError(f"no voters left for the {side} ballots") from None


async def ballot_graphql(http: GraphQLConnection, env: BenchEnv, i: int) -> Any:
    account, _, _, consultation = _next_voter(env, "graphql")
    data = await http.post(CAST_BALLOT, {"c": str(consultation), "o": i % 3}, env.token(account))
    next(env.prepared["ballots graphql"]["accepted"])
    return data


async def ballot_floor(pool: asyncpg.Pool, env: BenchEnv, i: int) -> Any:
    account, village, resident, consultation = _next_voter(env, "floor")
    async with as_account(pool, env, account) as conn:
        await conn.execute(
            """insert into vg.ballots (village_code, consultation_id, resident_village,
                                       resident_id, option_index)
               values ($1, $2, $1, $3, $4)""",
            village,
            consultation,
            resident,
            i % 3,
        )
        await conn.execute(
            "select vg.record_audit('consultation.ballot', $1, 'consultation', $2, '{}')",
            village,
            str(consultation),
        )
    next(env.prepared["ballots floor"]["accepted"])


async def ballot_check(conn: asyncpg.Connection, env: BenchEnv) -> str:
    """Every accepted ballot is stored once, and nothing else is: exact counts per side."""
    found = []
    for side in ("graphql", "floor"):
        prepared = env.prepared[f"ballots {side}"]
        accepted = next(prepared["accepted"])
        stored = await conn.fetchval(
            """select count(*) from vg.ballots where consultation_id = any($1::bigint[])""",
            prepared["consultations"],
        )
        distinct = await conn.fetchval(
            """select count(distinct (resident_village, resident_id)) from vg.ballots
                where consultation_id = any($1::bigint[])""",
            prepared["consultations"],
        )
        if not stored == distinct == accepted:
            raise RuntimeError(f"{side}: {accepted} accepted, {stored} stored, {distinct} voters")
        found.append(f"{side} {stored} ballots = accepted")
    return "; ".join(found)


CASES: list[Case] = [
    Case(
        "consultations list",
        consultations_graphql,
        consultations_floor,
        requires=("consultations",),
    ),
    Case(
        "ballots cast",
        ballot_graphql,
        ballot_floor,
        setup=ballot_setup,
        requires=("ballots",),
        check=ballot_check,
    ),
]
