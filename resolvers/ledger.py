"""The ledger (村情记录 / 电子台账): recording, correcting (append-only), keyword search over
a subtree, and the inspection records of remote inspection (远程验收).

Search splits the keyword text on whitespace; every term must occur. Terms of 3 or more
characters are matched with LIKE, which the trigram GIN index serves; a 1-2 character term
holds no trigram, so it is matched against the text's set of 1- and 2-character substrings
(`vg.short_grams`, its own GIN index), which is exactly "the term occurs". Under RLS those
non-leakproof conditions cannot use an index, so each term's matching keys come from
vg.ledger_term_matches (the indexes, within the caller's read scope) and the rows are then
read under RLS as always.
Relevance is the number of occurrences of the terms, then newer entries first.
A list shows current versions: an entry some later entry corrects is superseded and left
out unless asked for (`LedgerFilter.include_superseded`).
Resolvers never decide visibility; RLS does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from villagegraph.models import from_record, from_records
from villagegraph.models.ledger import LedgerEntry, LedgerEntryBase
from villagegraph.resolvers.loaders import Loader, by_key
from villagegraph.resolvers.measure import Measure
from villagegraph.tenants.session import ScopedSession

LEDGER_COLUMNS = (
    "e.id, e.village_code, e.category, e.occurred_on, e.text, e.attachments, e.corrects_id, "
    "e.recorded_by, e.recorded_at"
)


class LedgerEntryWithRelevance(LedgerEntryBase):
    """An entry as the search reads it: its columns and its relevance to the search terms
    (occurrences of the terms; 0 without terms)."""

    relevance: int


class _Params:
    """Numbered statement parameters, added as the SQL is composed."""

    def __init__(self, *values: Any) -> None:
        self.values = list(values)

    def add(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


@dataclass(frozen=True)
class LedgerFilter:
    """What a ledger list narrows to, beside the subtree and the keywords."""

    category: str | None = None
    since: date | None = None
    until: date | None = None
    include_superseded: bool = False

    def condition(self, params: _Params) -> str:
        conditions = []
        if self.category is not None:
            conditions.append(f"e.category = {params.add(self.category)}")
        if self.since is not None:
            conditions.append(f"e.occurred_on >= {params.add(self.since)}")
        if self.until is not None:
            conditions.append(f"e.occurred_on <= {params.add(self.until)}")
        if not self.include_superseded:
            conditions.append(
                """not exists (select 1 from vg.ledger_entries c
                                where c.village_code = e.village_code and c.corrects_id = e.id)"""
            )
        return " and ".join(conditions) or "true"


def _search(terms: list[str], params: _Params, *, ranked: bool = True) -> tuple[str, str]:
    """(match condition, relevance expression) for the search terms."""
    conditions = [
        f"""(e.village_code, e.id) in (select m.village_code, m.id
                                         from vg.ledger_term_matches($1, $2, {params.add(term)}) m)"""
        for term in terms
    ]
    if not terms or not ranked:
        return " and ".join(conditions) or "true", "0"
    relevance = f"""(select coalesce(sum((length(e.search_text)
                        - length(replace(e.search_text, term, ''))) / length(term)), 0)::int
                   from unnest({params.add(terms)}::text[]) term)"""
    return " and ".join(conditions), relevance


async def subtree_page(
    db: ScopedSession,
    lo: int,
    hi: int,
    terms: list[str],
    after_key: tuple[int, date, int] | None,
    limit: int,
    narrow: LedgerFilter = LedgerFilter(),
) -> list[LedgerEntryWithRelevance]:
    """Entries of a subtree, most relevant first (when searching), then newest."""
    params = _Params(lo, hi)
    match, relevance = _search(terms, params)
    match = f"{match} and {narrow.condition(params)}"
    after = ""
    if after_key:
        relevance_after, occurred_after, id_after = after_key
        after = (
            f"where (e.relevance, e.occurred_on, e.id) < ({params.add(relevance_after)}, "
            f"{params.add(occurred_after)}, {params.add(id_after)})"
        )
    rows = await db.fetch(
        f"""select * from (
                select {LEDGER_COLUMNS}, {relevance} as relevance
                  from vg.ledger_entries e
                 where e.village_code between $1 and $2 and {match}
            ) e
            {after}
             order by e.relevance desc, e.occurred_on desc, e.id desc
             limit {params.add(limit)}""",
        *params.values,
    )
    return from_records(LedgerEntryWithRelevance, rows)


async def subtree_count(
    db: ScopedSession, lo: int, hi: int, terms: list[str], narrow: LedgerFilter = LedgerFilter()
) -> int:
    params = _Params(lo, hi)
    match, _ = _search(terms, params, ranked=False)
    match = f"{match} and {narrow.condition(params)}"
    return int(
        await db.fetchval(
            f"""select count(*) from vg.ledger_entries e
                 where e.village_code between $1 and $2 and {match}""",
            *params.values,
        )
    )


async def record(
    db: ScopedSession,
    *,
    village: int,
    category: str,
    occurred_on: date,
    text: str,
    attachments: list[str],
    corrects: int | None,
    account_id: int,
) -> LedgerEntry:
    record = await db.fetchrow(
        f"""insert into vg.ledger_entries as e
                (village_code, category, occurred_on, text, attachments, corrects_id, recorded_by)
            values ($1, $2, $3, $4, $5, $6, $7)
            returning {LEDGER_COLUMNS}""",
        village,
        category,
        occurred_on,
        text,
        attachments,
        corrects,
        account_id,
    )
    assert record is not None
    row = from_record(LedgerEntry, record)
    await db.audit(
        "ledger.correct" if corrects else "ledger.record",
        village,
        "ledger_entry",
        row.id,
        {"category": category, "occurred_on": occurred_on, "corrects": corrects},
    )
    return row


async def correction_of(db: ScopedSession, village: int, entry_id: int) -> int | None:
    """The id of an entry correcting this one, if any: only the current version is corrected."""
    found = await db.fetchval(
        """select max(id) from vg.ledger_entries where village_code = $1 and corrects_id = $2""",
        village,
        entry_id,
    )
    return None if found is None else int(found)


class LedgerEntryByIdLoader(Loader[int, LedgerEntry | None]):
    async def batch_load(self, keys: list[int]) -> list[LedgerEntry | None]:
        rows = await self.db.fetch(
            f"select {LEDGER_COLUMNS} from vg.ledger_entries e where e.id = any($1::bigint[])",
            keys,
        )
        return by_key(from_records(LedgerEntry, rows), keys, "id")


class CorrectionByLedgerEntryIdLoader(Loader[int, LedgerEntry | None]):
    """The latest entry correcting each entry, or None when it stands uncorrected."""

    async def batch_load(self, keys: list[int]) -> list[LedgerEntry | None]:
        rows = await self.db.fetch(
            f"""select distinct on (e.corrects_id) {LEDGER_COLUMNS} from vg.ledger_entries e
                 where e.corrects_id = any($1::bigint[])
                 order by e.corrects_id, e.recorded_at desc, e.id desc""",
            keys,
        )
        return by_key(from_records(LedgerEntry, rows), keys, "corrects_id")


# --- analytics measures (resolvers/analytics.py) ---------------------------------------

LEDGER_ENTRIES = Measure(
    name="LEDGER_ENTRIES",
    description="Ledger entries (村情记录) by village and the day they record; category:"
    " the entry's category.",
    source="vg.ledger_entries l",
    tenant="l.village_code",
    time="(l.occurred_on::timestamp at time zone 'Asia/Shanghai')",
    category="l.category",
)
