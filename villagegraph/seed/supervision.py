"""The supervision demo: disclosure rules for Wenzhou, disclosures that declare their period
(with attachments; in the first demo village one withdrawn with its reason and corrected),
tasks from every tier (some done on time, some late, some overdue and one escalated; one
urged twice (催办); a county task that 五马街道 relayed to its communities, one part done),
inspection reports (one PASS, one RECTIFY with its rectification task), and ledger entries
in Chinese for every demo village (one of them corrected).

Task dates are relative to the moment of seeding, so a fresh demo always shows open,
overdue and escalated tasks; everything else follows the demo's random seed.
"""

from __future__ import annotations

import hashlib
import json
import random
from datetime import UTC, date, datetime, timedelta

import asyncpg

from villagegraph.models import into
from villagegraph.models.inspections import DisclosureRule, InspectionReport
from villagegraph.models.ledger import LedgerEntry
from villagegraph.models.notices import Notice
from villagegraph.models.tasks import Task, TaskReminder, TaskRule
from villagegraph.seed.demo import CITY, DEMO_NOW, DEMO_TOWNS, demo_villages

DISCLOSURE_RULES = (
    # board, months per period, deadline month offset, deadline day
    ("FINANCE", 1, 1, 10),  # 财务公开: monthly, by the 10th of the next month
    ("AFFAIRS", 3, 3, 20),  # 事务公开: each quarter by the 20th of the month after it
)

LEDGER_TEMPLATES = (
    ("村务会议", "召开村民代表大会，讨论{project}预算，到会代表{n}人，表决通过。"),
    ("党建活动", "组织党员开展主题党日活动，学习基层治理文件，参加党员{n}人。"),
    ("矛盾调解", "调解{family}家与邻居宅基地边界纠纷，双方达成书面协议。"),
    ("安全巡查", "开展汛期安全巡查，排查{place}隐患{n}处，已落实整改。"),
    ("环境整治", "组织志愿者清理{place}垃圾，参与村民{n}人，共清运约{n}车。"),
    ("民生服务", "走访低保户和独居老人{n}户，送去米油等慰问品，登记{project}需求。"),
)
PROJECTS = ("村道硬化工程", "文化礼堂修缮", "污水管网改造", "路灯安装", "老年食堂建设")
PLACES = ("溪边河道", "村口桥头", "山塘水库", "村道沿线", "农贸市场")
FAMILIES = ("王", "李", "陈", "林", "周", "黄")

# title, body, days from now to the due date, completed (None: not; else days late)
TOWN_TASKS = (
    (
        "上报第四季度消防安全检查台账",
        "请各社区于截止日前上报辖区消防安全检查台账及整改情况。",
        5,
        None,
    ),
    ("开展困难群众冬季走访慰问", "请各社区走访辖区低保户、独居老人，并在台账中留痕。", -2, None),
    ("报送垃圾分类工作月报", "请按模板报送本月垃圾分类工作开展情况。", -6, None),
    ("完成人口信息核查", "核对辖区常住人口和户籍人口信息，更新系统数据。", -20, -3),
    ("组织防汛应急演练", "各社区组织一次防汛应急演练，上传照片和签到表。", -30, 2),
)
COUNTY_TASKS = (
    ("报送乡村振兴项目进度", "请各镇街报送本季度乡村振兴项目实施进度。", 10, None),
    ("落实秋冬季森林防火责任", "请各镇街落实森林防火包片责任并报区应急管理局备案。", -1, None),
)


async def seed_disclosure_rules(conn: asyncpg.Connection) -> None:
    await conn.executemany(
        f"""insert into {into(DisclosureRule.city_code, DisclosureRule.board, DisclosureRule.period_months, DisclosureRule.deadline_offset_months, DisclosureRule.deadline_day, DisclosureRule.effective_from)}
           values ($1, $2, $3, $4, $5, $6)""",
        [(CITY, *rule, date(DEMO_NOW.year, 7, 1)) for rule in DISCLOSURE_RULES],
    )
    await conn.execute(f"insert into {into(TaskRule.city_code)} values ($1)", CITY)


