"""Consultations (码上协商): the consultation, its electors, comments and ballots; and the
democracy around it (issue 15): decision rules, proxies, proposals and supporters, the
supervisory committee's sign-offs and objections, execution records and reviews.

Table models only (see villagegraph/models/__init__.py): no queries, no visibility rules.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ARRAY, BigInteger, Boolean, Date, Integer, Text
from sqlmodel import Field, SQLModel

from villagegraph.models.types import TIMESTAMPTZ


class ConsultationBase(SQLModel):
    """The columns of vg.consultations, for the table model and for rows that add computed
    columns (resolvers.consultations.ConsultationWithStatus)."""

    village_code: int = Field(sa_type=BigInteger, primary_key=True)
    id: int = Field(sa_type=BigInteger, primary_key=True)
    title: str = Field(sa_type=Text)
    description: str = Field(sa_type=Text)
    options: list[str] = Field(sa_type=ARRAY(Text))
    opens_at: datetime = Field(sa_type=TIMESTAMPTZ)
    closes_at: datetime = Field(sa_type=TIMESTAMPTZ)
    rule: str = Field(sa_type=Text)
    eligibility: str = Field(sa_type=Text)
    created_by: int | None = Field(default=None, sa_type=BigInteger)
    created_at: datetime = Field(sa_type=TIMESTAMPTZ)
    closed_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)
    closed_by: int | None = Field(default=None, sa_type=BigInteger)
    eligible_count: int | None = Field(default=None, sa_type=Integer)
    eligible_households: int | None = Field(default=None, sa_type=Integer)
    ballots_cast: int | None = Field(default=None, sa_type=Integer)
    households_voted: int | None = Field(default=None, sa_type=Integer)
    votes: list[int] | None = Field(default=None, sa_type=ARRAY(Integer))
    quorum_met: bool | None = Field(default=None, sa_type=Boolean)
    winning_option: int | None = Field(default=None, sa_type=Integer)
    passed: bool | None = Field(default=None, sa_type=Boolean)
    resolution_notice_id: int | None = Field(default=None, sa_type=BigInteger)
    counts_published: bool | None = Field(default=None, sa_type=Boolean)


class Consultation(ConsultationBase, table=True):
    """vg.consultations."""

    __tablename__ = "consultations"
    __table_args__ = {"schema": "vg"}


class ConsultationElector(SQLModel, table=True):
    """vg.consultation_electors."""

    __tablename__ = "consultation_electors"
    __table_args__ = {"schema": "vg"}

    village_code: int = Field(sa_type=BigInteger, primary_key=True)
    consultation_id: int = Field(sa_type=BigInteger, primary_key=True)
    resident_village: int = Field(sa_type=BigInteger, primary_key=True)
    resident_id: int = Field(sa_type=BigInteger, primary_key=True)
    household: str = Field(sa_type=Text)


class ConsultationComment(SQLModel, table=True):
    """vg.consultation_comments."""

    __tablename__ = "consultation_comments"
    __table_args__ = {"schema": "vg"}

    village_code: int = Field(sa_type=BigInteger, primary_key=True)
    consultation_id: int = Field(sa_type=BigInteger)
    id: int = Field(sa_type=BigInteger, primary_key=True)
    author_account: int = Field(sa_type=BigInteger)
    author_name: str = Field(sa_type=Text)
    body: str = Field(sa_type=Text)
    created_at: datetime = Field(sa_type=TIMESTAMPTZ)


class Ballot(SQLModel, table=True):
    """vg.ballots."""

    __tablename__ = "ballots"
    __table_args__ = {"schema": "vg"}

    village_code: int = Field(sa_type=BigInteger, primary_key=True)
    consultation_id: int = Field(sa_type=BigInteger, primary_key=True)
    resident_village: int = Field(sa_type=BigInteger, primary_key=True)
    resident_id: int = Field(sa_type=BigInteger, primary_key=True)
    option_index: int = Field(sa_type=Integer)
    cast_at: datetime = Field(sa_type=TIMESTAMPTZ)
    channel: str = Field(sa_type=Text)  # APP | PAPER | PROXY
    recorded_by: int | None = Field(default=None, sa_type=BigInteger)
    witness_cadre: int | None = Field(default=None, sa_type=BigInteger)
    proxy_village: int | None = Field(default=None, sa_type=BigInteger)
    proxy_id: int | None = Field(default=None, sa_type=BigInteger)


class DecisionRule(SQLModel, table=True):
    """vg.decision_rules."""

    __tablename__ = "decision_rules"
    __table_args__ = {"schema": "vg"}

    city_code: int = Field(sa_type=BigInteger, primary_key=True)
    rule: str = Field(sa_type=Text, primary_key=True)
    quorum_num: int = Field(sa_type=Integer)
    quorum_den: int = Field(sa_type=Integer)
    quorum_strict: bool = Field(sa_type=Boolean)
    household_num: int | None = Field(default=None, sa_type=Integer)
    household_den: int | None = Field(default=None, sa_type=Integer)
    majority_num: int = Field(sa_type=Integer)
    majority_den: int = Field(sa_type=Integer)
    min_published_ballots: int = Field(sa_type=Integer)
    convene_within_days: int = Field(sa_type=Integer)
    wording_passed: str = Field(sa_type=Text)
    wording_no_majority: str = Field(sa_type=Text)
    wording_invalid: str = Field(sa_type=Text)
    wording_turnout_only: str = Field(sa_type=Text)
    set_by: int | None = Field(default=None, sa_type=BigInteger)
    set_at: datetime = Field(sa_type=TIMESTAMPTZ)


class BallotProxy(SQLModel, table=True):
    """vg.ballot_proxies."""

    __tablename__ = "ballot_proxies"
    __table_args__ = {"schema": "vg"}

    village_code: int = Field(sa_type=BigInteger, primary_key=True)
    consultation_id: int = Field(sa_type=BigInteger, primary_key=True)
    principal_village: int = Field(sa_type=BigInteger, primary_key=True)
    principal_id: int = Field(sa_type=BigInteger, primary_key=True)
    proxy_village: int = Field(sa_type=BigInteger)
    proxy_id: int = Field(sa_type=BigInteger)
    authorized_by: int = Field(sa_type=BigInteger)
    authorized_at: datetime = Field(sa_type=TIMESTAMPTZ)


class ConsultationProposal(SQLModel, table=True):
    """vg.consultation_proposals."""

    __tablename__ = "consultation_proposals"
    __table_args__ = {"schema": "vg"}

    village_code: int = Field(sa_type=BigInteger, primary_key=True)
    id: int = Field(sa_type=BigInteger, primary_key=True)
    title: str = Field(sa_type=Text)
    description: str = Field(sa_type=Text)
    options: list[str] = Field(sa_type=ARRAY(Text))
    rule: str = Field(sa_type=Text)
    proposer_village: int = Field(sa_type=BigInteger)
    proposer_id: int = Field(sa_type=BigInteger)
    proposed_by: int = Field(sa_type=BigInteger)
    proposed_at: datetime = Field(sa_type=TIMESTAMPTZ)
    supporters_needed: int = Field(sa_type=Integer)
    supporters: int = Field(sa_type=Integer)
    threshold_reached_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)
    convene_by: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)
    convening_task_id: int | None = Field(default=None, sa_type=BigInteger)
    consultation_id: int | None = Field(default=None, sa_type=BigInteger)


class ProposalSupporter(SQLModel, table=True):
    """vg.proposal_supporters."""

    __tablename__ = "proposal_supporters"
    __table_args__ = {"schema": "vg"}

    village_code: int = Field(sa_type=BigInteger, primary_key=True)
    proposal_id: int = Field(sa_type=BigInteger, primary_key=True)
    resident_village: int = Field(sa_type=BigInteger, primary_key=True)
    resident_id: int = Field(sa_type=BigInteger, primary_key=True)
    name: str = Field(sa_type=Text)
    supported_by: int | None = Field(default=None, sa_type=BigInteger)
    supported_at: datetime = Field(sa_type=TIMESTAMPTZ)


class SupervisorySignOff(SQLModel, table=True):
    """vg.supervisory_signoffs."""

    __tablename__ = "supervisory_signoffs"
    __table_args__ = {"schema": "vg"}

    village_code: int = Field(sa_type=BigInteger, primary_key=True)
    id: int = Field(sa_type=BigInteger, primary_key=True)
    subject: str = Field(sa_type=Text)
    period: str | None = Field(default=None, sa_type=Text)
    notice_id: int | None = Field(default=None, sa_type=BigInteger)
    note: str | None = Field(default=None, sa_type=Text)
    signed_by: int = Field(sa_type=BigInteger)
    signed_at: datetime = Field(sa_type=TIMESTAMPTZ)


class SupervisoryObjection(SQLModel, table=True):
    """vg.supervisory_objections."""

    __tablename__ = "supervisory_objections"
    __table_args__ = {"schema": "vg"}

    village_code: int = Field(sa_type=BigInteger, primary_key=True)
    id: int = Field(sa_type=BigInteger, primary_key=True)
    subject: str = Field(sa_type=Text)
    body: str = Field(sa_type=Text)
    raised_by: int = Field(sa_type=BigInteger)
    raised_at: datetime = Field(sa_type=TIMESTAMPTZ)
    task_assignee: int | None = Field(default=None, sa_type=BigInteger)
    task_id: int | None = Field(default=None, sa_type=BigInteger)


class ResolutionExecution(SQLModel, table=True):
    """vg.resolution_executions."""

    __tablename__ = "resolution_executions"
    __table_args__ = {"schema": "vg"}

    village_code: int = Field(sa_type=BigInteger, primary_key=True)
    consultation_id: int = Field(sa_type=BigInteger, primary_key=True)
    responsible_cadre: int = Field(sa_type=BigInteger)
    started_by: int = Field(sa_type=BigInteger)
    started_at: datetime = Field(sa_type=TIMESTAMPTZ)


class ExecutionMilestoneBase(SQLModel):
    """The columns of vg.execution_milestones, for the table model and for rows that add
    computed columns (resolvers.democracy.MilestoneWithOverdue)."""

    village_code: int = Field(sa_type=BigInteger, primary_key=True)
    id: int = Field(sa_type=BigInteger, primary_key=True)
    consultation_id: int = Field(sa_type=BigInteger)
    title: str = Field(sa_type=Text)
    due_on: date = Field(sa_type=Date)
    completed_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)
    completed_by: int | None = Field(default=None, sa_type=BigInteger)
    completion_note: str | None = Field(default=None, sa_type=Text)
    overdue_task_assignee: int | None = Field(default=None, sa_type=BigInteger)
    overdue_task_id: int | None = Field(default=None, sa_type=BigInteger)
    created_by: int = Field(sa_type=BigInteger)
    created_at: datetime = Field(sa_type=TIMESTAMPTZ)


class ExecutionMilestone(ExecutionMilestoneBase, table=True):
    """vg.execution_milestones."""

    __tablename__ = "execution_milestones"
    __table_args__ = {"schema": "vg"}


class ExecutionLink(SQLModel, table=True):
    """vg.execution_links."""

    __tablename__ = "execution_links"
    __table_args__ = {"schema": "vg"}

    village_code: int = Field(sa_type=BigInteger, primary_key=True)
    consultation_id: int = Field(sa_type=BigInteger, primary_key=True)
    kind: str = Field(sa_type=Text, primary_key=True)
    target_id: int = Field(sa_type=BigInteger, primary_key=True)
    linked_by: int = Field(sa_type=BigInteger)
    linked_at: datetime = Field(sa_type=TIMESTAMPTZ)


class ExecutionReview(SQLModel, table=True):
    """vg.execution_reviews."""

    __tablename__ = "execution_reviews"
    __table_args__ = {"schema": "vg"}

    village_code: int = Field(sa_type=BigInteger, primary_key=True)
    year: int = Field(sa_type=Integer, primary_key=True)
    opened_by: int = Field(sa_type=BigInteger)
    opened_at: datetime = Field(sa_type=TIMESTAMPTZ)
    closes_at: datetime = Field(sa_type=TIMESTAMPTZ)


class ExecutionRating(SQLModel, table=True):
    """vg.execution_ratings."""

    __tablename__ = "execution_ratings"
    __table_args__ = {"schema": "vg"}

    village_code: int = Field(sa_type=BigInteger, primary_key=True)
    year: int = Field(sa_type=Integer, primary_key=True)
    resident_village: int = Field(sa_type=BigInteger, primary_key=True)
    resident_id: int = Field(sa_type=BigInteger, primary_key=True)
    rating: str = Field(sa_type=Text)
