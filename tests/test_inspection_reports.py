"""Inspections with verdicts (issue 16, finding 3): a checklist, findings and evidence; a
RECTIFY verdict assigns a supervised rectification task (整改) whose completion the
inspecting side accepts or rejects. The automatic read log stays as it was."""

from __future__ import annotations

from tests.demo import COUNTY_OFFICIAL, FAR_VILLAGE, TOWN_OFFICIAL, VILLAGE_CADRE
from tests.test_tasks import COMPLETE, in_days

RECORD = """mutation($u: ID!, $s: String!, $v: InspectionVerdict!, $c: [ChecklistItemInput!],
                     $f: String, $e: [String!], $r: DateTime) {
  recordInspection(unit: $u, subject: $s, verdict: $v, checklist: $c, findings: $f,
                   evidence: $e, rectifyBy: $r) {
    id verdict subject findings evidence rectifyBy rectification rejections reviewNote acceptedAt
    checklist { item passed note } unit { code } inspector { code }
    rectificationTask { id status supervised dueAt issuer { code } assignee { code } } } }"""
REVIEW = """mutation($i: ID!, $a: Boolean!, $n: String, $r: DateTime) {
  reviewRectification(inspection: $i, accept: $a, note: $n, rectifyBy: $r) {
    id rectification rejections reviewNote acceptedAt rectificationTask { status dueAt } } }"""
CHECKLIST = [
    {"item": "三务公开栏按时更新", "passed": True},
    {"item": "台账记录完整", "passed": False, "note": "缺少6月份会议记录"},
]


def rectify(unit: str, **extra: object) -> dict[str, object]:
    return {
        "u": unit,
        "s": "村务台账检查",
        "v": "RECTIFY",
        "c": CHECKLIST,
        "f": "会议记录缺失",
        "e": ["https://example.org/现场照片.jpg"],
        "r": in_days(7),
        **extra,
    }


async def test_a_rectify_verdict_assigns_a_supervised_task_the_inspector_reviews(
    gql, make_village, owner_pool
):
    village = await make_village()
    report = (await gql.data(RECORD, rectify(village["code"]), as_=TOWN_OFFICIAL))[
        "recordInspection"
    ]
    assert report["verdict"] == "RECTIFY" and report["rectification"] == "RECTIFYING"
    assert report["checklist"][1] == CHECKLIST[1]
    task = report["rectificationTask"]
    assert task["supervised"] and task["assignee"] == {"code": village["code"]}
    assert task["dueAt"] == report["rectifyBy"]
    # Nothing to review before the village is done.
    error = await gql.error(REVIEW, {"i": report["id"], "a": True}, as_=TOWN_OFFICIAL)
    assert error["extensions"]["code"] == "CONFLICT"
    await gql.data(COMPLETE, {"id": task["id"], "n": "已补齐"}, as_=village["cadre"])
    # The village cannot accept its own rectification; rejection needs a reason and a date.
    error = await gql.error(REVIEW, {"i": report["id"], "a": True}, as_=village["cadre"])
    assert error["extensions"]["code"] == "FORBIDDEN"
    error = await gql.error(REVIEW, {"i": report["id"], "a": False}, as_=TOWN_OFFICIAL)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    rejected = (
        await gql.data(
            REVIEW,
            {"i": report["id"], "a": False, "n": "记录仍不完整", "r": in_days(5)},
            as_=TOWN_OFFICIAL,
        )
    )["reviewRectification"]
    assert rejected["rectification"] == "RECTIFYING" and rejected["rejections"] == 1
    assert rejected["rectificationTask"]["status"] == "OPEN"
    await gql.data(COMPLETE, {"id": task["id"]}, as_=village["cadre"])
    accepted = (
        await gql.data(REVIEW, {"i": report["id"], "a": True, "n": "合格"}, as_=TOWN_OFFICIAL)
    )["reviewRectification"]
    assert accepted["rectification"] == "ACCEPTED" and accepted["acceptedAt"]
    error = await gql.error(REVIEW, {"i": report["id"], "a": True}, as_=TOWN_OFFICIAL)
    assert error["extensions"]["code"] == "CONFLICT"
    actions = await owner_pool.fetch(
        """select action from vg.audit_log where entity = 'inspection_report' and entity_id = $1
            order by id""",
        report["id"],
    )
    assert [r["action"] for r in actions] == [
        "inspection.record",
        "inspection.reject",
        "inspection.accept",
    ]


async def test_a_pass_verdict_creates_no_task_and_bad_reports_change_nothing(
    gql, make_village, owner_pool
):
    village = await make_village()
    passed = (
        await gql.data(
            RECORD,
            {"u": village["code"], "s": "安全生产检查", "v": "PASS", "c": CHECKLIST[:1]},
            as_=TOWN_OFFICIAL,
        )
    )["recordInspection"]
    assert passed["rectificationTask"] is None and passed["rectification"] is None
    before = await owner_pool.fetchval("select count(*) from vg.inspection_reports")
    for bad, code in (
        (rectify(village["code"], r=None), "BAD_USER_INPUT"),
        (rectify(village["code"], f=None), "BAD_USER_INPUT"),
        (rectify(village["code"], r=in_days(-1)), "BAD_USER_INPUT"),
        (rectify(village["code"], e=["ftp://x"]), "BAD_USER_INPUT"),
        ({"u": village["code"], "s": "x", "v": "PASS", "r": in_days(3)}, "BAD_USER_INPUT"),
        (rectify(FAR_VILLAGE), "FORBIDDEN"),
    ):
        error = await gql.error(RECORD, bad, as_=TOWN_OFFICIAL)
        assert error["extensions"]["code"] == code, bad
    error = await gql.error(RECORD, rectify(village["code"]), as_=village["cadre"])
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert await owner_pool.fetchval("select count(*) from vg.inspection_reports") == before


async def test_reports_are_seen_by_the_unit_and_above_only(gql, make_village):
    village = await make_village()
    await gql.data(RECORD, rectify(village["code"]), as_=TOWN_OFFICIAL)
    query = "query($u: ID!) { inspectionReports(unit: $u) { totalCount } }"
    for phone, seen in ((village["cadre"], 1), (COUNTY_OFFICIAL, 1), (VILLAGE_CADRE, 0)):
        page = (await gql.data(query, {"u": village["code"]}, as_=phone))["inspectionReports"]
        assert page["totalCount"] == seen, phone
    resident = village["residents"][0]["phone"]
    assert (await gql.data(query, {"u": village["code"]}, as_=resident))["inspectionReports"][
        "totalCount"
    ] == 0