async def seed_disclosures(conn: asyncpg.Connection) -> None:
    """The demo notices on the finance and affairs boards declare the period they disclose
    (the month, or the quarter, before they were published); the first demo village
    discloses July to September with attachments, withdrawing September's first version
    with its reason and publishing a correction."""
    await conn.execute(
        """update vg.notices
              set period = case board
                  when 'FINANCE' then to_char(published_at at time zone 'Asia/Shanghai'
                                              - interval '1 month', 'YYYY-MM')
                  else to_char(date_trunc('quarter', published_at at time zone 'Asia/Shanghai'
                                                     - interval '3 months'), 'YYYY-MM') end
            where board in ('FINANCE', 'AFFAIRS') and publisher_code % 1000 <> 0"""
    )
    village, cadre = 330302006001, await _account(conn, "13800000003")
    for month, title_month in (("2026-07", 7), ("2026-08", 8), ("2026-09", 9)):
        notice = await _disclose(conn, village, cadre, month, title_month, days_after=5)
        if month == "2026-09":
            await conn.execute(
                """update vg.notices set withdrawn_at = published_at + interval '1 day',
                          withdrawn_by = $3,
                          withdrawal_reason = '附件中“基础设施维护支出”金额录入有误，撤回更正'
                    where publisher_code = $1 and id = $2""",
                village,
                notice,
                cadre,
            )
            await _disclose(
                conn,
                village,
                cadre,
                month,
                title_month,
                days_after=7,
                corrects=notice,
            )
    await conn.execute(
        f"""insert into {into(Notice.publisher_code, Notice.board, Notice.title, Notice.body, Notice.audience, Notice.published_at, Notice.published_by, Notice.period)}
           values ($1, 'AFFAIRS', '2026年第三季度村务公开', '第三季度村务事项公开。', 'PUBLIC',
                   timestamptz '2026-10-12 10:00+08', $2, '2026-07')""",
        village,
        cadre,
    )


async def _disclose(
    conn: asyncpg.Connection,
    village: int,
    cadre: int,
    month: str,
    title_month: int,
    days_after: int,
    corrects: int | None = None,
) -> int:
    name = f"{month.replace('-', '年')}月财务收支明细表{'（更正）' if corrects else ''}.pdf"
    content = f"{village} {name}".encode()
    attachment = {
        "url": f"https://files.example.org/{village}/finance-{month}{'-v2' if corrects else ''}.pdf",
        "name": name,
        "sha256": hashlib.sha256(content).hexdigest(),
    }
    published = datetime.fromisoformat(f"{month}-01T10:00:00+08:00") + timedelta(
        days=31 + days_after
    )
    return int(
        await conn.fetchval(
            f"""insert into {into(Notice.publisher_code, Notice.board, Notice.title, Notice.body, Notice.audience, Notice.published_at, Notice.published_by, Notice.period, Notice.attachments, Notice.corrects_id, Notice.correction_reason)}
               values ($1, 'FINANCE', $2, $3, 'MEMBERS', $4, $5, $6, $7::jsonb, $8, $9)
               returning id""",
            village,
            f"2026年{title_month}月财务公开{'（更正）' if corrects else ''}",
            f"2026年{title_month}月村集体收支明细，详见附件。",
            published,
            cadre,
            month,
            json.dumps([attachment], ensure_ascii=False),
            corrects,
            "更正基础设施维护支出金额" if corrects else None,
        )
    )


async def _account(conn: asyncpg.Connection, phone: str) -> int:
    return int(await conn.fetchval("select id from vg.accounts where phone = $1", phone))


