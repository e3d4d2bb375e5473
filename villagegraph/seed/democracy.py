"""The democracy part of the demo (issue 15), in the demo village 330302006001:

- a 村务监督委员会 member with a demo account (13800000030) who signed off the village's
  disclosures and its latest finance period;
- a villager-initiated proposal (the demo resident 13800000010 proposed, a tenth of the
  villagers supported) that the committee scheduled as an open vote, with a paper ballot
  witnessed by the supervisor and a proxy ballot among relatives;
- the passed road resolution carried out: a responsible cadre, milestones (one done, two
  due), the largest recent expense linked.

Runs as the owner after the other demo seeders; it inserts what the API would, and must not
seed anything the database would refuse (the triggers check every rule).
"""

from __future__ import annotations

import random
from datetime import timedelta

import asyncpg

from villagegraph.models import into
from villagegraph.models.accounts import Account
from villagegraph.models.consultations import (
    Ballot,
    BallotProxy,
    Consultation,
    ConsultationProposal,
    ExecutionLink,
    ExecutionMilestone,
    ProposalSupporter,
    ResolutionExecution,
    SupervisorySignOff,
)
from villagegraph.models.residents import Cadre
from villagegraph.seed.affairs import _enrol_electors
from villagegraph.seed.demo import DEMO_NOW, DEMO_PASSWORD
from villagegraph.tenants.auth import hash_password

VILLAGE = 330302006001
SUPERVISOR_PHONE = "13800000030"
PROPOSER_PHONE = "13800000010"
PROPOSAL = (
    "村口停车场建设方案",
    "由村民联名提议：利用村口闲置地建设停车场，请村民会议表决。",
    ["同意", "不同意"],
)


async def seed_democracy(conn: asyncpg.Connection, rng: random.Random) -> None:
    cadre = await conn.fetchval("select id from vg.accounts where phone = '13800000003'")
    witness = await _seed_supervisor(conn)
    await _seed_signoffs(conn)
    consultation = await _seed_proposal(conn, cadre)
    await _seed_paper_and_proxy(conn, consultation, cadre, witness)
    await _seed_execution(conn, cadre)


async def _seed_supervisor(conn: asyncpg.Connection) -> int:
    """The first adult villager outside the committee's households chairs the 监委会."""
    candidates = await conn.fetch(
        """select r.id, r.name from vg.residents r
            where r.village_code = $1 and r.birth_date <= date '1990-01-01'
              and not exists (select 1 from vg.accounts a
                               where a.resident_village = r.village_code and a.resident_id = r.id)
            order by r.id""",
        VILLAGE,
    )
    for person in candidates:
        try:
            async with conn.transaction():
                witness = await conn.fetchval(
                    f"""insert into {into(Cadre.village_code, Cadre.name, Cadre.body, Cadre.position, Cadre.resident_village, Cadre.resident_id, Cadre.term_start)}
                       values ($1, $2, 'SUPERVISORY_COMMITTEE', '主任', $1, $3, date '2024-01-01')
                       returning id""",
                    VILLAGE,
                    person["name"],
                    person["id"],
                )
        except asyncpg.CheckViolationError:
            continue
        await conn.execute(
            f"""insert into {into(Account.phone, Account.password_hash, Account.display_name, Account.resident_village, Account.resident_id)}
               values ($1, $2, $3, $4, $5)""",
            SUPERVISOR_PHONE,
            hash_password(DEMO_PASSWORD),
            f"{person['name']}（村务监督委员会主任）",
            VILLAGE,
            person["id"],
        )
        return int(witness)
    raise RuntimeError("no villager may chair the supervisory committee")


