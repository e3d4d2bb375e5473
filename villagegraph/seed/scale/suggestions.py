"""Scale data of suggestions (提建议) in every state, with replies."""

from __future__ import annotations

from villagegraph.models import into
from villagegraph.models.suggestions import Suggestion, SuggestionReply
from villagegraph.seed.scale.core import SCALE_END, ScaleRun, chunked, sql_hash, sql_pick

# Tables whose id sequence continues after the generated ids (finish_domains).
SEQUENCES = ("suggestions", "suggestion_replies")


SUGGESTION_TOPICS = ("路灯维修", "增设健身器材", "河道保洁", "停车难", "垃圾清运", "老年食堂")


SUGGESTION_SLOTS = 48  # at most 6 + 3,960 / 100 suggestions per village


async def generate_suggestions(run: ScaleRun) -> None:
    """About one suggestion per hundred residents over two years, in every state, with the
    cadre's replies to the answered ones (the first reply's time is first_answered_at)."""
    end = f"timestamptz '{SCALE_END.isoformat()}'"
    n = f"(v.ordinal * {SUGGESTION_SLOTS} + k)"
    h = sql_hash(n, 89)
    # The newest four are still being handled, one in ten of the older ones was rejected.
    states = f"""case 5 + v.residents / 100 - k
                     when 0 then 'SUBMITTED' when 1 then 'ACKNOWLEDGED'
                     when 2 then 'IN_PROGRESS' when 3 then 'ANSWERED'
                     else case when (5 + v.residents / 100 - k) % 10 = 4 then 'REJECTED'
                               when {h} % 10 < 3 then 'ANSWERED' else 'CLOSED' end end"""
    await chunked(
        run,
        "suggestions",
        f"""insert into {into(Suggestion.village_code, Suggestion.id, Suggestion.resident_id, Suggestion.submitted_by, Suggestion.title, Suggestion.body, Suggestion.status, Suggestion.reason, Suggestion.submitted_at, Suggestion.first_answered_at, Suggestion.updated_at)}
            select v.code, {n} + 1, v.first_resident + {h} % v.residents, null,
                   '关于' || {sql_pick(SUGGESTION_TOPICS, h)} || '的建议',
                   '建议村里尽快研究解决' || {sql_pick(SUGGESTION_TOPICS, h)} || '问题，方便群众生活。',
                   x.status,
                   case when x.status = 'REJECTED' then '不属于村务范围，已转交镇相关部门' end,
                   x.submitted_at,
                   case when x.status in ('ANSWERED', 'CLOSED') then x.answered_at end,
                   case when x.status in ('ANSWERED', 'CLOSED') then x.answered_at
                        when x.status = 'SUBMITTED' then x.submitted_at
                        else x.submitted_at + interval '1 day' end
              from scale_villages v
              cross join lateral generate_series(0, 5 + v.residents / 100) k
              cross join lateral (
                  select {states} as status,
                         {end} - ((5 + v.residents / 100 - k) * 700 / (6 + v.residents / 100)
                                  + {h} % 5) * interval '1 day'
                               - ({h} % 36000) * interval '1 second' as submitted_at,
                         {end} - ((5 + v.residents / 100 - k) * 700 / (6 + v.residents / 100)
                                  + {h} % 5) * interval '1 day'
                               + (1 + {h} / 20 % 10) * interval '1 day' as answered_at
              ) x
             where v.ordinal between $1 and $2""",
    )
    await chunked(
        run,
        "suggestion replies",
        f"""insert into {into(SuggestionReply.village_code, SuggestionReply.suggestion_id, SuggestionReply.id, SuggestionReply.body, SuggestionReply.replied_by, SuggestionReply.replied_at)}
           select s.village_code, s.id, s.id * 2 + j,
                  case when j = 0 then '您的建议已收悉，村两委已研究并安排落实。'
                       else '相关事项已办结，感谢您的监督。' end,
                  st.account_id, s.first_answered_at + j * interval '2 days'
             from scale_villages v
             join scale_staff st on st.code = v.code
             join vg.suggestions s on s.village_code = v.code
             cross join generate_series(0, (s.id % 2)::int) j
            where v.ordinal between $1 and $2 and s.first_answered_at is not null""",
    )
