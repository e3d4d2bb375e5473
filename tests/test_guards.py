"""Who may call what: every guard's error code and message, and the order of a field's
checks, pinned (schema/guards.py). Refusing a caller costs no statement beyond the ones
the check itself needs; an anonymous caller's refusal costs none."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from graphql import parse

from tests.demo import (
    ANALYST,
    CITY,
    FAR_RESIDENT,
    RESIDENT,
    ROOT,
    TOWN_OFFICIAL,
    VILLAGE,
    VILLAGE_CADRE,
)

MISSING_TOWN = "110101999000"  # well formed, a town's; the demo and tests never make Beijing
MISSING_VILLAGE = "110101999998"


def _soon(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def finance_entry(village: str, amount: str = "100.00") -> dict[str, Any]:
    return {
        "village": village,
        "period": "2025-01",
        "direction": "INCOME",
        "category": "其他收入",
        "amount": amount,
    }


def ledger_entry(village: str) -> dict[str, Any]:
    return {"village": village, "category": "村务会议", "occurredOn": "2025-01-01", "text": "x"}


def shelter(unit: str) -> dict[str, Any]:
    return {
        "unit": unit,
        "name": "n",
        "address": "a",
        "location": {"lat": 28.0, "lng": 120.6},
        "capacity": 10,
    }


def cadre(village: str) -> dict[str, Any]:
    return {
        "village": village,
        "name": "张三",
        "body": "COMMITTEE",
        "position": "委员",
        "termStart": "2025-01-01",
    }


PUBLISH = "mutation($i: PublishNoticeInput!) { publishNotice(input: $i) { id } }"
RECORD_FINANCE = "mutation($i: FinanceEntryInput!) { recordFinanceEntry(input: $i) { id } }"
ANALYTICS = "query($v: ID!) { analytics(measure: NOTICES, unit: $v, by: []) { truncated } }"
RECORD_LEDGER = "mutation($i: LedgerEntryInput!) { recordLedgerEntry(input: $i) { id } }"


def notice(unit: str) -> dict[str, Any]:
    return {"unit": unit, "board": "NOTICE", "title": "t", "body": "b", "audience": "PUBLIC"}


# Every field that needs a caller, with valid arguments: an anonymous call is refused with
# "Log in to <action>." (ids need not exist: the login comes first, or after input checks).
ANONYMOUS: list[tuple[str, dict[str, Any], str]] = [
    ("{ feed { totalCount } }", {}, "see your feed"),
    (
        'mutation { setPushRule(city: "330300000000", board: POLICY, tier: CITY, push: true) { push } }',
        {},
        "set push rules",
    ),
    (
        "mutation { setNotificationPreferences(channels: [SMS]) { channels } }",
        {},
        "set your notification preferences",
    ),
    (
        'mutation { verifyResidentIdentity(name: "张三", idNumber: "1") { bound } }',
        {},
        "verify who you are",
    ),
    (
        'mutation { confirmResidentAccount(phone: "13900000000", resident: "1") { id } }',
        {},
        "confirm residents' accounts",
    ),
    (
        'mutation { setFamilyProxy(resident: "1", phone: "13900000000", consent: "x") }',
        {},
        "record family proxies",
    ),
    ('mutation { bindWechat(code: "c") { id } }', {}, "bind WeChat"),
    ("mutation { logout }", {}, "log out"),
    ('mutation { withdrawNotice(id: "1", reason: "r") { id } }', {}, "withdraw notices"),
    (
        'mutation { correctNotice(id: "1", input: {title: "t", body: "b"}, reason: "r") { id } }',
        {},
        "correct notices",
    ),
    ('mutation { approveFinanceEntry(id: "1") { id } }', {}, "approve finance entries"),
    (
        'mutation { rejectFinanceEntry(id: "1", reason: "r") { id } }',
        {},
        "approve finance entries",
    ),
    (
        "mutation($c: ID!) { setFinanceRules(city: $c) { city } }",
        {"c": CITY},
        "set finance rules",
    ),
    (
        "mutation($c: ID!) { addAccountSubject("
        'input: {city: $c, code: "501009", name: "n", parent: "501"}) { code } }',
        {"c": CITY},
        "add account subjects",
    ),
    (
        'mutation { changePassword(old: "demo", new: "a-longer-passphrase") }',
        {},
        "change your password",
    ),
    (
        "query($v: ID!) { finance(village: $v) { totals { income } } }",
        {"v": VILLAGE},
        "read the village accounts",
    ),
    (
        ANALYTICS,
        {"v": VILLAGE},
        "run analytics",
    ),
    (PUBLISH, {"i": notice(VILLAGE)}, "publish notices"),
    ('mutation { markNoticeRead(id: "1") { id } }', {}, "mark notices read"),
    (
        "mutation($i: AppointCadreInput!) { appointCadre(input: $i) { id } }",
        {"i": cadre(VILLAGE)},
        "appoint cadres",
    ),
    ('mutation { updateResident(id: "1", input: {tags: []}) { id } }', {}, "update residents"),
    ('mutation { endCadreTerm(id: "1", on: "2030-01-01") { id } }', {}, "end cadre terms"),
    ('mutation { requestMembership(resident: "1") { id } }', {}, "request memberships"),
    ('mutation { acceptMembership(id: "1") { id } }', {}, "decide memberships"),
    ('mutation { rejectMembership(id: "1", reason: "r") { id } }', {}, "decide memberships"),
    (
        'mutation { applyListing(input: {kind: SPECIALTY_PRODUCT, name: "n",'
        ' description: "d", contact: "c"}) { id } }',
        {},
        "apply for a listing",
    ),
    ('mutation { reviewListing(id: "1", approve: true) { id } }', {}, "review listings"),
    (
        "mutation($i: CreateShelterInput!) { createShelter(input: $i) { id } }",
        {"i": shelter(VILLAGE)},
        "maintain shelters",
    ),
    ('mutation { updateShelter(id: "1", input: {capacity: 5}) { id } }', {}, "maintain shelters"),
    (
        "mutation($v: ID!) { openSheltersForEmergency(unit: $v) { opened } }",
        {"v": VILLAGE},
        "open shelters",
    ),
    (RECORD_FINANCE, {"i": finance_entry(VILLAGE)}, "record finance entries"),
    (
        'mutation { reverseFinanceEntry(id: "1", memo: "m") { id } }',
        {},
        "reverse finance entries",
    ),
    (
        "mutation($v: ID!) { setBudget(input: {village: $v, year: 2025, direction: INCOME,"
        ' category: "c", amount: "1.00"}) { year } }',
        {"v": VILLAGE},
        "set budgets",
    ),
    (
        "mutation($i: CreateConsultationInput!) { createConsultation(input: $i) { id } }",
        {
            "i": {
                "unit": VILLAGE,
                "title": "t",
                "description": "d",
                "options": ["是", "否"],
                "opensAt": _soon(1),
                "closesAt": _soon(2),
            }
        },
        "create consultations",
    ),
    ('mutation { castBallot(consultation: "1", option: 0) { id } }', {}, "vote"),
    ('mutation { closeConsultation(id: "1") { id } }', {}, "close consultations"),
    ('mutation { commentOnConsultation(consultation: "1", body: "b") { id } }', {}, "comment"),
    # issue 15: village democracy
    (
        'mutation { proposeConsultation(input: {title: "t", description: "d",'
        ' options: ["是", "否"]}) { id } }',
        {},
        "propose",
    ),
    ('mutation { supportProposal(proposal: "1") { id } }', {}, "support proposals"),
    (
        "mutation($o: DateTime!, $c: DateTime!) {"
        ' scheduleProposal(proposal: "1", opensAt: $o, closesAt: $c) { id } }',
        {"o": _soon(1), "c": _soon(2)},
        "schedule proposals",
    ),
    (
        'mutation { recordPaperBallot(consultation: "1", elector: "1", option: 0,'
        ' witness: "1") { id } }',
        {},
        "record paper ballots",
    ),
    (
        'mutation { authorizeProxy(consultation: "1", proxy: "2") { proxyId } }',
        {},
        "authorise a proxy",
    ),
    (
        f'mutation {{ signOffFinancePeriod(village: "{VILLAGE}", period: "2026-10") {{ id }} }}',
        {},
        "sign off",
    ),
    ('mutation { signOffDisclosure(notice: "1") { id } }', {}, "sign off"),
    (
        f'mutation {{ raiseObjection(village: "{VILLAGE}", subject: "s", body: "b") {{ id }} }}',
        {},
        "raise objections",
    ),
    (
        'mutation { startExecution(consultation: "1", responsible: "1") { progress } }',
        {},
        "carry out resolutions",
    ),
    (
        'mutation { addExecutionMilestone(consultation: "1", title: "t",'
        ' dueOn: "2030-01-01") { id } }',
        {},
        "plan milestones",
    ),
    ('mutation { completeExecutionMilestone(id: "1") { id } }', {}, "complete milestones"),
    (
        'mutation { linkExecution(consultation: "1", kind: TASK, target: "1") { kind } }',
        {},
        "link",
    ),
    (
        "mutation($c: DateTime!) {"
        f' openExecutionReview(village: "{VILLAGE}", year: 2025, closesAt: $c) {{ year }} }}',
        {"c": _soon(30)},
        "open reviews",
    ),
    (
        f'mutation {{ rateExecution(village: "{VILLAGE}", year: 2025, rating: SATISFIED)'
        " { year } }",
        {},
        "rate",
    ),
    (
        'mutation { submitSuggestion(input: {title: "t", body: "b"}) { id } }',
        {},
        "submit suggestions",
    ),
    ('mutation { replyToSuggestion(id: "1", body: "b") { id } }', {}, "answer suggestions"),
    (
        'mutation { setSuggestionStatus(id: "1", status: CLOSED) { id } }',
        {},
        "handle suggestions",
    ),
    (
        "mutation($i: AssignTaskInput!) { assignTask(input: $i) { id } }",
        {"i": {"assignees": [VILLAGE], "title": "t", "body": "b", "dueAt": _soon(3)}},
        "assign tasks",
    ),
    ('mutation { acknowledgeTask(id: "1") { id } }', {}, "acknowledge tasks"),
    ('mutation { completeTask(id: "1") { id } }', {}, "complete tasks"),
    ('mutation { reopenTask(id: "1") { id } }', {}, "reopen tasks"),
    ('mutation { urgeTask(id: "1") { id } }', {}, "urge tasks"),
    (
        'mutation($v: ID!) { relayTask(id: "1", assignees: [$v]) { id } }',
        {"v": VILLAGE},
        "relay tasks",
    ),
    (
        "mutation($c: ID!) { setTaskRules(input: {city: $c, remindBeforeHours: 24,"
        " escalateAfterHours: 72}) { isDefault } }",
        {"c": CITY},
        "set task rules",
    ),
    (
        "mutation($c: ID!) { setDisclosureRules(input: {city: $c, board: FINANCE,"
        ' periodMonths: 3, deadlineOffsetMonths: 1, deadlineDay: 10, effectiveFrom: "2025-01-01"})'
        " { periodMonths } }",
        {"c": CITY},
        "set disclosure rules",
    ),
    (RECORD_LEDGER, {"i": ledger_entry(VILLAGE)}, "record ledger entries"),
    (
        'mutation { correctLedgerEntry(id: "1", input: {text: "t"}) { id } }',
        {},
        "correct ledger entries",
    ),
    (
        'mutation($v: ID!) { recordInspection(unit: $v, subject: "s", verdict: PASS) { id } }',
        {"v": VILLAGE},
        "record inspections",
    ),
    (
        'mutation { reviewRectification(inspection: "1", accept: true) { id } }',
        {},
        "review rectifications",
    ),
]


def only_error(result: Any) -> tuple[str, str, dict[str, Any]]:
    assert result.errors and len(result.errors) == 1, result
    error = result.errors[0]
    return error.message, error.extensions["code"], error.extensions


@pytest.mark.parametrize(("document", "variables", "action"), ANONYMOUS)
async def test_anonymous_callers_are_asked_to_log_in_for_the_fields_action(
    execute, document, variables, action
):
    result, session = await execute(document, None, variables)
    message, code, _ = only_error(result)
    assert (code, message) == ("UNAUTHENTICATED", f"Log in to {action}.")
    assert session.statements == 0


def test_every_mutation_is_in_the_table():
    """A new mutation gets a row above, or is one of the ways to become a caller."""
    document = parse((ROOT / "schema" / "schema.graphql").read_text())
    mutation = next(
        d for d in document.definitions if getattr(d, "name", None) and d.name.value == "Mutation"
    )
    mutations = {field.name.value for field in mutation.fields}
    pinned = {doc.split("{", 2)[1].split("(")[0].split("}")[0].strip() for doc, _, _ in ANONYMOUS}
    # A password, a refresh token or a one-time code is the credential itself: no caller
    # exists yet.
    assert mutations - pinned == {"login", "refreshToken", "requestLoginCode", "loginWithCode"}


async def test_a_mutation_checks_the_caller_before_its_input_where_it_always_has(
    execute, account_id
):
    # Log in first, then the argument: a malformed unit from nobody is UNAUTHENTICATED.
    result, _ = await execute(PUBLISH, None, {"i": notice("no-code")})
    assert only_error(result)[1] == "UNAUTHENTICATED"
    # A staff check needs the unit: a missing one is NOT_FOUND, named, before FORBIDDEN.
    resident = await account_id(RESIDENT)
    result, _ = await execute(PUBLISH, resident, {"i": notice(MISSING_VILLAGE)})
    message, code, extensions = only_error(result)
    assert (code, message, extensions["argument"]) == (
        "NOT_FOUND",
        f"There is no unit {MISSING_VILLAGE}.",
        "unit",
    )


async def test_input_checks_come_first_where_they_always_have(execute, account_id):
    # The village affairs and the feed check their input before the caller.
    result, _ = await execute(RECORD_FINANCE, None, {"i": finance_entry(VILLAGE, "-1")})
    assert only_error(result)[1] == "BAD_USER_INPUT"
    result, _ = await execute('{ feed(after: "garbage") { totalCount } }', None)
    assert only_error(result)[1] == "BAD_USER_INPUT"
    # A ledger entry checks the tier before the unit exists; village affairs the other
    # way round (both kept as they were).
    cadre = await account_id(VILLAGE_CADRE)
    result, session = await execute(RECORD_LEDGER, cadre, {"i": ledger_entry(MISSING_TOWN)})
    assert only_error(result)[:2] == ("`village` must be a village or community.", "BAD_USER_INPUT")
    assert session.statements == 1  # begin_request only: no lookup of the unit
    result, _ = await execute(RECORD_FINANCE, cadre, {"i": finance_entry(MISSING_TOWN)})
    assert only_error(result)[:2] == (f"There is no unit {MISSING_TOWN}.", "NOT_FOUND")


# Signed in, not allowed: (caller, document, variables, message).
ARGUMENT_REFUSALS: list[tuple[str, str, dict[str, Any], str]] = [
    (
        RESIDENT,
        PUBLISH,
        {"i": notice(VILLAGE)},
        "Only officials and cadres of this unit or above may publish here.",
    ),
    (
        RESIDENT,
        "mutation($i: CreateShelterInput!) { createShelter(input: $i) { id } }",
        {"i": shelter(VILLAGE)},
        "Only cadres and officials of this unit or above may add shelters.",
    ),
    (
        RESIDENT,
        "mutation($v: ID!) { openSheltersForEmergency(unit: $v) { opened } }",
        {"v": VILLAGE},
        "Only officials and cadres of this unit or above may open shelters.",
    ),
    (
        RESIDENT,
        RECORD_LEDGER,
        {"i": ledger_entry(VILLAGE)},
        "Only the village's cadres and officials above it may record here.",
    ),
    (
        RESIDENT,
        "mutation($i: AppointCadreInput!) { appointCadre(input: $i) { id } }",
        {"i": cadre(VILLAGE)},
        "Only cadres of this village and officials above may appoint.",
    ),
    (
        RESIDENT,
        RECORD_FINANCE,
        {"i": finance_entry(VILLAGE)},
        "Only the village's cadres and officials above it may do this.",
    ),
    (
        RESIDENT,
        ANALYTICS,
        {"v": VILLAGE},
        "Analytics are for officials and analysts over their own units.",
    ),
    (
        FAR_RESIDENT,
        "query($v: ID!) { finance(village: $v) { totals { income } } }",
        {"v": VILLAGE},
        "The village accounts are open to its villagers and officials only.",
    ),
    (
        TOWN_OFFICIAL,
        'query($v: ID!) { residents(unit: $v, idNumber: "330302") { totalCount } }',
        {"v": VILLAGE},
        "Only cadres of the village may look residents up by ID number or phone; ask for one "
        "village whose cadre you are.",
    ),
    (
        VILLAGE_CADRE,
        'mutation($v: ID!) { recordInspection(unit: $v, subject: "s", verdict: PASS) { id } }',
        {"v": VILLAGE},
        "Inspect only units below the ones you serve.",
    ),
    (
        TOWN_OFFICIAL,
        "mutation($c: ID!) { setTaskRules(input: {city: $c, remindBeforeHours: 24,"
        " escalateAfterHours: 72}) { isDefault } }",
        {"c": CITY},
        "Only the city's own officials set its rules.",
    ),
    (
        TOWN_OFFICIAL,
        'mutation { submitSuggestion(input: {title: "t", body: "b"}) { id } }',
        {},
        "Only villagers may submit suggestions to their village.",
    ),
    (
        TOWN_OFFICIAL,
        'mutation { applyListing(input: {kind: SPECIALTY_PRODUCT, name: "n",'
        ' description: "d", contact: "c"}) { id } }',
        {},
        "Only registered residents may apply for a listing.",
    ),
]


@pytest.mark.parametrize(("phone", "document", "variables", "refusal"), ARGUMENT_REFUSALS)
async def test_callers_without_the_scope_are_refused_with_the_fields_message(
    execute, account_id, phone, document, variables, refusal
):
    result, _ = await execute(document, await account_id(phone), variables)
    assert only_error(result)[:2] == (refusal, "FORBIDDEN")


async def test_assigning_outside_ones_subtree_names_the_assignee(execute, account_id):
    result, _ = await execute(
        "mutation($i: AssignTaskInput!) { assignTask(input: $i) { id } }",
        await account_id(VILLAGE_CADRE),
        {"i": {"assignees": [VILLAGE], "title": "t", "body": "b", "dueAt": _soon(3)}},
    )
    message, code, extensions = only_error(result)
    assert code == "FORBIDDEN" and extensions["argument"] == "assignees"
    assert message == (
        f"Unit {VILLAGE} is outside your subtree; assign tasks only to units below the ones "
        "you serve."
    )


async def test_identity_lookups_are_refused_alike_to_anonymous_callers(execute):
    result, session = await execute(
        'query($v: ID!) { residents(unit: $v, phone: "138") { totalCount } }',
        None,
        {"v": VILLAGE},
    )
    assert only_error(result)[1] == "FORBIDDEN" and session.statements == 0


# A row the analyst (who reads the whole city, writes nothing) can see but not change.
ROW_REFUSALS: list[tuple[str, str, str]] = [
    (
        "select id from vg.ledger_entries where village_code = $1 order by id limit 1",
        'mutation($id: ID!) { correctLedgerEntry(id: $id, input: {text: "t"}) { id } }',
        "Only the village's cadres and officials above it may correct it.",
    ),
    (
        "select id from vg.cadres where village_code = $1 order by id limit 1",
        'mutation($id: ID!) { endCadreTerm(id: $id, on: "2099-01-01") { id } }',
        "Only cadres of this village and officials above may end terms.",
    ),
    (
        "select id from vg.shelters where unit_code = $1 order by id limit 1",
        "mutation($id: ID!) { updateShelter(id: $id, input: {capacity: 5}) { id } }",
        "Only cadres and officials of the shelter's unit or above may change it.",
    ),
    (
        "select id from vg.consultations where village_code = $1 order by id limit 1",
        "mutation($id: ID!) { closeConsultation(id: $id) { id } }",
        "Only the village's cadres and officials above it may do this.",
    ),
    (
        "select id from vg.suggestions where village_code = $1 order by id limit 1",
        "mutation($id: ID!) { setSuggestionStatus(id: $id, status: CLOSED) { id } }",
        "Only the village's cadres and officials above it may do this.",
    ),
    (
        "select id from vg.tasks where assignee_code = $1 order by id limit 1",
        "mutation($id: ID!) { acknowledgeTask(id: $id) { id } }",
        "Only staff of the assigned unit may acknowledge this task.",
    ),
    (
        "select id from vg.tasks where assignee_code = $1 order by id limit 1",
        "mutation($id: ID!) { reopenTask(id: $id) { id } }",
        "Only the issuing unit or its superiors may reopen this task.",
    ),
]


@pytest.mark.parametrize(("find", "document", "refusal"), ROW_REFUSALS)
async def test_a_reader_of_a_row_may_not_change_it(
    execute, account_id, owner_pool, find, document, refusal
):
    row = await owner_pool.fetchval(find, int(VILLAGE))
    assert row is not None, "the demo data has no such row"
    result, _ = await execute(document, await account_id(ANALYST), {"id": str(row)})
    assert only_error(result)[:2] == (refusal, "FORBIDDEN")


async def test_a_resident_may_read_its_own_record_but_not_edit_it(execute, account_id, owner_pool):
    resident = await owner_pool.fetchval(
        "select resident_id from vg.accounts where phone = $1", RESIDENT
    )
    result, _ = await execute(
        "mutation($id: ID!) { updateResident(id: $id, input: {tags: []}) { id } }",
        await account_id(RESIDENT),
        {"id": str(resident)},
    )
    assert only_error(result)[:2] == (
        "Only cadres of the household village and officials above may edit.",
        "FORBIDDEN",
    )


def test_schema_modules_refuse_callers_only_through_the_guard_layer():
    """Outside schema/guards.py a schema module raises FORBIDDEN or UNAUTHENTICATED only
    where the rule is not the caller's scope (see the reasons)."""
    allowed = {
        # login itself: a wrong password is not a guard.
        ("accounts.py", 'raise Unauthenticated("Wrong phone number or password.")'): 2,
        # refreshing: the refresh token is the credential being checked, not a scope.
        (
            "accounts.py",
            'raise Unauthenticated("This refresh token is no longer valid; log in again.")',
        ): 1,
        # four eyes (小微权力清单): the recorder of an entry may not approve it; a rule of the
        # entry, checked after the caller's scope.
        (
            "finance.py",
            'raise Forbidden("A second cadre must decide: not the one who recorded the entry.")',
        ): 1,
        # signing in with a one-time code: the code is the credential being checked.
        ("accounts.py", 'raise Unauthenticated("Wrong or expired code; ask for a new one.")'): 2,
        # a family proxy's consent is recorded by the resident or its village's cadre, as
        # vg.set_family_proxy decides (the resident's own record is data, not a scope).
        ("accounts.py", "raise Forbidden("): 1,
        # the roll of a consultation (and an elector's proxy authorisation) is data in the
        # database, not a scope of the caller: casting, voting as proxy, authorising.
        ("consultations.py", 'raise Forbidden("You are not on the roll of this consultation.")'): 3,
        # a subscription authenticates its connection without opening a database session.
        ("notices.py", 'raise Unauthenticated("Log in to follow your feed.")'): 1,
        # identity lookups: FORBIDDEN to anonymous callers too (a login would not help).
        ("residents.py", "raise Forbidden("): 1,
        # a relay's parts must lie below the task's own unit: a rule of the task.
        ("tasks.py", "raise Forbidden("): 1,
        # the rectification task is hidden by RLS from all but the two sides.
        ("inspections.py", "raise Forbidden(reviewers)"): 1,
    }
    found: dict[tuple[str, str], int] = {}
    for path in sorted((ROOT / "schema").glob("*.py")):
        if path.name == "guards.py":
            continue
        for line in Path(path).read_text().splitlines():
            stripped = line.strip()
            if stripped.startswith(("raise Forbidden(", "raise Unauthenticated(")):
                key = (path.name, stripped)
                found[key] = found.get(key, 0) + 1
    assert found == allowed
