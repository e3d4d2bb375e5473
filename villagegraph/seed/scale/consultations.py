"""Scale data of consultations (码上协商): rolls, ballots and closed results."""

from __future__ import annotations

from villagegraph.models import into
from villagegraph.models.consultations import Ballot, Consultation, ConsultationElector
from villagegraph.seed.scale.core import SCALE_END, ScaleRun, chunked, sql_array, sql_hash

# Tables whose id sequence continues after the generated ids (finish_domains).
SEQUENCES = ("consultations",)


CONSULTATION_TOPICS = ("村道硬化工程", "文化礼堂修缮", "集体资产发包", "垃圾分类积分方案")


async def generate_consultations(run: ScaleRun) -> None:
    """Four per village: three representatives' meetings, closed, with their results fixed
    from their ballots, and one village poll still open; rolls and ballots."""
    conn = run.conn
    end = f"timestamptz '{SCALE_END.isoformat()}'"
    h = sql_hash("v.ordinal * 4 + c", 79)
    await conn.execute(
        f"""insert into {into(Consultation.village_code, Consultation.id, Consultation.title, Consultation.description, Consultation.options, Consultation.opens_at, Consultation.closes_at, Consultation.rule, Consultation.eligibility, Consultation.created_by, Consultation.created_at)}
            select v.code, v.ordinal * 4 + c + 1,
                   ({sql_array(CONSULTATION_TOPICS)})[c + 1] || '表决',
                   '经村两委研究，提请' || case when c < 3 then '村民代表会议' else '全体村民' end
                     || '表决' || ({sql_array(CONSULTATION_TOPICS)})[c + 1] || '事项。',
                   array['同意', '不同意', '弃权'], w.opens_at,
                   case when c < 3 then w.opens_at + interval '7 days'
                        else {end} + interval '120 days' end,
                   case when c < 3 then 'REPRESENTATIVES_MEETING' else 'SIMPLE_MAJORITY' end,
                   case when c < 3 then 'REPRESENTATIVES' else 'VILLAGERS' end,
                   s.account_id, w.opens_at - interval '1 day'
              from scale_villages v
              join scale_staff s on s.code = v.code
              cross join generate_series(0, 3) c
              cross join lateral (
                  select {end} - (case when c < 3 then (2 - c) * 230 + 20 + {h} % 40
                                       else 5 end) * interval '1 day' as opens_at) w"""
    )
    # The roll: every 50th resident for the representatives, every 8th for the poll.
    await chunked(
        run,
        "electors",
        f"""insert into {into(ConsultationElector.village_code, ConsultationElector.consultation_id, ConsultationElector.resident_village, ConsultationElector.resident_id, ConsultationElector.household)}
           select c.village_code, c.id, r.village_code, r.id, r.household_no
             from scale_villages v
             join vg.consultations c on c.village_code = v.code
             cross join lateral generate_series(
                 v.first_resident + (c.id % 4)::int, v.first_resident + v.residents - 1,
                 case when c.rule = 'SIMPLE_MAJORITY' then 8 else 50 end) g
             join vg.residents r on r.village_code = v.code and r.id = g
            where v.ordinal between $1 and $2""",
    )
    hb = sql_hash("e.resident_id + e.consultation_id * 7919", 83)
    await conn.execute("alter table vg.ballots disable trigger ballots_window")
    await chunked(
        run,
        "ballots",
        f"""insert into {into(Ballot.village_code, Ballot.consultation_id, Ballot.resident_village, Ballot.resident_id, Ballot.option_index, Ballot.cast_at)}
            select e.village_code, e.consultation_id, e.resident_village, e.resident_id,
                   case when {hb} % 10 < 6 then 0 when {hb} % 10 < 9 then 1 else 2 end,
                   c.opens_at + ({hb} / 10 % case when c.closes_at < {end} then 6 * 86400
                                                 else 4 * 86400 end) * interval '1 second'
              from scale_villages v
              join vg.consultations c on c.village_code = v.code
              join vg.consultation_electors e
                on e.village_code = c.village_code and e.consultation_id = c.id
             where v.ordinal between $1 and $2
               and {hb} / 1000 % 100 < case when c.closes_at < {end} then 80 else 40 end""",
    )
    await conn.execute("alter table vg.ballots enable trigger ballots_window")
    # Closing fixes each result from the ballots through the migration's own functions (the
    # closing trigger computes the same when triggers are on).
    await chunked(
        run,
        "consultation results",
        f"""update vg.consultations c
               set closed_at = c.closes_at, eligible_count = t.electors,
                   eligible_households = t.elector_households, ballots_cast = t.ballots,
                   households_voted = t.households, votes = t.votes::integer[],
                   quorum_met = d.quorum_met, winning_option = d.winning_option,
                   passed = d.passed
              from vg.count_ballots(array(
                       select x.id from vg.consultations x
                         join scale_villages v on v.code = x.village_code
                        where v.ordinal between $1 and $2 and x.closes_at < {end})) t
              join vg.consultations r on r.id = t.consultation_id
              cross join lateral vg.consultation_decision(r.rule, t.votes, t.ballots,
                  t.households, t.electors, t.elector_households) d
             where c.village_code = r.village_code and c.id = r.id""",
    )