async def _seed_signoffs(conn: asyncpg.Connection) -> None:
    """The supervisor signed off every disclosure the village published and the last
    finance period (so the disclosures still count in the compliance scan)."""
    supervisor = await conn.fetchval(
        "select id from vg.accounts where phone = $1", SUPERVISOR_PHONE
    )
    await conn.execute(
        f"""insert into {into(SupervisorySignOff.village_code, SupervisorySignOff.subject, SupervisorySignOff.notice_id, SupervisorySignOff.note, SupervisorySignOff.signed_by, SupervisorySignOff.signed_at)}
           select n.publisher_code, 'DISCLOSURE', n.id, '已核对', $2, n.published_at + interval '1 day'
             from vg.notices n
            where n.publisher_code = $1
              and n.board in (select board from vg.disclosure_rules)""",
        VILLAGE,
        supervisor,
    )
    await conn.execute(
        f"""insert into {into(SupervisorySignOff.village_code, SupervisorySignOff.subject, SupervisorySignOff.period, SupervisorySignOff.note, SupervisorySignOff.signed_by, SupervisorySignOff.signed_at)}
           values ($1, 'FINANCE_PERIOD', to_char($3::timestamptz - interval '1 month', 'YYYY-MM'),
                   '账实相符，票据齐全', $2, $3)""",
        VILLAGE,
        supervisor,
        DEMO_NOW,
    )


async def _seed_proposal(conn: asyncpg.Connection, cadre: int) -> int:
    """The demo resident's proposal, supported by a tenth of the villagers, scheduled."""
    proposer = await conn.fetchrow(
        "select id, resident_id from vg.accounts where phone = $1", PROPOSER_PHONE
    )
    title, description, options = PROPOSAL
    proposal = await conn.fetchval(
        f"""insert into {into(ConsultationProposal.village_code, ConsultationProposal.title, ConsultationProposal.description, ConsultationProposal.options, ConsultationProposal.rule, ConsultationProposal.proposer_village, ConsultationProposal.proposer_id, ConsultationProposal.proposed_by, ConsultationProposal.proposed_at)}
           values ($1, $2, $3, $4, 'VILLAGERS_ASSEMBLY', $1, $5, $6, $7)
           returning id""",
        VILLAGE,
        title,
        description,
        options,
        proposer["resident_id"],
        proposer["id"],
        DEMO_NOW - timedelta(days=20),
    )
    needed = await conn.fetchval(
        "select supporters_needed - supporters from vg.consultation_proposals where id = $1",
        proposal,
    )
    # Signatures collected on paper at the village office (no recording account).
    await conn.execute(
        f"""insert into {into(ProposalSupporter.village_code, ProposalSupporter.proposal_id, ProposalSupporter.resident_village, ProposalSupporter.resident_id, ProposalSupporter.supported_by)}
           select $1, $2, r.village_code, r.id, null from vg.residents r
            where r.village_code = $1 and r.id <> $3
              and r.birth_date <= current_date - interval '18 years'
            order by r.id desc limit $4""",
        VILLAGE,
        proposal,
        proposer["resident_id"],
        needed,
    )
    consultation = await conn.fetchval(
        f"""insert into {into(Consultation.village_code, Consultation.title, Consultation.description, Consultation.options, Consultation.opens_at, Consultation.closes_at, Consultation.rule, Consultation.eligibility, Consultation.created_by, Consultation.created_at)}
           values ($1, $2, $3, $4, $5, $5::timestamptz + interval '240 days', 'VILLAGERS_ASSEMBLY',
                   'VILLAGERS', $6, $5)
           returning id""",
        VILLAGE,
        title,
        description,
        options,
        DEMO_NOW - timedelta(days=2),
        cadre,
    )
    await _enrol_electors(conn, VILLAGE, consultation, "VILLAGERS")
    await conn.execute(
        "update vg.consultation_proposals set consultation_id = $2 where id = $1",
        proposal,
        consultation,
    )
    return int(consultation)


