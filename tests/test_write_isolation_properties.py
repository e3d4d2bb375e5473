"""Writes stay inside the writer's scope, as a property (issue 12): random mutations by
random principals of random worlds change exactly what the reference model's write rules
(tests/reference_model.py, `may_*`) allow, and nothing else. A refused write that changed
a row, or an allowed one that did not, fails with the principal and the attempt.

Worlds come from the read isolation test's generator (tests/test_isolation_properties.py);
each gets pending membership requests for its residents who live elsewhere, so accepting
is tried by everyone, the household village's cadres included (finding 7).
"""

from __future__ import annotations

from typing import Any

import asyncpg
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests import reference_model as model
from tests.isolation.generator import EXAMPLES, Built, build, scenarios
from tests.test_isolation_properties import post, snapshot

KINDS = ["TAGS", "ADMIT", "REQUEST", "ACCEPT", "APPOINT"]
WATCHED = ["residents", "membership_requests", "cadres"]
attempts = st.lists(
    st.tuples(st.integers(0, 99), st.sampled_from(KINDS), st.integers(0, 99)),
    min_size=4,
    max_size=10,
)


async def open_requests(owner_pool: asyncpg.Pool, built: Built) -> None:
    """A pending request for each resident of the world living outside its village."""
    await owner_pool.execute(
        """insert into vg.membership_requests (village_code, resident_village, resident_id,
                                               requested_by)
           select r.residence_code, r.village_code, r.id, a.id
             from vg.residents r join vg.accounts a on a.resident_id = r.id
            where r.id = any ($1::bigint[]) and r.residence_code is not null
              and r.residence_code <> r.village_code and not r.residence_member""",
        built.residents,
    )


def mutation(kind: str, target: Any) -> str:
    if kind == "TAGS":
        return f'updateResident(id: "{target}", input: {{tags: ["老人"]}}) {{ id }}'
    if kind == "ADMIT":
        return f'updateResident(id: "{target}", input: {{residenceMember: true}}) {{ id }}'
    if kind == "REQUEST":
        return f'requestMembership(resident: "{target}") {{ id }}'
    if kind == "ACCEPT":
        return f'acceptMembership(id: "{target}") {{ id }}'
    return (
        f'appointCadre(input: {{village: "{target}", name: "新委员", body: COMMITTEE,'
        f' position: "委员", termStart: "2026-01-01"}}) {{ id }}'
    )


def keyed(world: dict[str, list[dict[str, Any]]], table: str) -> dict[Any, dict[str, Any]]:
    return {model.key_of(table, row): row for row in world[table]}


def expected(kind: str, p: model.ModelPrincipal, row: Any, world: Any) -> tuple[bool, bool]:
    """(whether the model allows the attempt, whether it changes a row)."""
    if kind == "TAGS":
        ok = model.may_update_resident(p, row)
        return ok, ok and list(row["tags"]) != ["老人"]  # the mutation sets the whole list
    if kind in ("ADMIT", "REQUEST"):
        pending = any(
            m["resident_id"] == row["id"] and m["status"] in ("PENDING", "ACCEPTED")
            for m in world["membership_requests"]
        )
        if kind == "ADMIT":
            if not model.may_update_resident(p, row):
                return False, False
            if row["residence_member"]:
                return True, False  # already a member: nothing to ask
        ok = model.may_request_membership(p, row) and not pending
        return ok, ok
    ok = (
        model.may_decide_membership(p, row) if kind == "ACCEPT" else model.may_appoint_cadre(p, row)
    )
    return ok, ok


def diff(before: Any, after: Any) -> set[tuple[str, Any]]:
    changed = set()
    for table in WATCHED:
        old, new = keyed(before, table), keyed(after, table)
        changed |= {(table, k) for k in old.keys() | new.keys() if old.get(k) != new.get(k)}
    return changed


def target_of(kind: str, built: Built, world: Any, n: int) -> tuple[Any, Any]:
    """(the id the mutation names, the row the model judges) for attempt number n."""
    if kind in ("TAGS", "ADMIT", "REQUEST"):
        rid = built.residents[n % len(built.residents)]
        return rid, next(r for r in world["residents"] if r["id"] == rid)
    if kind == "ACCEPT":
        mine = [m for m in world["membership_requests"] if m["resident_id"] in built.residents]
        if not mine:
            return None, None
        request = mine[n % len(mine)]
        return request["id"], request
    village = built.villages[n % len(built.villages)]
    return village, village


@settings(
    max_examples=max(5, EXAMPLES // 2),
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(scenario=scenarios(), tries=attempts)
async def test_every_write_changes_exactly_what_the_model_allows(
    scenario, tries, owner_pool, client, issue_token
):
    built = await build(owner_pool, scenario)
    await open_requests(owner_pool, built)
    for actor, kind, n in tries:
        before = await snapshot(owner_pool, WATCHED)
        account = built.accounts[actor % len(built.accounts)]
        p = model.principal_of(
            await snapshot(owner_pool, ["accounts", "grants", "residents"]), account
        )
        target, row = target_of(kind, built, before, n)
        if target is None:
            continue
        result = await post(
            client, await issue_token(account), f"mutation {{ m: {mutation(kind, target)} }}"
        )
        after = await snapshot(owner_pool, WATCHED)
        allowed, changes = expected(kind, p, row, before)
        assert (not result.get("errors")) == allowed, (kind, target, p, result)
        changed = diff(before, after)
        assert bool(changed) == changes, (kind, target, p, sorted(changed, key=str)[:5])
        if kind in ("TAGS", "ADMIT", "REQUEST"):
            # Asking never admits: only the residence village's staff do, by accepting.
            old, new = keyed(before, "residents"), keyed(after, "residents")
            assert all(
                new[k]["residence_member"] == old[k]["residence_member"] for k in old if k in new
            ), (kind, p)
