"""Scale data of the residents domain: cadres (two terms), party members, households."""

from __future__ import annotations

from villagegraph.models import into
from villagegraph.models.residents import Cadre, Household, PartyMember
from villagegraph.seed.scale.core import ScaleRun, chunked, sql_array, sql_hash

# Tables whose id sequence continues after the generated ids (finish_domains).
SEQUENCES = ("cadres",)


CADRE_SEATS = (  # (body, position): the 书记 also chairs the committee (一肩挑)
    ("PARTY_BRANCH", "党支部书记"),
    ("PARTY_BRANCH", "党支部副书记"),
    ("PARTY_BRANCH", "党支部委员"),
    ("COMMITTEE", "村委会主任"),
    ("COMMITTEE", "村委会副主任"),
    ("COMMITTEE", "村委会委员"),
    ("COMMITTEE", "妇女委员"),
)


TERMS = (("2021-04-01", "2026-04-01"), ("2026-04-01", None))


async def generate_cadres(run: ScaleRun) -> None:
    """Two terms of the village committee and party branch, party members from the 党员
    tag, and the household register from the residents' household numbers."""
    seats = len(CADRE_SEATS)
    bodies = sql_array(tuple(b for b, _ in CADRE_SEATS))
    positions = sql_array(tuple(p for _, p in CADRE_SEATS))
    await run.conn.execute(
        f"""insert into {into(Cadre.village_code, Cadre.id, Cadre.name, Cadre.body, Cadre.position, Cadre.resident_village, Cadre.resident_id, Cadre.account_id, Cadre.term_start, Cadre.term_end, Cadre.appointed_by)}
            select v.code, v.ordinal * {seats * 2} + t.n * {seats} + k + 1, r.name,
                   ({bodies})[k + 1], ({positions})[k + 1], r.village_code, r.id,
                   case when t.n = 1 and k = 0 then s.account_id end,
                   t.term_start, t.term_end, null
              from scale_villages v
              join scale_staff s on s.code = v.code
              cross join (values (0, date '{TERMS[0][0]}', date '{TERMS[0][1]}'),
                                 (1, date '{TERMS[1][0]}', null::date)) t (n, term_start, term_end)
              cross join generate_series(0, {seats - 1}) k
              join vg.residents r on r.village_code = v.code
               and r.id = v.first_resident + (t.n * {seats} + case when k = 3 then 0 else k end)
                          % v.residents"""
    )
    joined = sql_hash("r.id", 67)
    await chunked(
        run,
        "party members",
        f"""insert into {into(PartyMember.village_code, PartyMember.resident_id, PartyMember.joined_on, PartyMember.branch_code)}
            select r.village_code, r.id,
                   least(date '2026-09-01',
                         r.birth_date + ((20 + {joined} % 30) * 365 + {joined} % 300)::int),
                   r.village_code
              from scale_villages v
              join vg.residents r on r.village_code = v.code
             where v.ordinal between $1 and $2 and '党员' = any (r.tags)""",
    )
    await chunked(
        run,
        "households",
        f"""insert into {into(Household.village_code, Household.household_no, Household.head_resident_id, Household.address, Household.registered_on)}
           select r.village_code, r.household_no, min(r.id),
                  min(o.name) || split_part(r.household_no, '-', 2) || '号',
                  min(r.created_at)::date
             from scale_villages v
             join vg.org_units o on o.code = v.code
             join vg.residents r on r.village_code = v.code
            where v.ordinal between $1 and $2
            group by r.village_code, r.household_no""",
    )
