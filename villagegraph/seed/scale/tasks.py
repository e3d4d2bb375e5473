"""Scale data of tasks (待办/督办) from towns and counties, with reminders."""

from __future__ import annotations

from villagegraph.models import into
from villagegraph.models.tasks import Task, TaskReminder
from villagegraph.seed.scale.core import SCALE_END, ScaleRun, chunked, sql_hash, sql_pick

# Tables whose id sequence continues after the generated ids (finish_domains).
SEQUENCES = ("tasks",)


TASK_TOPICS = (
    "防汛防台隐患排查",
    "人居环境整治",
    "垃圾分类督查",
    "安全生产检查",
    "村务公开整改",
    "低保对象复核",
    "森林防火巡查",
    "反诈宣传进村",
)


TASKS_PER_VILLAGE = 40  # 30 from the town, 10 from the county, over two years


async def generate_tasks(run: ScaleRun) -> None:
    """Tasks from the town (30) and the county (10) to each village over two years: done on
    time, done late, overdue, escalated to the issuer's superior, and open; reminders."""
    end = f"timestamptz '{SCALE_END.isoformat()}'"
    n = f"(v.ordinal * {TASKS_PER_VILLAGE} + k)"
    h = sql_hash(n, 97)
    await chunked(
        run,
        "tasks",
        f"""insert into {into(Task.assignee_code, Task.id, Task.issuer_code, Task.issued_by, Task.title, Task.body, Task.due_at, Task.supervised, Task.acknowledged_at, Task.acknowledged_by, Task.completed_at, Task.completed_by, Task.completion_note, Task.escalated_to, Task.escalated_at, Task.created_at)}
            select v.code, {n} + 1, x.issuer, si.account_id,
                   {sql_pick(TASK_TOPICS, h)} || '（' || to_char(x.created_at, 'YYYY年MM月') || '）',
                   '请按要求完成' || {sql_pick(TASK_TOPICS, h)} || '，并于期限内上报结果。',
                   x.due_at, x.state = 'ESCALATED' or {h} % 5 = 0,
                   case when x.state in ('ON_TIME', 'LATE') then x.created_at + interval '2 hours' end,
                   case when x.state in ('ON_TIME', 'LATE') then sv.account_id end,
                   case x.state when 'ON_TIME' then x.due_at - (1 + {h} % 3) * interval '1 day'
                                when 'LATE' then x.due_at + (1 + {h} % 5) * interval '1 day' end,
                   case when x.state in ('ON_TIME', 'LATE') then sv.account_id end,
                   case when x.state in ('ON_TIME', 'LATE') then '已按要求完成，材料已上传。' end,
                   case when x.state = 'ESCALATED' then x.issuer - x.issuer % x.parent_divisor end,
                   case when x.state = 'ESCALATED' then x.due_at + interval '3 days' end,
                   x.created_at
              from scale_villages v
              join scale_staff sv on sv.code = v.code
              cross join generate_series(0, {TASKS_PER_VILLAGE - 1}) k
              cross join lateral (
                  select case when k < 30 then v.town else v.town - v.town % 1000000 end as issuer,
                         case when k < 30 then 1000000 else 100000000 end as parent_divisor,
                         c.created_at, c.created_at + (7 + {h} % 14) * interval '1 day' as due_at,
                         case when c.created_at + (7 + {h} % 14) * interval '1 day' > {end}
                                   then 'OPEN'
                              when {h} / 7 % 20 < 13 then 'ON_TIME'
                              when {h} / 7 % 20 < 16 then 'LATE'
                              when {h} / 7 % 20 < 18
                               and c.created_at + (10 + {h} % 14) * interval '1 day' < {end}
                                   then 'ESCALATED'
                              else 'OVERDUE' end as state
                    from (select {end} - ((({TASKS_PER_VILLAGE} - 1 - k) * 17 + {h} % 4) * 86400
                                          + {h} % 30000) * interval '1 second' as created_at) c
              ) x
              join scale_staff si on si.code = x.issuer
             where v.ordinal between $1 and $2""",
    )
    await chunked(
        run,
        "task reminders",
        f"""insert into {into(TaskReminder.assignee_code, TaskReminder.task_id, TaskReminder.kind, TaskReminder.due_at, TaskReminder.sent_at)}
            select t.assignee_code, t.id, r.kind, t.due_at, r.sent_at
              from scale_villages v
              join vg.tasks t on t.assignee_code = v.code
              cross join lateral (values
                  ('DUE_SOON', t.due_at - interval '24 hours'),
                  ('OVERDUE', t.due_at + interval '1 hour'),
                  ('ESCALATED', t.escalated_at)) r (kind, sent_at)
             where v.ordinal between $1 and $2 and r.sent_at is not null and r.sent_at < {end}
               and (t.completed_at is null or t.completed_at > r.sent_at)""",
    )