async def _seed_paper_and_proxy(
    conn: asyncpg.Connection, consultation: int, cadre: int, witness: int
) -> None:
    """An elderly villager voted on paper at the polling station; another authorised a
    relative of the same household, who voted for them."""
    electors = await conn.fetch(
        """select e.resident_id, e.household from vg.consultation_electors e
            where e.village_code = $1 and e.consultation_id = $2
              and not exists (select 1 from vg.accounts a
                               where a.resident_village = e.resident_village
                                 and a.resident_id = e.resident_id)
            order by e.resident_id""",
        VILLAGE,
        consultation,
    )
    paper = electors[0]["resident_id"]
    await conn.execute(
        f"""insert into {into(Ballot.village_code, Ballot.consultation_id, Ballot.resident_village, Ballot.resident_id, Ballot.option_index, Ballot.channel, Ballot.recorded_by, Ballot.witness_cadre)}
           values ($1, $2, $1, $3, 0, 'PAPER', $4, $5)""",
        VILLAGE,
        consultation,
        paper,
        cadre,
        witness,
    )
    households: dict[str, list[int]] = {}
    for e in electors[1:]:
        households.setdefault(e["household"], []).append(e["resident_id"])
    principal, proxy = next(members for members in households.values() if len(members) >= 2)[:2]
    await conn.execute(
        f"""insert into {into(BallotProxy.village_code, BallotProxy.consultation_id, BallotProxy.principal_village, BallotProxy.principal_id, BallotProxy.proxy_village, BallotProxy.proxy_id, BallotProxy.authorized_by)}
           values ($1, $2, $1, $3, $1, $4, $5)""",
        VILLAGE,
        consultation,
        principal,
        proxy,
        cadre,
    )
    await conn.execute(
        f"""insert into {into(Ballot.village_code, Ballot.consultation_id, Ballot.resident_village, Ballot.resident_id, Ballot.option_index, Ballot.channel, Ballot.proxy_village, Ballot.proxy_id)}
           values ($1, $2, $1, $3, 0, 'PROXY', $1, $4)""",
        VILLAGE,
        consultation,
        principal,
        proxy,
    )


async def _seed_execution(conn: asyncpg.Connection, cadre: int) -> None:
    """The road resolution (村道硬化) carried out by the 主任: tendering done, works due."""
    road = await conn.fetchval(
        """select id from vg.consultations
            where village_code = $1 and title = '村道硬化工程是否实施' and passed""",
        VILLAGE,
    )
    if road is None:
        return
    chief = await conn.fetchval(
        """select id from vg.cadres where village_code = $1 and body = 'COMMITTEE'
              and position = '主任' and term_end is null""",
        VILLAGE,
    )
    await conn.execute(
        f"""insert into {into(ResolutionExecution.village_code, ResolutionExecution.consultation_id, ResolutionExecution.responsible_cadre, ResolutionExecution.started_by, ResolutionExecution.started_at)}
           values ($1, $2, $3, $4, $5)""",
        VILLAGE,
        road,
        chief,
        cadre,
        DEMO_NOW - timedelta(days=40),
    )
    start = DEMO_NOW.date()
    for title, due, done in (
        ("完成工程招标", start - timedelta(days=20), True),
        ("路面硬化施工", start + timedelta(days=45), False),
        ("竣工验收并公开决算", start + timedelta(days=75), False),
    ):
        await conn.execute(
            f"""insert into {into(ExecutionMilestone.village_code, ExecutionMilestone.consultation_id, ExecutionMilestone.title, ExecutionMilestone.due_on, ExecutionMilestone.completed_at, ExecutionMilestone.completed_by, ExecutionMilestone.completion_note, ExecutionMilestone.created_by)}
               values ($1, $2, $3, $4, $5, $6, $7, $6)""",
            VILLAGE,
            road,
            title,
            due,
            DEMO_NOW - timedelta(days=22) if done else None,
            cadre,
            "已确定施工单位，合同已签订" if done else None,
        )
    expense = await conn.fetchval(
        """select id from vg.finance_entries
            where village_code = $1 and direction = 'EXPENSE' and amount > 0
            order by period desc, amount desc, id limit 1""",
        VILLAGE,
    )
    await conn.execute(
        f"""insert into {into(ExecutionLink.village_code, ExecutionLink.consultation_id, ExecutionLink.kind, ExecutionLink.target_id, ExecutionLink.linked_by)}
           values ($1, $2, 'FINANCE_ENTRY', $3, $4)""",
        VILLAGE,
        road,
        expense,
        cadre,
    )