async def seed_tasks(conn: asyncpg.Connection, rng: random.Random) -> None:
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    town_official = await _account(conn, "13800000002")
    county_official = await _account(conn, "13800000001")
    records = []
    for code, _, town in demo_villages():
        if town != DEMO_TOWNS[0]:
            continue
        for title, body, due_days, late_days in TOWN_TASKS:
            due = now + timedelta(days=due_days, hours=rng.randrange(0, 8))
            completed = None if late_days is None else due + timedelta(days=late_days)
            records.append((code, town, town_official, title, body, due, completed))
    for town in DEMO_TOWNS[:2]:
        for title, body, due_days, _ in COUNTY_TASKS:
            due = now + timedelta(days=due_days)
            records.append((town, town - town % 1_000_000, county_official, title, body, due, None))
    for assignee, issuer, issued_by, title, body, due, completed in records:
        task = await conn.fetchval(
            f"""insert into {into(Task.assignee_code, Task.issuer_code, Task.issued_by, Task.title, Task.body, Task.due_at, Task.supervised, Task.completed_at, Task.completed_by, Task.completion_note, Task.acknowledged_at, Task.created_at)}
               values ($1, $2, $3, $4, $5, $6, $7, $8, $3, $9, $10, $6::timestamptz - interval '14 days')
               returning id""",
            assignee,
            issuer,
            issued_by,
            title,
            body,
            due,
            rng.random() < 0.4,
            completed,
            "已按要求完成并上传材料。" if completed else None,
            due - timedelta(days=10) if completed else None,
        )
        if completed is None and due < now:
            await conn.execute(
                f"""insert into {into(TaskReminder.assignee_code, TaskReminder.task_id, TaskReminder.kind, TaskReminder.due_at, TaskReminder.sent_at)}
                   values ($1, $2, 'DUE_SOON', $3, $3::timestamptz - interval '1 day'),
                          ($1, $2, 'OVERDUE', $3, $3)""",
                assignee,
                task,
                due,
            )
            if due + timedelta(days=3) <= now:
                await conn.execute(
                    """update vg.tasks t set escalated_to = u.parent_code, escalated_at = $3
                         from vg.org_units u
                        where u.code = t.issuer_code and t.assignee_code = $1 and t.id = $2""",
                    assignee,
                    task,
                    due + timedelta(days=3),
                )
                await conn.execute(
                    f"""insert into {into(TaskReminder.assignee_code, TaskReminder.task_id, TaskReminder.kind, TaskReminder.due_at, TaskReminder.sent_at)}
                       values ($1, $2, 'ESCALATED', $3, $4)""",
                    assignee,
                    task,
                    due,
                    due + timedelta(days=3),
                )


async def seed_ledger(conn: asyncpg.Connection, rng: random.Random) -> None:
    for code, name, _ in demo_villages():
        cadre = await conn.fetchval(
            "select min(account_id) from vg.grants where unit_code = $1 and role = 'CADRE'", code
        )
        for i in range(8):
            category, template = LEDGER_TEMPLATES[(code + i) % len(LEDGER_TEMPLATES)]
            text = template.format(
                project=rng.choice(PROJECTS),
                place=rng.choice(PLACES),
                family=rng.choice(FAMILIES),
                n=rng.randrange(3, 40),
            )
            occurred = DEMO_NOW.date() - timedelta(days=rng.randrange(0, 120))
            await conn.execute(
                f"""insert into {into(LedgerEntry.village_code, LedgerEntry.category, LedgerEntry.occurred_on, LedgerEntry.text, LedgerEntry.recorded_by, LedgerEntry.recorded_at)}
                   values ($1, $2, $3, $4, $5, $6)""",
                code,
                category,
                occurred,
                f"{name}：{text}",
                cadre,
                datetime.combine(occurred, datetime.min.time(), UTC) + timedelta(hours=10),
            )
    original = await conn.fetchrow(
        """select id, category, occurred_on, text from vg.ledger_entries
            where village_code = 330302006001 order by id limit 1"""
    )
    await conn.execute(
        f"""insert into {into(LedgerEntry.village_code, LedgerEntry.category, LedgerEntry.occurred_on, LedgerEntry.text, LedgerEntry.corrects_id, LedgerEntry.recorded_by)}
           values (330302006001, $1, $2, $3, $4, $5)""",
        original["category"],
        original["occurred_on"],
        original["text"] + "（更正：补记会议地点为村文化礼堂。）",
        original["id"],
        await _account(conn, "13800000003"),
    )


RELAYED_TASK = "报送乡村振兴项目进度"


