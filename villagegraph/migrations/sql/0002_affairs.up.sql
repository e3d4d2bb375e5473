-- 0002_affairs upgrade: sent as is, in one transaction, by versions/0002_affairs.py.
-- Conventions: docs/CONVENTIONS.md.

set local search_path = vg, public;

-- Append-only: the request role has no UPDATE or DELETE; a correction is a reversing entry
-- (the negated amount, same period and category) that points at the entry it corrects.
create sequence vg.finance_entries_id_seq;
create table vg.finance_entries (
    village_code bigint not null references vg.org_units (code),
    id bigint not null default nextval('vg.finance_entries_id_seq'),
    period text not null check (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    direction text not null check (direction in ('INCOME', 'EXPENSE')),
    category text not null check (length(category) between 1 and 50),
    amount numeric(14, 2) not null,
    memo text,
    voucher_no text,
    reverses_id bigint,
    recorded_by bigint references vg.accounts (id),
    recorded_at timestamptz not null default now(),
    primary key (village_code, id),
    foreign key (village_code, reverses_id) references vg.finance_entries (village_code, id),
    check ((reverses_id is null and amount > 0) or (reverses_id is not null and amount < 0))
);
alter sequence vg.finance_entries_id_seq owned by vg.finance_entries.id;
create unique index finance_entries_id on vg.finance_entries (id);
-- An entry is reversed at most once.
create unique index finance_entries_reversal on vg.finance_entries (village_code, reverses_id)
    where reverses_id is not null;
create index finance_entries_period on vg.finance_entries (village_code, period, id);

-- Yearly budgets by category, also append-only: the latest revision of a line is in force.
create table vg.finance_budgets (
    village_code bigint not null references vg.org_units (code),
    id bigserial,
    year integer not null check (year between 2000 and 2100),
    direction text not null check (direction in ('INCOME', 'EXPENSE')),
    category text not null check (length(category) between 1 and 50),
    amount numeric(14, 2) not null check (amount >= 0),
    set_by bigint references vg.accounts (id),
    set_at timestamptz not null default now(),
    primary key (village_code, id)
);
create index finance_budgets_line on vg.finance_budgets (village_code, year, direction, category, id desc);

create sequence vg.consultations_id_seq;
create table vg.consultations (
    village_code bigint not null references vg.org_units (code),
    id bigint not null default nextval('vg.consultations_id_seq'),
    title text not null,
    description text not null,
    options text[] not null check (cardinality(options) between 2 and 20),
    opens_at timestamptz not null,
    closes_at timestamptz not null,
    rule text not null check (rule in ('VILLAGERS_ASSEMBLY', 'REPRESENTATIVES_MEETING', 'SIMPLE_MAJORITY')),
    eligibility text not null check (eligibility in ('VILLAGERS', 'VILLAGERS_AND_RESIDENTS', 'REPRESENTATIVES')),
    created_by bigint references vg.accounts (id),
    created_at timestamptz not null default now(),
    -- The result, fixed when the consultation closes.
    closed_at timestamptz,
    closed_by bigint references vg.accounts (id),
    eligible_count integer,
    eligible_households integer,
    ballots_cast integer,
    households_voted integer,
    votes integer[],
    quorum_met boolean,
    winning_option integer,
    passed boolean,
    resolution_notice_id bigint,
    primary key (village_code, id),
    check (closes_at > opens_at),
    foreign key (village_code, resolution_notice_id) references vg.notices (publisher_code, id)
);
alter sequence vg.consultations_id_seq owned by vg.consultations.id;
create unique index consultations_id on vg.consultations (id);
create index consultations_village on vg.consultations (village_code, opens_at desc, id desc);
create index consultations_due on vg.consultations (closes_at) where closed_at is null;

-- The electoral roll (选民名单), fixed when the consultation is created.
create table vg.consultation_electors (
    village_code bigint not null,
    consultation_id bigint not null,
    resident_village bigint not null,
    resident_id bigint not null,
    household text not null,
    primary key (village_code, consultation_id, resident_village, resident_id),
    -- No foreign key to residents: the roll is a snapshot, and an admitted resident's row
    -- lives in its household village (another shard once tenants are distributed).
    foreign key (village_code, consultation_id) references vg.consultations (village_code, id)
);

-- Secret ballots. The primary key is the one-ballot-per-elector rule, and the foreign key to
-- the roll is the eligibility rule, both enforced by the database under any concurrency.
create table vg.ballots (
    village_code bigint not null,
    consultation_id bigint not null,
    resident_village bigint not null,
    resident_id bigint not null,
    option_index integer not null check (option_index >= 0),
    cast_at timestamptz not null default now(),
    primary key (village_code, consultation_id, resident_village, resident_id),
    foreign key (village_code, consultation_id, resident_village, resident_id)
        references vg.consultation_electors (village_code, consultation_id, resident_village, resident_id)
);

create sequence vg.consultation_comments_id_seq;
create table vg.consultation_comments (
    village_code bigint not null,
    consultation_id bigint not null,
    id bigint not null default nextval('vg.consultation_comments_id_seq'),
    author_account bigint not null references vg.accounts (id),
    author_name text not null,
    body text not null,
    created_at timestamptz not null default now(),
    primary key (village_code, id),
    foreign key (village_code, consultation_id) references vg.consultations (village_code, id)
);
alter sequence vg.consultation_comments_id_seq owned by vg.consultation_comments.id;
create index consultation_comments_thread on vg.consultation_comments (consultation_id, created_at, id);

-- A ballot is accepted only while its consultation is open. The row lock (FOR SHARE) waits
-- for a closing transaction (FOR UPDATE) and then sees its result, so no ballot slips in
-- after the tally was fixed.
create function vg.ballot_window_check() returns trigger
language plpgsql security definer set search_path = vg, pg_catalog as $$
declare
    c record;
begin
    select closed_at, opens_at, closes_at, cardinality(options) as option_count into c
      from vg.consultations
     where village_code = new.village_code and id = new.consultation_id
       for share;
    if not found or c.closed_at is not null or now() < c.opens_at or now() >= c.closes_at then
        raise exception 'consultation % is not open for voting', new.consultation_id
            using errcode = '55000';
    end if;
    if new.option_index >= c.option_count then
        raise exception 'consultation % has no option %', new.consultation_id, new.option_index
            using errcode = '22023';
    end if;
    return new;
end
$$;
create trigger ballots_window before insert on vg.ballots
    for each row execute function vg.ballot_window_check();

-- Counts without voters. Only the owner (the closing trigger) counts per option. The request
-- role gets turnout through vg.consultation_tallies, never per-option counts while a vote
-- is open: running results beside the audit trail (who voted when) would let an official
-- work out who voted for what. Per-option counts appear when the consultation closes.
create function vg.count_ballots(p_ids bigint[])
returns table (consultation_id bigint, votes bigint[], ballots bigint, households bigint,
               electors bigint, elector_households bigint)
language sql stable set search_path = vg, pg_catalog as $$
    select c.id,
           array(select count(b.option_index)
                   from generate_series(0, cardinality(c.options) - 1) as o (i)
                   left join vg.ballots b
                     on b.village_code = c.village_code and b.consultation_id = c.id
                    and b.option_index = o.i
                  group by o.i order by o.i),
           (select count(*) from vg.ballots b
             where b.village_code = c.village_code and b.consultation_id = c.id),
           (select count(distinct e.household) from vg.ballots b
              join vg.consultation_electors e
             using (village_code, consultation_id, resident_village, resident_id)
             where b.village_code = c.village_code and b.consultation_id = c.id),
           (select count(*) from vg.consultation_electors e
             where e.village_code = c.village_code and e.consultation_id = c.id),
           (select count(distinct e.household) from vg.consultation_electors e
             where e.village_code = c.village_code and e.consultation_id = c.id)
      from vg.consultations c
     where c.id = any (p_ids)
$$;
revoke execute on function vg.count_ballots(bigint[]) from public;

create function vg.consultation_tallies(p_ids bigint[])
returns table (consultation_id bigint, ballots bigint, households bigint,
               electors bigint, elector_households bigint)
language sql stable security definer set search_path = vg, pg_catalog as $$
    select t.consultation_id, t.ballots, t.households, t.electors, t.elector_households
      from vg.count_ballots(array(
        select c.id from vg.consultations c
         where c.id = any (p_ids)
           and (c.village_code <@ vg.read_scope() or c.village_code = any (vg.member_villages()))
      )) t
$$;
revoke execute on function vg.consultation_tallies(bigint[]) from public;
grant execute on function vg.consultation_tallies(bigint[]) to vg_request;

-- The statutory decision (村民委员会组织法), in integer arithmetic: a villagers' assembly is
-- valid with more than half of the electors, or households holding at least two thirds of
-- the households; a representatives' meeting with at least two thirds of the
-- representatives; a simple-majority poll needs no quorum. An option wins with more than
-- half of the ballots cast.
create function vg.consultation_decision(
    p_rule text, p_votes bigint[], p_ballots bigint, p_households bigint,
    p_electors bigint, p_elector_households bigint,
    out quorum_met boolean, out winning_option integer, out passed boolean
)
language sql immutable parallel safe as $$
    select q.met, w.option, w.option is not null
      from (select p_ballots > 0 and case p_rule
                when 'VILLAGERS_ASSEMBLY' then p_ballots * 2 > p_electors
                                            or p_households * 3 >= p_elector_households * 2
                when 'REPRESENTATIVES_MEETING' then p_ballots * 3 >= p_electors * 2
                else true
            end as met) q
      left join lateral (
          select o.i - 1 as option from unnest(p_votes) with ordinality as o (votes, i)
           where o.votes * 2 > p_ballots
      ) w on q.met
$$;

-- A consultation's result is the database's: on closing, the counts and the decision are
-- filled in here (the request role cannot write those columns), and a closed consultation
-- never changes again, but for linking its resolution notice once.
create function vg.consultation_result() returns trigger
language plpgsql security definer set search_path = vg, pg_catalog as $$
declare
    t record;
    d record;
begin
    if old.closed_at is not null then
        -- The one change left after closing: linking the resolution notice, once.
        if old.resolution_notice_id is null and new.resolution_notice_id is not null
           and new.closed_at = old.closed_at
           and new.closed_by is not distinct from old.closed_by then
            return new;
        end if;
        raise exception 'consultation % is closed; its result is final', old.id
            using errcode = '55000';
    end if;
    if new.closed_at is null then
        return new;
    end if;
    select * into t from vg.count_ballots(array[new.id]);
    select * into d from vg.consultation_decision(
        new.rule, t.votes, t.ballots, t.households, t.electors, t.elector_households);
    new.eligible_count := t.electors;
    new.eligible_households := t.elector_households;
    new.ballots_cast := t.ballots;
    new.households_voted := t.households;
    new.votes := t.votes::integer[];
    new.quorum_met := d.quorum_met;
    new.winning_option := d.winning_option;
    new.passed := d.passed;
    return new;
end
$$;
create trigger consultations_result before update on vg.consultations
    for each row execute function vg.consultation_result();

create sequence vg.suggestions_id_seq;
create table vg.suggestions (
    village_code bigint not null references vg.org_units (code),  -- the submitter's 户籍村
    id bigint not null default nextval('vg.suggestions_id_seq'),
    resident_id bigint not null,
    submitted_by bigint references vg.accounts (id),  -- null: handed in at the village office
    title text not null,
    body text not null,
    status text not null default 'SUBMITTED' check (status in
        ('SUBMITTED', 'ACKNOWLEDGED', 'IN_PROGRESS', 'ANSWERED', 'CLOSED', 'REJECTED')),
    reason text,
    submitted_at timestamptz not null default now(),
    first_answered_at timestamptz,
    updated_at timestamptz not null default now(),
    primary key (village_code, id),
    foreign key (village_code, resident_id) references vg.residents (village_code, id),
    check (status <> 'REJECTED' or reason is not null)
);
alter sequence vg.suggestions_id_seq owned by vg.suggestions.id;
create unique index suggestions_id on vg.suggestions (id);
create index suggestions_village on vg.suggestions (village_code, submitted_at desc, id desc);

create sequence vg.suggestion_replies_id_seq;
create table vg.suggestion_replies (
    village_code bigint not null,
    suggestion_id bigint not null,
    id bigint not null default nextval('vg.suggestion_replies_id_seq'),
    body text not null,
    replied_by bigint not null references vg.accounts (id),
    replied_at timestamptz not null default now(),
    primary key (village_code, id),
    foreign key (village_code, suggestion_id) references vg.suggestions (village_code, id)
);
alter sequence vg.suggestion_replies_id_seq owned by vg.suggestion_replies.id;
create index suggestion_replies_thread on vg.suggestion_replies (suggestion_id, replied_at, id);

-- Tenant tables: row-level security on and forced (the owner bypasses it only through
-- BYPASSRLS), and the request role's table privileges. Policies follow below.
-- What the request role may supply on insert is named column by column; timestamps,
-- results and states that the figures rely on (recorded_at, cast_at, closed_at, status...)
-- come from defaults and triggers only, so nobody back-dates an entry or inserts a
-- consultation already decided. (The table-wide insert granted first is revoked again.)
alter table vg.finance_entries enable row level security;
alter table vg.finance_entries force row level security;
grant select, insert on vg.finance_entries to vg_request;
revoke insert on vg.finance_entries from vg_request;
grant insert (village_code, period, direction, category, amount, memo, voucher_no, reverses_id, recorded_by) on vg.finance_entries to vg_request;
alter table vg.finance_budgets enable row level security;
alter table vg.finance_budgets force row level security;
grant select, insert on vg.finance_budgets to vg_request;
revoke insert on vg.finance_budgets from vg_request;
grant insert (village_code, year, direction, category, amount, set_by) on vg.finance_budgets to vg_request;
alter table vg.consultations enable row level security;
alter table vg.consultations force row level security;
grant select, insert on vg.consultations to vg_request;
revoke insert on vg.consultations from vg_request;
grant insert (village_code, title, description, options, opens_at, closes_at, rule, eligibility, created_by) on vg.consultations to vg_request;
alter table vg.consultation_electors enable row level security;
alter table vg.consultation_electors force row level security;
grant select, insert on vg.consultation_electors to vg_request;
revoke insert on vg.consultation_electors from vg_request;
grant insert (village_code, consultation_id, resident_village, resident_id, household) on vg.consultation_electors to vg_request;
alter table vg.ballots enable row level security;
alter table vg.ballots force row level security;
grant select, insert on vg.ballots to vg_request;
revoke insert on vg.ballots from vg_request;
grant insert (village_code, consultation_id, resident_village, resident_id, option_index) on vg.ballots to vg_request;
alter table vg.consultation_comments enable row level security;
alter table vg.consultation_comments force row level security;
grant select, insert on vg.consultation_comments to vg_request;
revoke insert on vg.consultation_comments from vg_request;
grant insert (village_code, consultation_id, author_account, author_name, body) on vg.consultation_comments to vg_request;
alter table vg.suggestions enable row level security;
alter table vg.suggestions force row level security;
grant select, insert on vg.suggestions to vg_request;
revoke insert on vg.suggestions from vg_request;
grant insert (village_code, resident_id, submitted_by, title, body) on vg.suggestions to vg_request;
alter table vg.suggestion_replies enable row level security;
alter table vg.suggestion_replies force row level security;
grant select, insert on vg.suggestion_replies to vg_request;
revoke insert on vg.suggestion_replies from vg_request;
grant insert (village_code, suggestion_id, body, replied_by) on vg.suggestion_replies to vg_request;

-- Villagers-only: members of the village and staff above it read; staff of it write.
create policy finance_entries_read on vg.finance_entries for select using (
    village_code <@ (select vg.read_scope())
    or village_code = any ((select vg.member_villages())::bigint[])
);
create policy finance_entries_record on vg.finance_entries for insert with check (
    village_code <@ (select vg.write_scope()) and recorded_by = (select vg.account_id())
);
create policy finance_budgets_read on vg.finance_budgets for select using (
    village_code <@ (select vg.read_scope())
    or village_code = any ((select vg.member_villages())::bigint[])
);
create policy finance_budgets_set on vg.finance_budgets for insert with check (
    village_code <@ (select vg.write_scope()) and set_by = (select vg.account_id())
);

create policy consultations_read on vg.consultations for select using (
    village_code <@ (select vg.read_scope())
    or village_code = any ((select vg.member_villages())::bigint[])
);
create policy consultations_create on vg.consultations for insert with check (
    village_code <@ (select vg.write_scope()) and created_by = (select vg.account_id())
);
create policy consultations_close on vg.consultations for update
    using (village_code <@ (select vg.write_scope()))
    with check (village_code <@ (select vg.write_scope()));
grant update (closed_at, closed_by, resolution_notice_id) on vg.consultations to vg_request;

-- The roll: staff of the village and each elector for itself.
create policy consultation_electors_read on vg.consultation_electors for select using (
    village_code <@ (select vg.read_scope())
    or (resident_village = (select vg.household_village())
        and resident_id = (select vg.resident_id()))
);
create policy consultation_electors_enrol on vg.consultation_electors for insert with check (
    village_code <@ (select vg.write_scope())
);

-- Secret ballot: nobody but the voter reads a ballot row, staff included.
create policy ballots_own on vg.ballots for select using (
    resident_village = (select vg.household_village())
    and resident_id = (select vg.resident_id())
);
create policy ballots_cast on vg.ballots for insert with check (
    resident_village = (select vg.household_village())
    and resident_id = (select vg.resident_id())
    and village_code = any ((select vg.member_villages())::bigint[])
);

create policy consultation_comments_read on vg.consultation_comments for select using (
    village_code <@ (select vg.read_scope())
    or village_code = any ((select vg.member_villages())::bigint[])
);
create policy consultation_comments_write on vg.consultation_comments for insert with check (
    author_account = (select vg.account_id())
    and (village_code <@ (select vg.write_scope())
         or village_code = any ((select vg.member_villages())::bigint[]))
);

create policy suggestions_read on vg.suggestions for select using (
    village_code <@ (select vg.read_scope())
    or village_code = any ((select vg.member_villages())::bigint[])
);
create policy suggestions_submit on vg.suggestions for insert with check (
    village_code = (select vg.household_village())
    and submitted_by = (select vg.account_id())
    and resident_id = (select vg.resident_id())
    and status = 'SUBMITTED'
);
create policy suggestions_handle on vg.suggestions for update
    using (village_code <@ (select vg.write_scope()))
    with check (village_code <@ (select vg.write_scope()));
grant update (status, reason, updated_at) on vg.suggestions to vg_request;

create policy suggestion_replies_read on vg.suggestion_replies for select using (
    village_code <@ (select vg.read_scope())
    or village_code = any ((select vg.member_villages())::bigint[])
);
create policy suggestion_replies_write on vg.suggestion_replies for insert with check (
    village_code <@ (select vg.write_scope()) and replied_by = (select vg.account_id())
);
grant usage on all sequences in schema vg to vg_request;

-- The first answer's time is the first reply's, set by the database: response-time figures
-- cannot be tuned by hand.
create function vg.suggestion_first_answer() returns trigger
language plpgsql security definer set search_path = vg, pg_catalog as $$
begin
    update vg.suggestions
       set first_answered_at = coalesce(first_answered_at, new.replied_at)
     where village_code = new.village_code and id = new.suggestion_id;
    return new;
end
$$;
create trigger suggestion_replies_first_answer after insert on vg.suggestion_replies
    for each row execute function vg.suggestion_first_answer();

-- The lifecycle: submitted → acknowledged → in progress → answered → closed, answered may
-- be reopened (in progress), rejected (with a reason) before an answer; closed and
-- rejected are final.
create function vg.suggestion_lifecycle() returns trigger
language plpgsql as $$
begin
    if (new.status is distinct from old.status or new.status = 'ANSWERED')
       and (old.status, new.status) not in (
           ('SUBMITTED', 'ACKNOWLEDGED'), ('SUBMITTED', 'IN_PROGRESS'),
           ('SUBMITTED', 'ANSWERED'), ('SUBMITTED', 'REJECTED'),
           ('ACKNOWLEDGED', 'IN_PROGRESS'), ('ACKNOWLEDGED', 'ANSWERED'),
           ('ACKNOWLEDGED', 'REJECTED'), ('IN_PROGRESS', 'ANSWERED'),
           ('IN_PROGRESS', 'REJECTED'), ('ANSWERED', 'CLOSED'), ('ANSWERED', 'IN_PROGRESS'),
           ('ANSWERED', 'ANSWERED')) then
        raise exception 'a % suggestion cannot become %', old.status, new.status
            using errcode = '55000';
    end if;
    return new;
end
$$;
create trigger suggestions_lifecycle before update on vg.suggestions
    for each row execute function vg.suggestion_lifecycle();
