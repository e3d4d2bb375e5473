"""Scale data of the ledger (村情记录), in Chinese."""

from __future__ import annotations

from villagegraph.models import into
from villagegraph.models.ledger import LedgerEntry
from villagegraph.seed.scale.core import SPAN_DAYS, ScaleRun, chunked, sql_hash, sql_pick

# Tables whose id sequence continues after the generated ids (finish_domains).
SEQUENCES = ("ledger_entries",)


LEDGER_PER_VILLAGE = 40


LEDGER_CATEGORIES = ("安全巡查", "环境整治", "矛盾调解", "防汛防台", "民生服务", "党建活动")


LEDGER_WHO = ("村干部", "网格员", "志愿者", "党员先锋队", "村监委")


LEDGER_WHAT = (
    "开展河道清理",
    "排查独居老人安全",
    "调解邻里纠纷",
    "检查消防通道",
    "整治垃圾分类",
    "清点防汛物资",
    "走访困难家庭",
    "巡查危房",
    "宣传反诈知识",
    "修缮文化礼堂",
)


LEDGER_OUTCOME = ("，已登记在册。", "，发现问题已现场整改。", "，情况良好。", "，群众反映良好。")


async def generate_ledger(run: ScaleRun) -> None:
    """Forty ledger entries per village over two years, in Chinese (河道, 防汛 ... occur)."""
    n = f"(v.ordinal * {LEDGER_PER_VILLAGE} + k)"
    h = sql_hash(n, 101)
    await chunked(
        run,
        "ledger",
        f"""insert into {into(LedgerEntry.village_code, LedgerEntry.id, LedgerEntry.category, LedgerEntry.occurred_on, LedgerEntry.text, LedgerEntry.recorded_by, LedgerEntry.recorded_at)}
            select v.code, {n} + 1, {sql_pick(LEDGER_CATEGORIES, h)}, d.day,
                   to_char(d.day, 'MM月DD日') || {sql_pick(LEDGER_WHO, f"({h} / 7)")}
                     || {sql_pick(LEDGER_WHAT, f"({h} / 11)")}
                     || '，参与' || (3 + {h} % 20) || '人次'
                     || {sql_pick(LEDGER_OUTCOME, f"({h} / 13)")},
                   s.account_id, (d.day + time '18:00') at time zone 'Asia/Shanghai'
              from scale_villages v
              join scale_staff s on s.code = v.code
              cross join generate_series(0, {LEDGER_PER_VILLAGE - 1}) k
              cross join lateral (
                  select date '2024-11-01' + (k * {SPAN_DAYS // LEDGER_PER_VILLAGE}
                                              + {h} % 18)::int as day) d
             where v.ordinal between $1 and $2""",
    )