async def seed_relay_and_urging(conn: asyncpg.Connection) -> None:
    """五马街道 relays the county's task to its communities (one part done) and urges one
    overdue task of its own twice."""
    town = DEMO_TOWNS[0]
    town_official = await _account(conn, "13800000002")
    original = await conn.fetchrow(
        "select id, due_at from vg.tasks where assignee_code = $1 and title = $2",
        town,
        RELAYED_TASK,
    )
    villages = [code for code, _, parent in demo_villages() if parent == town]
    for n, village in enumerate(villages):
        done = n == 0
        await conn.execute(
            f"""insert into {into(Task.assignee_code, Task.issuer_code, Task.issued_by, Task.title, Task.body, Task.due_at, Task.relayed_from_unit, Task.relayed_from, Task.completed_at, Task.completed_by, Task.completion_note)}
               values ($1, $2, $3, $4, '请各社区报送本社区乡村振兴项目进度，由街道汇总上报。',
                       $5, $2, $6, $7, $8, $9)""",
            village,
            town,
            town_official,
            RELAYED_TASK,
            original["due_at"],
            original["id"],
            datetime.now(UTC) if done else None,
            await _account(conn, "13800000003") if done else None,
            "已报送。" if done else None,
        )
    for _ in range(2):  # one urging at a time, as the task guard allows
        await conn.execute(
            """update vg.tasks set urge_count = urge_count + 1, last_urged_at = now()
                where id = (select id from vg.tasks where assignee_code = $1
                              and completed_at is null and due_at < now()
                              and relayed_from is null order by id limit 1)""",
            villages[0],
        )


async def seed_inspection_reports(conn: asyncpg.Connection) -> None:
    """五马街道 inspected two communities' boards and ledgers: one passed, one must rectify
    (a supervised rectification task, due in a week)."""
    town = DEMO_TOWNS[0]
    inspector = await _account(conn, "13800000002")
    villages = [code for code, _, parent in demo_villages() if parent == town]
    checklist = (
        '[{"item": "三务公开栏按期更新", "passed": true, "note": null},'
        ' {"item": "村务会议记录完整", "passed": false, "note": "缺少近两个月的会议记录"}]'
    )
    report = await conn.fetchval("select nextval('vg.inspection_reports_id_seq')")
    task = await conn.fetchval(
        f"""insert into {into(Task.assignee_code, Task.issuer_code, Task.issued_by, Task.title, Task.body, Task.due_at, Task.supervised, Task.source_key, Task.attachments)}
           values ($1, $2, $3, '整改：村务公开与台账检查', '补齐近两个月的村务会议记录并上传。',
                   now() + interval '7 days', true, $4, $5)
           returning id""",
        villages[0],
        town,
        inspector,
        f"inspection:{report}",
        ["https://example.org/检查照片-公开栏.jpg"],
    )
    await conn.execute(
        f"""insert into {into(InspectionReport.unit_code, InspectionReport.id, InspectionReport.inspector_unit, InspectionReport.inspected_by, InspectionReport.subject, InspectionReport.checklist, InspectionReport.verdict, InspectionReport.findings, InspectionReport.evidence, InspectionReport.rectify_by, InspectionReport.rectification_task)}
           select $1, $2, $3, $4, '村务公开与台账检查', $5::jsonb, 'RECTIFY',
                  '公开栏已更新；村务会议记录缺少近两个月。', $6, t.due_at, t.id
             from vg.tasks t where t.assignee_code = $1 and t.id = $7""",
        villages[0],
        report,
        town,
        inspector,
        checklist,
        ["https://example.org/检查照片-公开栏.jpg"],
        task,
    )
    await conn.execute(
        f"""insert into {into(InspectionReport.unit_code, InspectionReport.inspector_unit, InspectionReport.inspected_by, InspectionReport.subject, InspectionReport.checklist, InspectionReport.verdict, InspectionReport.findings)}
           values ($1, $2, $3, '安全生产检查',
                   '[{{"item": "消防器材在有效期内", "passed": true, "note": null}}]', 'PASS', '')""",
        villages[1],
        town,
        inspector,
    )


async def seed_supervision(conn: asyncpg.Connection, rng: random.Random) -> None:
    await seed_disclosure_rules(conn)
    await seed_disclosures(conn)
    await seed_tasks(conn, rng)
    await seed_relay_and_urging(conn)
    await seed_inspection_reports(conn)
    await seed_ledger(conn, rng)
