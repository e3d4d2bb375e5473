-- 0024_democracy upgrade: sent as is, in one transaction, by versions/0024_democracy.py.
-- Conventions: docs/CONVENTIONS.md. The Organic Law of Villagers' Committees
-- (村民委员会组织法, 2018) is cited by article.

set local search_path = vg, public;

-- ------------------------------------------------------------------ decision rules
-- Per city and rule: quorum, majority, the smallest count published per option, how long
-- the committee has to convene a proposed meeting, and the wording. A city without a row
-- gets the statutory defaults (vg.statutory_decision_rule). Whether a rule is binding is
-- the law's (arts. 21-22, 25), not configurable: see vg.rule_is_binding.
create table vg.decision_rules (
    city_code bigint not null references vg.org_units (code),
    rule text not null check (rule in ('VILLAGERS_ASSEMBLY', 'REPRESENTATIVES_MEETING', 'SIMPLE_MAJORITY')),
    quorum_num integer not null check (quorum_num >= 0),
    quorum_den integer not null check (quorum_den > 0),
    quorum_strict boolean not null,              -- more than (true) or at least (false)
    household_num integer check (household_num >= 0),  -- the households alternative (art. 22)
    household_den integer check (household_den > 0),
    majority_num integer not null check (majority_num >= 0),
    majority_den integer not null check (majority_den > 0),  -- an option needs more than this share
    min_published_ballots integer not null check (min_published_ballots >= 1),
    convene_within_days integer not null check (convene_within_days between 1 and 365),
    wording_passed text not null,                -- %s: the winning option
    wording_no_majority text not null,
    wording_invalid text not null,
    wording_turnout_only text not null,          -- %s: the minimum
    set_by bigint references vg.accounts (id),
    set_at timestamptz not null default now(),
    primary key (city_code, rule),
    check ((household_num is null) = (household_den is null))
);

create function vg.rule_is_binding(p_rule text) returns boolean
language sql immutable parallel safe as $$
    select p_rule in ('VILLAGERS_ASSEMBLY', 'REPRESENTATIVES_MEETING')
$$;

-- The statutory defaults: a villagers' assembly is valid with more than half of the adult
-- villagers or households holding at least two thirds of the households (art. 22); a
-- representatives' meeting with at least two thirds of the representatives (art. 25); a
-- decision takes more than half of those present. A poll (意见征集) has no quorum and binds
-- nobody. Counts below five are published as turnout only (ballot secrecy).
create function vg.statutory_decision_rule(p_rule text) returns vg.decision_rules
language sql immutable parallel safe as $$
    select row(null, p_rule,
        case p_rule when 'VILLAGERS_ASSEMBLY' then 1 when 'REPRESENTATIVES_MEETING' then 2 else 0 end,
        case p_rule when 'VILLAGERS_ASSEMBLY' then 2 when 'REPRESENTATIVES_MEETING' then 3 else 1 end,
        p_rule = 'VILLAGERS_ASSEMBLY',
        case when p_rule = 'VILLAGERS_ASSEMBLY' then 2 end,
        case when p_rule = 'VILLAGERS_ASSEMBLY' then 3 end,
        1, 2, 5, 30,
        case when vg.rule_is_binding(p_rule) then '「%s」获得到会人员过半数同意，形成决议。'
             else '「%s」获得过半数支持。本次为意见征集，结果供村民委员会参考，不构成决议。' end,
        case when vg.rule_is_binding(p_rule) then '无选项获得到会人员过半数同意，未形成决议。'
             else '无选项获得过半数支持。本次为意见征集，不构成决议。' end,
        '未达到法定到会人数，表决无效，未形成决议。',
        '参与人数少于 %s 人，为保护投票秘密，只公布参与情况，不公布各选项票数。',
        null, null)::vg.decision_rules
$$;

-- The rule in force for a village: its city's row, or the statute.
create function vg.decision_rule(p_village bigint, p_rule text) returns vg.decision_rules
language sql stable parallel safe as $$
    select coalesce(
        (select d from vg.decision_rules d
          where d.city_code = p_village - p_village % 100000000 and d.rule = p_rule),
        vg.statutory_decision_rule(p_rule))
$$;

-- The decision under a rule, in integer arithmetic; NULL counts when below the minimum.
create function vg.decide_consultation(
    r vg.decision_rules, p_votes bigint[], p_ballots bigint, p_households bigint,
    p_electors bigint, p_elector_households bigint,
    out quorum_met boolean, out winning_option integer, out passed boolean,
    out counts_published boolean
)
language sql immutable parallel safe as $$
    select q.met, w.option, w.option is not null, p_ballots >= r.min_published_ballots
      from (select p_ballots > 0 and (
                case when r.quorum_strict then p_ballots * r.quorum_den > p_electors * r.quorum_num
                     else p_ballots * r.quorum_den >= p_electors * r.quorum_num end
                or (r.household_num is not null
                    and p_households * r.household_den >= p_elector_households * r.household_num))
            as met) q
      left join lateral (
          select o.i - 1 as option from unnest(p_votes) with ordinality as o (votes, i)
           where o.votes * r.majority_den > p_ballots * r.majority_num
           order by o.votes desc limit 1
      ) w on q.met and p_ballots >= r.min_published_ballots
$$;

alter table vg.consultations add column counts_published boolean;

-- Closing, now: no close before closesAt unless every elector voted; counts below the
-- city's minimum are not stored at all (turnout only); the decision follows the city's rule.
create or replace function vg.consultation_result() returns trigger
language plpgsql security definer set search_path = pg_catalog, vg, pg_temp as $$
declare
    t record;
    d record;
begin
    if old.closed_at is not null then
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
    if new.closed_at < new.closes_at and t.ballots < t.electors then
        raise exception 'consultation % is open until %; it closes early only when every elector has voted',
            old.id, new.closes_at using errcode = '55000';
    end if;
    select * into d from vg.decide_consultation(
        vg.decision_rule(new.village_code, new.rule),
        t.votes, t.ballots, t.households, t.electors, t.elector_households);
    new.eligible_count := t.electors;
    new.eligible_households := t.elector_households;
    new.ballots_cast := t.ballots;
    new.households_voted := t.households;
    new.counts_published := d.counts_published;
    new.votes := case when d.counts_published then t.votes::integer[] end;
    new.quorum_met := d.quorum_met;
    new.winning_option := d.winning_option;
    new.passed := d.passed;
    return new;
end
$$;

-- ------------------------------------------------------------------ audit rows of ballots
-- A ballot's (and a rating's) audit row says who voted on which day, never when within it:
-- beside turnout over time, a finer time would narrow down a voter. The chain link dates
-- it before sealing it, so the digest covers the day (0006_audit_chain otherwise as was).
create or replace function vg.audit_chain_link() returns trigger
language plpgsql security definer set search_path = pg_catalog, vg, pg_temp as $$
begin
    if new.action like 'consultation.ballot%' or new.action = 'execution.rating' then
        new.at := date_trunc('day', new.at at time zone 'Asia/Shanghai') at time zone 'Asia/Shanghai';
    end if;
    new.chain_key := coalesce(new.tenant_code, -coalesce(new.account_id, 0));
    insert into vg.audit_heads as h (chain_key, seq, hash) values (new.chain_key, 1, '')
    on conflict (chain_key) do update set seq = h.seq + 1
    returning h.seq, h.hash into new.chain_seq, new.prev_hash;
    new.hash := vg.audit_row_hash(new);
    update vg.audit_heads set hash = new.hash where chain_key = new.chain_key;
    return new;
end
$$;

-- ------------------------------------------------------------------ cadres and representatives
-- The 村务监督委员会 (art. 32) and the villagers' representatives (art. 25) are appointed
-- with terms like the committee; both must be villagers of the village.
alter table vg.cadres drop constraint cadres_body_check;
alter table vg.cadres add constraint cadres_body_check
    check (body in ('COMMITTEE', 'PARTY_BRANCH', 'SUPERVISORY_COMMITTEE', 'REPRESENTATIVES'));

-- The representatives were a tag; each tagged adult becomes an appointment from today.
insert into vg.cadres (village_code, name, body, position, resident_village, resident_id, term_start)
select r.village_code, r.name, 'REPRESENTATIVES', '村民代表', r.village_code, r.id,
       (now() at time zone 'Asia/Shanghai')::date
  from vg.residents r
 where '村民代表' = any (r.tags)
   and not exists (select 1 from vg.cadres k
                    where k.resident_village = r.village_code and k.resident_id = r.id
                      and k.body = 'REPRESENTATIVES' and k.term_end is null);

create function vg.in_term(p_start date, p_end date, p_on date) returns boolean
language sql immutable parallel safe as $$
    select p_start <= p_on and (p_end is null or p_end > p_on)
$$;

create function vg.shanghai_today() returns date
language sql stable parallel safe as $$ select (now() at time zone 'Asia/Shanghai')::date $$;

-- Appointment rules the API cannot get round: supervisors and representatives are
-- villagers of the village; nobody on the village committee, nor of a committee member's
-- household, sits on the supervisory committee (art. 32); representatives number at most
-- one per five households (art. 25: one per 5-15 households).
create function vg.cadre_appointment_check() returns trigger
language plpgsql security definer set search_path = pg_catalog, vg, pg_temp as $$
declare
    households integer;
    serving integer;
begin
    if new.body not in ('SUPERVISORY_COMMITTEE', 'REPRESENTATIVES') then
        return new;
    end if;
    if new.resident_id is null or new.resident_village is distinct from new.village_code then
        raise exception 'a % member must be a villager registered in the village', new.body
            using errcode = '23514';
    end if;
    if new.body = 'SUPERVISORY_COMMITTEE' and exists (
        select 1 from vg.cadres k
          join vg.residents member on member.village_code = k.resident_village and member.id = k.resident_id
          join vg.residents candidate on candidate.village_code = new.resident_village and candidate.id = new.resident_id
         where k.village_code = new.village_code and k.body = 'COMMITTEE'
           and (k.term_end is null or k.term_end > new.term_start)
           and (member.id = candidate.id or member.household_no = candidate.household_no)) then
        raise exception 'members of the village committee and their households cannot supervise it'
            using errcode = '23514';
    end if;
    if new.body = 'REPRESENTATIVES' then
        perform 1 from vg.org_units where code = new.village_code for update;
        select count(distinct coalesce(r.household_no, r.id::text)) into households
          from vg.residents r where r.village_code = new.village_code;
        select count(*) into serving from vg.cadres k
         where k.village_code = new.village_code and k.body = 'REPRESENTATIVES'
           and (k.term_end is null or k.term_end > new.term_start);
        if (serving + 1) * 5 > greatest(households, 5) then
            raise exception 'at most one representative per five households (% households)', households
                using errcode = '23514';
        end if;
    end if;
    return new;
end
$$;
create trigger cadres_appointment_check before insert on vg.cadres
    for each row execute function vg.cadre_appointment_check();

-- The villages the caller supervises today (a member of their 村务监督委员会).
create function vg.supervisor_villages() returns bigint[]
language sql stable parallel safe as $$
    select coalesce(array_agg(k.village_code), '{}') from vg.cadres k
     where k.body = 'SUPERVISORY_COMMITTEE'
       and k.resident_village = vg.household_village() and k.resident_id = vg.resident_id()
       and vg.in_term(k.term_start, k.term_end, vg.shanghai_today())
$$;

-- Supervisors read what the village committee reads (arts. 32-33): a SUPERVISOR grant,
-- derived from the term and never stored, adds the village to the read scope, never to
-- the write scope. 0021_delivery's context_of (family proxies), with the supervisors' grants.
create or replace function vg.context_of(p_account bigint, p_session bigint, out c vg.context, out facts jsonb)
language sql stable security definer set search_path = pg_catalog, pg_temp as $$
    with a as (
        select a.id, a.phone, a.display_name, a.resident_id, a.resident_village
          from vg.accounts a where a.id = p_account
    ), r as (
        select r.id, r.village_code, r.residence_code, r.residence_member, r.tags
          from a join vg.residents r on r.village_code = a.resident_village and r.id = a.resident_id
    ), p as (  -- 亲情账号: the residents this account stands for, with their consent
        select r.id, r.village_code, r.residence_code, r.residence_member, r.tags
          from vg.family_proxies f
          join vg.residents r on r.village_code = f.resident_village and r.id = f.resident_id
         where f.proxy_account = p_account and f.revoked_at is null
    ), people as (
        select * from r union all select * from p
    ), g as (
        select g.id, g.role, g.unit_code, u.level
          from vg.grants g join vg.org_units u on u.code = g.unit_code
         where g.account_id = p_account and g.revoked_at is null
        union all
        -- A 村务监督委员会 member in office (issue 15): derived from the term, never stored.
        select 9223372036854775807, 'SUPERVISOR', k.village_code, 'VILLAGE'
          from a join vg.cadres k
            on k.resident_village = a.resident_village and k.resident_id = a.resident_id
         where k.body = 'SUPERVISORY_COMMITTEE'
           and vg.in_term(k.term_start, k.term_end, vg.shanghai_today())
    ), v as (  -- the villages the account reads as a resident; member: members-only content
        select people.village_code as village, true as member from people
        union
        select people.residence_code, people.residence_member from people
         where people.residence_code is not null and people.residence_code <> people.village_code
    ), villages as (
        select village, bool_or(member) as member from v group by village
    ), inherited as (  -- staff receive what their units' ancestors push down
        select distinct x.a from g, unnest(vg.ancestors_or_self(g.unit_code)) x (a)
         where x.a <> g.unit_code
    ), tags as (
        select coalesce(array_agg(distinct t order by t), '{}') as tags
          from people, unnest(people.tags) t
    )
    select row(null, null, p_session, a.id, r.id, r.village_code, false,
               coalesce((select range_agg(vg.subtree(g.unit_code)) from g), '{}'),
               coalesce((select range_agg(vg.subtree(g.unit_code)) from g
                         where g.role not in ('ANALYST', 'SUPERVISOR')), '{}'),
               (select coalesce(array_agg(distinct p.a order by p.a), '{}')
                  from (select x.a from villages v, unnest(vg.ancestors_or_self(v.village)) x (a)
                        union select a from inherited) p (a)),
               (select coalesce(array_agg(distinct p.a order by p.a), '{}')
                  from (select x.a from villages v, unnest(vg.ancestors_or_self(v.village)) x (a) where v.member
                        union select a from inherited) p (a)),
               (select coalesce(array_agg(v.village order by v.village is distinct from r.village_code, v.village), '{}')
                  from villages v where v.member),
               (select tags from tags),
               exists (select from g))::vg.context,
           jsonb_build_object(
               'account_id', a.id::text, 'phone', a.phone, 'display_name', a.display_name,
               'resident_id', r.id::text, 'household_village', r.village_code::text,
               'residence_village', r.residence_code::text,
               'villages', (select coalesce(jsonb_agg(v.village::text order by v.village is distinct from r.village_code, v.village), '[]') from villages v),
               'member_villages', (select coalesce(jsonb_agg(v.village::text order by v.village is distinct from r.village_code, v.village), '[]') from villages v where v.member),
               'tags', to_jsonb((select tags from tags)),
               'proxy_for', (select coalesce(jsonb_agg(jsonb_build_object('village', p.village_code::text, 'id', p.id::text)
                                                       order by p.village_code, p.id), '[]') from p),
               'grants', (select coalesce(jsonb_agg(jsonb_build_object(
                              'role', g.role, 'unit', g.unit_code::text, 'level', g.level) order by g.id), '[]')
                            from g))
      from a left join r on true
$$;
revoke execute on function vg.context_of(bigint, bigint) from public;

-- ------------------------------------------------------------------ paper and proxy ballots
-- A ballot comes from the app (the elector), on paper (recorded by a cadre, witnessed by a
-- supervisory-committee member who is not the recorder) or by proxy. The primary key is
-- still one ballot per elector, whatever the channel: a paper voter cannot vote in the app.
alter table vg.ballots
    add column channel text not null default 'APP' check (channel in ('APP', 'PAPER', 'PROXY')),
    add column recorded_by bigint references vg.accounts (id),
    add column witness_cadre bigint,
    add column proxy_village bigint,
    add column proxy_id bigint,
    add constraint ballots_channel_fields check (
        (channel = 'PAPER') = (recorded_by is not null and witness_cadre is not null)
        and (channel = 'PROXY') = (proxy_id is not null and proxy_village is not null));

-- 委托投票 (art. 15's rule for elections, applied to votes): an elector authorises in
-- writing a close relative (same household) on the same roll; a proxy holds at most three.
create table vg.ballot_proxies (
    village_code bigint not null,
    consultation_id bigint not null,
    principal_village bigint not null,
    principal_id bigint not null,
    proxy_village bigint not null,
    proxy_id bigint not null,
    authorized_by bigint not null references vg.accounts (id),
    authorized_at timestamptz not null default now(),
    primary key (village_code, consultation_id, principal_village, principal_id),
    foreign key (village_code, consultation_id, principal_village, principal_id)
        references vg.consultation_electors (village_code, consultation_id, resident_village, resident_id),
    foreign key (village_code, consultation_id, proxy_village, proxy_id)
        references vg.consultation_electors (village_code, consultation_id, resident_village, resident_id),
    check ((principal_village, principal_id) <> (proxy_village, proxy_id))
);
create index ballot_proxies_proxy on vg.ballot_proxies (village_code, consultation_id, proxy_village, proxy_id);

create function vg.ballot_proxy_check() returns trigger
language plpgsql security definer set search_path = pg_catalog, vg, pg_temp as $$
declare
    held integer;
begin
    perform 1 from vg.consultations
     where village_code = new.village_code and id = new.consultation_id and closed_at is null;
    if not found then
        raise exception 'consultation % is closed', new.consultation_id using errcode = '55000';
    end if;
    if not exists (
        select 1 from vg.consultation_electors p join vg.consultation_electors x
            on x.village_code = p.village_code and x.consultation_id = p.consultation_id
           and x.household = p.household
         where p.village_code = new.village_code and p.consultation_id = new.consultation_id
           and (p.resident_village, p.resident_id) = (new.principal_village, new.principal_id)
           and (x.resident_village, x.resident_id) = (new.proxy_village, new.proxy_id)) then
        raise exception 'a proxy must be a close relative (same household) on the same roll'
            using errcode = '23514';
    end if;
    if exists (select 1 from vg.ballot_proxies b
                where b.village_code = new.village_code and b.consultation_id = new.consultation_id
                  and (b.principal_village, b.principal_id) = (new.proxy_village, new.proxy_id))
       or exists (select 1 from vg.ballot_proxies b
                where b.village_code = new.village_code and b.consultation_id = new.consultation_id
                  and (b.proxy_village, b.proxy_id) = (new.principal_village, new.principal_id)) then
        raise exception 'a proxy cannot pass a vote on' using errcode = '23514';
    end if;
    -- Serialise authorisations of one proxy: the row lock on its roll entry.
    perform 1 from vg.consultation_electors
     where village_code = new.village_code and consultation_id = new.consultation_id
       and (resident_village, resident_id) = (new.proxy_village, new.proxy_id) for update;
    select count(*) into held from vg.ballot_proxies
     where village_code = new.village_code and consultation_id = new.consultation_id
       and (proxy_village, proxy_id) = (new.proxy_village, new.proxy_id);
    if held >= 3 then
        raise exception 'a proxy may vote for at most three electors' using errcode = '55000';
    end if;
    return new;
end
$$;
create trigger ballot_proxies_check before insert on vg.ballot_proxies
    for each row execute function vg.ballot_proxy_check();

-- A paper ballot's witness is a supervisory-committee member in office, not the recorder;
-- a proxy ballot needs the principal's authorisation of that proxy.
create function vg.ballot_channel_check() returns trigger
language plpgsql security definer set search_path = pg_catalog, vg, pg_temp as $$
begin
    if new.channel = 'PAPER' and not exists (
        select 1 from vg.cadres k
         where k.village_code = new.village_code and k.id = new.witness_cadre
           and k.body = 'SUPERVISORY_COMMITTEE'
           and vg.in_term(k.term_start, k.term_end, vg.shanghai_today())
           and not exists (select 1 from vg.accounts a
                            where a.id = new.recorded_by and a.resident_village = k.resident_village
                              and a.resident_id = k.resident_id)) then
        raise exception 'a paper ballot is witnessed by a supervisory-committee member in office who did not record it'
            using errcode = '23514';
    end if;
    if new.channel = 'PROXY' and not exists (
        select 1 from vg.ballot_proxies b
         where b.village_code = new.village_code and b.consultation_id = new.consultation_id
           and (b.principal_village, b.principal_id) = (new.resident_village, new.resident_id)
           and (b.proxy_village, b.proxy_id) = (new.proxy_village, new.proxy_id)) then
        raise exception 'no authorisation of this proxy' using errcode = '23514';
    end if;
    return new;
end
$$;
create trigger ballots_channel before insert on vg.ballots
    for each row execute function vg.ballot_channel_check();

-- Turnout by channel, without voters or options: proxy and paper votes are marked.
create function vg.consultation_channels(p_ids bigint[])
returns table (consultation_id bigint, app bigint, paper bigint, proxy bigint)
language sql stable security definer set search_path = pg_catalog, vg, pg_temp as $$
    select c.id,
           count(b.*) filter (where b.channel = 'APP'),
           count(b.*) filter (where b.channel = 'PAPER'),
           count(b.*) filter (where b.channel = 'PROXY')
      from vg.consultations c
      left join vg.ballots b on b.village_code = c.village_code and b.consultation_id = c.id
     where c.id = any (p_ids)
       and (c.village_code <@ vg.read_scope() or c.village_code = any (vg.member_villages()))
     group by c.id
$$;

-- ------------------------------------------------------------------ proposals (art. 21)
create sequence vg.consultation_proposals_id_seq;
create table vg.consultation_proposals (
    village_code bigint not null references vg.org_units (code),
    id bigint not null default nextval('vg.consultation_proposals_id_seq'),
    title text not null,
    description text not null,
    options text[] not null check (cardinality(options) between 2 and 20),
    rule text not null check (rule in ('VILLAGERS_ASSEMBLY', 'REPRESENTATIVES_MEETING')),
    proposer_village bigint not null,
    proposer_id bigint not null,
    proposed_by bigint not null references vg.accounts (id),
    proposed_at timestamptz not null default now(),
    -- Set by the database: one tenth of the adult villagers, or one third of the
    -- representatives; the running count; when it was reached; the resulting vote.
    supporters_needed integer not null default 1,
    supporters integer not null default 0,
    threshold_reached_at timestamptz,
    convene_by timestamptz,
    convening_task_id bigint,
    consultation_id bigint,
    primary key (village_code, id),
    foreign key (proposer_village, proposer_id) references vg.residents (village_code, id),
    foreign key (village_code, consultation_id) references vg.consultations (village_code, id)
);
alter sequence vg.consultation_proposals_id_seq owned by vg.consultation_proposals.id;
create unique index consultation_proposals_id on vg.consultation_proposals (id);
create index consultation_proposals_village on vg.consultation_proposals (village_code, proposed_at desc, id desc);
create index consultation_proposals_due on vg.consultation_proposals (threshold_reached_at)
    where convening_task_id is null and consultation_id is null and threshold_reached_at is not null;

-- Support is public to the village (unlike a ballot).
create table vg.proposal_supporters (
    village_code bigint not null,
    proposal_id bigint not null,
    resident_village bigint not null,
    resident_id bigint not null,
    name text not null default '',
    supported_by bigint references vg.accounts (id),  -- null: signed on paper at the office
    supported_at timestamptz not null default now(),
    primary key (village_code, proposal_id, resident_village, resident_id),
    foreign key (village_code, proposal_id) references vg.consultation_proposals (village_code, id)
);

create function vg.proposal_threshold() returns trigger
language plpgsql security definer set search_path = pg_catalog, vg, pg_temp as $$
declare
    base integer;
    divisor integer := case when new.rule = 'REPRESENTATIVES_MEETING' then 3 else 10 end;
begin
    if new.rule = 'REPRESENTATIVES_MEETING' then
        select count(*) into base from vg.cadres k
         where k.village_code = new.village_code and k.body = 'REPRESENTATIVES'
           and vg.in_term(k.term_start, k.term_end, vg.shanghai_today());
    else
        select count(*) into base from vg.residents r
         where r.village_code = new.village_code
           and r.birth_date <= vg.shanghai_today() - interval '18 years';
    end if;
    new.supporters_needed := greatest(1, (base + divisor - 1) / divisor);
    new.supporters := 0;
    new.threshold_reached_at := null;
    new.convene_by := null;
    new.convening_task_id := null;
    new.consultation_id := null;
    return new;
end
$$;
create trigger consultation_proposals_threshold before insert on vg.consultation_proposals
    for each row execute function vg.proposal_threshold();

-- The proposer is the first supporter.
create function vg.proposal_first_supporter() returns trigger
language plpgsql security definer set search_path = pg_catalog, vg, pg_temp as $$
begin
    insert into vg.proposal_supporters (village_code, proposal_id, resident_village, resident_id, supported_by)
    values (new.village_code, new.id, new.proposer_village, new.proposer_id, new.proposed_by);
    return new;
end
$$;
create trigger consultation_proposals_first_supporter after insert on vg.consultation_proposals
    for each row execute function vg.proposal_first_supporter();

-- A supporter is an adult villager of the village (a representative in office, for a
-- representatives' meeting), while the proposal is not yet scheduled; reaching the
-- threshold starts the committee's time to convene.
create function vg.proposal_support() returns trigger
language plpgsql security definer set search_path = pg_catalog, vg, pg_temp as $$
declare
    p vg.consultation_proposals;
begin
    select * into p from vg.consultation_proposals
     where village_code = new.village_code and id = new.proposal_id for update;
    if p.consultation_id is not null then
        raise exception 'proposal % is already scheduled', p.id using errcode = '55000';
    end if;
    if new.resident_village <> p.village_code
       or not exists (select 1 from vg.residents r
                       where r.village_code = new.resident_village and r.id = new.resident_id
                         and r.birth_date <= vg.shanghai_today() - interval '18 years')
       or (p.rule = 'REPRESENTATIVES_MEETING' and not exists (
            select 1 from vg.cadres k
             where k.village_code = p.village_code and k.body = 'REPRESENTATIVES'
               and k.resident_village = new.resident_village and k.resident_id = new.resident_id
               and vg.in_term(k.term_start, k.term_end, vg.shanghai_today()))) then
        raise exception 'only adult villagers (representatives, for a representatives'' meeting) may support'
            using errcode = '42501';
    end if;
    new.name := (select r.name from vg.residents r
                  where r.village_code = new.resident_village and r.id = new.resident_id);
    update vg.consultation_proposals
       set supporters = supporters + 1,
           threshold_reached_at = coalesce(threshold_reached_at,
               case when supporters + 1 >= supporters_needed then now() end),
           convene_by = coalesce(convene_by,
               case when supporters + 1 >= supporters_needed then now() + make_interval(
                   days => (vg.decision_rule(village_code, rule)).convene_within_days) end)
     where village_code = p.village_code and id = p.id;
    return new;
end
$$;
create trigger proposal_supporters_count before insert on vg.proposal_supporters
    for each row execute function vg.proposal_support();

-- ------------------------------------------------------------------ the supervisory committee
-- Sign-off of a finance period or a disclosure notice by a member in office (art. 32-33).
create sequence vg.supervisory_signoffs_id_seq;
create table vg.supervisory_signoffs (
    village_code bigint not null references vg.org_units (code),
    id bigint not null default nextval('vg.supervisory_signoffs_id_seq'),
    subject text not null check (subject in ('FINANCE_PERIOD', 'DISCLOSURE')),
    period text check (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    notice_id bigint,
    note text,
    signed_by bigint not null references vg.accounts (id),
    signed_at timestamptz not null default now(),
    primary key (village_code, id),
    check ((subject = 'FINANCE_PERIOD') = (period is not null)
           and (subject = 'DISCLOSURE') = (notice_id is not null)),
    foreign key (village_code, notice_id) references vg.notices (publisher_code, id)
);
alter sequence vg.supervisory_signoffs_id_seq owned by vg.supervisory_signoffs.id;
create unique index supervisory_signoffs_period on vg.supervisory_signoffs (village_code, period)
    where subject = 'FINANCE_PERIOD';
create unique index supervisory_signoffs_notice on vg.supervisory_signoffs (village_code, notice_id)
    where subject = 'DISCLOSURE';

-- Objections become supervised tasks for the town (the worker's scan raises them).
create sequence vg.supervisory_objections_id_seq;
create table vg.supervisory_objections (
    village_code bigint not null references vg.org_units (code),
    id bigint not null default nextval('vg.supervisory_objections_id_seq'),
    subject text not null,
    body text not null,
    raised_by bigint not null references vg.accounts (id),
    raised_at timestamptz not null default now(),
    task_assignee bigint,
    task_id bigint,
    primary key (village_code, id),
    foreign key (task_assignee, task_id) references vg.tasks (assignee_code, id)
);
alter sequence vg.supervisory_objections_id_seq owned by vg.supervisory_objections.id;
create unique index supervisory_objections_id on vg.supervisory_objections (id);
create index supervisory_objections_open on vg.supervisory_objections (raised_at) where task_id is null;

-- Is a village's disclosure notice signed off, where the village has a supervisory
-- committee in office (a village without one yet is judged on publication alone).
create function vg.disclosure_counts(p_village bigint, p_notice bigint) returns boolean
language sql stable parallel safe as $$
    select exists (select 1 from vg.supervisory_signoffs s
                    where s.village_code = p_village and s.subject = 'DISCLOSURE'
                      and s.notice_id = p_notice)
        or not exists (select 1 from vg.cadres k
                        where k.village_code = p_village and k.body = 'SUPERVISORY_COMMITTEE'
                          and vg.in_term(k.term_start, k.term_end, vg.shanghai_today()))
$$;

-- ------------------------------------------------------------------ resolutions carried out
create table vg.resolution_executions (
    village_code bigint not null,
    consultation_id bigint not null,
    responsible_cadre bigint not null,
    started_by bigint not null references vg.accounts (id),
    started_at timestamptz not null default now(),
    primary key (village_code, consultation_id),
    foreign key (village_code, consultation_id) references vg.consultations (village_code, id),
    foreign key (village_code, responsible_cadre) references vg.cadres (village_code, id)
);

create sequence vg.execution_milestones_id_seq;
create table vg.execution_milestones (
    village_code bigint not null,
    id bigint not null default nextval('vg.execution_milestones_id_seq'),
    consultation_id bigint not null,
    title text not null,
    due_on date not null,
    completed_at timestamptz,
    completed_by bigint references vg.accounts (id),
    completion_note text,
    overdue_task_assignee bigint,
    overdue_task_id bigint,
    created_by bigint not null references vg.accounts (id),
    created_at timestamptz not null default now(),
    primary key (village_code, id),
    foreign key (village_code, consultation_id) references vg.resolution_executions (village_code, consultation_id),
    foreign key (overdue_task_assignee, overdue_task_id) references vg.tasks (assignee_code, id)
);
alter sequence vg.execution_milestones_id_seq owned by vg.execution_milestones.id;
create unique index execution_milestones_id on vg.execution_milestones (id);
create index execution_milestones_due on vg.execution_milestones (due_on)
    where completed_at is null and overdue_task_id is null;

create table vg.execution_links (
    village_code bigint not null,
    consultation_id bigint not null,
    kind text not null check (kind in ('FINANCE_ENTRY', 'TASK')),
    target_id bigint not null,
    linked_by bigint not null references vg.accounts (id),
    linked_at timestamptz not null default now(),
    primary key (village_code, consultation_id, kind, target_id),
    foreign key (village_code, consultation_id) references vg.resolution_executions (village_code, consultation_id)
);

-- Only a passed binding resolution is carried out; the responsible cadre serves the
-- village committee; links point at the village's own finance entries and tasks.
create function vg.execution_check() returns trigger
language plpgsql security definer set search_path = pg_catalog, vg, pg_temp as $$
begin
    if tg_table_name = 'resolution_executions' then
        if not exists (select 1 from vg.consultations c
                        where c.village_code = new.village_code and c.id = new.consultation_id
                          and c.closed_at is not null and c.passed and vg.rule_is_binding(c.rule)) then
            raise exception 'only a binding resolution that passed is carried out' using errcode = '55000';
        end if;
        if not exists (select 1 from vg.cadres k
                        where k.village_code = new.village_code and k.id = new.responsible_cadre
                          and k.body in ('COMMITTEE', 'PARTY_BRANCH')
                          and vg.in_term(k.term_start, k.term_end, vg.shanghai_today())) then
            raise exception 'the responsible cadre must serve the village committee or party branch'
                using errcode = '23514';
        end if;
    elsif tg_table_name = 'execution_links' then
        if new.kind = 'FINANCE_ENTRY' and not exists (
               select 1 from vg.finance_entries f where f.village_code = new.village_code and f.id = new.target_id)
           or new.kind = 'TASK' and not exists (
               select 1 from vg.tasks t where t.assignee_code = new.village_code and t.id = new.target_id) then
            raise exception 'no such % in this village', lower(new.kind) using errcode = '23503';
        end if;
    end if;
    return new;
end
$$;
create trigger resolution_executions_check before insert on vg.resolution_executions
    for each row execute function vg.execution_check();
create trigger execution_links_check before insert on vg.execution_links
    for each row execute function vg.execution_check();

-- 民主评议: a year's review opened by the village's staff; members rate once, in secret;
-- the tally is readable when the review has closed (vg.execution_review_tally).
create table vg.execution_reviews (
    village_code bigint not null references vg.org_units (code),
    year integer not null check (year between 2000 and 2100),
    opened_by bigint not null references vg.accounts (id),
    opened_at timestamptz not null default now(),
    closes_at timestamptz not null,
    primary key (village_code, year),
    check (closes_at > opened_at)
);
create table vg.execution_ratings (
    village_code bigint not null,
    year integer not null,
    resident_village bigint not null,
    resident_id bigint not null,
    rating text not null check (rating in ('SATISFIED', 'BASICALLY_SATISFIED', 'DISSATISFIED')),
    primary key (village_code, year, resident_village, resident_id),
    foreign key (village_code, year) references vg.execution_reviews (village_code, year)
);

create function vg.execution_rating_window() returns trigger
language plpgsql security definer set search_path = pg_catalog, vg, pg_temp as $$
begin
    perform 1 from vg.execution_reviews
     where village_code = new.village_code and year = new.year and now() < closes_at for share;
    if not found then
        raise exception 'the review of % is closed', new.year using errcode = '55000';
    end if;
    return new;
end
$$;
create trigger execution_ratings_window before insert on vg.execution_ratings
    for each row execute function vg.execution_rating_window();

create function vg.execution_review_tally(p_village bigint, p_year integer)
returns table (satisfied bigint, basically_satisfied bigint, dissatisfied bigint, ratings bigint,
               closed boolean)
language sql stable security definer set search_path = pg_catalog, vg, pg_temp as $$
    select count(*) filter (where x.rating = 'SATISFIED' and closed),
           count(*) filter (where x.rating = 'BASICALLY_SATISFIED' and closed),
           count(*) filter (where x.rating = 'DISSATISFIED' and closed),
           count(x.*), closed
      from vg.execution_reviews v
      cross join lateral (select now() >= v.closes_at) as s (closed)
      left join vg.execution_ratings x on x.village_code = v.village_code and x.year = v.year
     where v.village_code = p_village and v.year = p_year
       and (v.village_code <@ vg.read_scope() or v.village_code = any (vg.member_villages()))
     group by closed
$$;

-- ------------------------------------------------------------------ RLS and grants
alter table vg.decision_rules enable row level security;
alter table vg.decision_rules force row level security;
grant select on vg.decision_rules to vg_request;
grant insert (city_code, rule, quorum_num, quorum_den, quorum_strict, household_num, household_den,
              majority_num, majority_den, min_published_ballots, convene_within_days,
              wording_passed, wording_no_majority, wording_invalid, wording_turnout_only, set_by)
    on vg.decision_rules to vg_request;
grant update (quorum_num, quorum_den, quorum_strict, household_num, household_den, majority_num,
              majority_den, min_published_ballots, convene_within_days, wording_passed,
              wording_no_majority, wording_invalid, wording_turnout_only, set_by)
    on vg.decision_rules to vg_request;
alter table vg.ballot_proxies enable row level security;
alter table vg.ballot_proxies force row level security;
grant select on vg.ballot_proxies to vg_request;
grant insert (village_code, consultation_id, principal_village, principal_id, proxy_village,
              proxy_id, authorized_by) on vg.ballot_proxies to vg_request;
grant insert (channel, recorded_by, witness_cadre, proxy_village, proxy_id) on vg.ballots to vg_request;
alter table vg.consultation_proposals enable row level security;
alter table vg.consultation_proposals force row level security;
grant select on vg.consultation_proposals to vg_request;
grant insert (village_code, title, description, options, rule, proposer_village, proposer_id,
              proposed_by) on vg.consultation_proposals to vg_request;
grant update (consultation_id) on vg.consultation_proposals to vg_request;
alter table vg.proposal_supporters enable row level security;
alter table vg.proposal_supporters force row level security;
grant select on vg.proposal_supporters to vg_request;
grant insert (village_code, proposal_id, resident_village, resident_id, supported_by)
    on vg.proposal_supporters to vg_request;
alter table vg.supervisory_signoffs enable row level security;
alter table vg.supervisory_signoffs force row level security;
grant select on vg.supervisory_signoffs to vg_request;
grant insert (village_code, subject, period, notice_id, note, signed_by) on vg.supervisory_signoffs to vg_request;
alter table vg.supervisory_objections enable row level security;
alter table vg.supervisory_objections force row level security;
grant select on vg.supervisory_objections to vg_request;
grant insert (village_code, subject, body, raised_by) on vg.supervisory_objections to vg_request;
alter table vg.resolution_executions enable row level security;
alter table vg.resolution_executions force row level security;
grant select on vg.resolution_executions to vg_request;
grant insert (village_code, consultation_id, responsible_cadre, started_by) on vg.resolution_executions to vg_request;
alter table vg.execution_milestones enable row level security;
alter table vg.execution_milestones force row level security;
grant select on vg.execution_milestones to vg_request;
grant insert (village_code, consultation_id, title, due_on, created_by) on vg.execution_milestones to vg_request;
grant update (completed_at, completed_by, completion_note) on vg.execution_milestones to vg_request;
alter table vg.execution_links enable row level security;
alter table vg.execution_links force row level security;
grant select on vg.execution_links to vg_request;
grant insert (village_code, consultation_id, kind, target_id, linked_by) on vg.execution_links to vg_request;
alter table vg.execution_reviews enable row level security;
alter table vg.execution_reviews force row level security;
grant select on vg.execution_reviews to vg_request;
grant insert (village_code, year, opened_by, closes_at) on vg.execution_reviews to vg_request;
alter table vg.execution_ratings enable row level security;
alter table vg.execution_ratings force row level security;
grant select on vg.execution_ratings to vg_request;
grant insert (village_code, year, resident_village, resident_id, rating) on vg.execution_ratings to vg_request;
grant usage on sequence vg.consultation_proposals_id_seq, vg.supervisory_signoffs_id_seq,
    vg.supervisory_objections_id_seq, vg.execution_milestones_id_seq to vg_request, vg_worker;

-- Decision rules: every caller with a context reads them; a city's officials set them.
create policy decision_rules_read on vg.decision_rules for select using ((select vg.has_context()));
create policy decision_rules_set on vg.decision_rules for insert with check (
    city_code <@ (select vg.write_scope()) and city_code % 100000000 = 0
    and set_by = (select vg.account_id())
);
create policy decision_rules_change on vg.decision_rules for update
    using (city_code <@ (select vg.write_scope()) and city_code % 100000000 = 0)
    with check (city_code <@ (select vg.write_scope()) and set_by = (select vg.account_id()));

-- App ballots by the elector, proxy ballots by an authorised proxy, paper ballots by the
-- village's staff (the trigger checks the witness).
drop policy ballots_cast on vg.ballots;
create policy ballots_cast on vg.ballots for insert with check (
    channel = 'APP'
    and resident_village = (select vg.household_village())
    and resident_id = (select vg.resident_id())
    and village_code = any ((select vg.member_villages())::bigint[])
);
create policy ballots_cast_by_proxy on vg.ballots for insert with check (
    channel = 'PROXY'
    and proxy_village = (select vg.household_village())
    and proxy_id = (select vg.resident_id())
    and village_code = any ((select vg.member_villages())::bigint[])
);
create policy ballots_record_paper on vg.ballots for insert with check (
    channel = 'PAPER'
    and village_code <@ (select vg.write_scope())
    and recorded_by = (select vg.account_id())
);

-- Who holds whose proxy: the two of them and the village's staff; the elector authorises,
-- or the staff record a written authorisation.
create policy ballot_proxies_read on vg.ballot_proxies for select using (
    village_code <@ (select vg.read_scope())
    or (principal_village = (select vg.household_village()) and principal_id = (select vg.resident_id()))
    or (proxy_village = (select vg.household_village()) and proxy_id = (select vg.resident_id()))
);
create policy ballot_proxies_authorize on vg.ballot_proxies for insert with check (
    authorized_by = (select vg.account_id())
    and ((principal_village = (select vg.household_village()) and principal_id = (select vg.resident_id()))
         or village_code <@ (select vg.write_scope()))
);

create policy consultation_proposals_read on vg.consultation_proposals for select using (
    village_code <@ (select vg.read_scope())
    or village_code = any ((select vg.member_villages())::bigint[])
);
create policy consultation_proposals_propose on vg.consultation_proposals for insert with check (
    village_code = (select vg.household_village())
    and proposer_village = (select vg.household_village())
    and proposer_id = (select vg.resident_id())
    and proposed_by = (select vg.account_id())
);
create policy consultation_proposals_schedule on vg.consultation_proposals for update
    using (village_code <@ (select vg.write_scope()))
    with check (village_code <@ (select vg.write_scope()));
create policy proposal_supporters_read on vg.proposal_supporters for select using (
    village_code <@ (select vg.read_scope())
    or village_code = any ((select vg.member_villages())::bigint[])
);
create policy proposal_supporters_support on vg.proposal_supporters for insert with check (
    resident_village = (select vg.household_village())
    and resident_id = (select vg.resident_id())
    and supported_by = (select vg.account_id())
);

create policy supervisory_signoffs_read on vg.supervisory_signoffs for select using (
    village_code <@ (select vg.read_scope())
    or village_code = any ((select vg.member_villages())::bigint[])
);
create policy supervisory_signoffs_sign on vg.supervisory_signoffs for insert with check (
    village_code = any ((select vg.supervisor_villages())::bigint[])
    and signed_by = (select vg.account_id())
);
create policy supervisory_objections_read on vg.supervisory_objections for select using (
    village_code <@ (select vg.read_scope())
    or village_code = any ((select vg.member_villages())::bigint[])
);
create policy supervisory_objections_raise on vg.supervisory_objections for insert with check (
    village_code = any ((select vg.supervisor_villages())::bigint[])
    and raised_by = (select vg.account_id())
);

create policy resolution_executions_read on vg.resolution_executions for select using (
    village_code <@ (select vg.read_scope())
    or village_code = any ((select vg.member_villages())::bigint[])
);
create policy resolution_executions_start on vg.resolution_executions for insert with check (
    village_code <@ (select vg.write_scope()) and started_by = (select vg.account_id())
);
create policy execution_milestones_read on vg.execution_milestones for select using (
    village_code <@ (select vg.read_scope())
    or village_code = any ((select vg.member_villages())::bigint[])
);
create policy execution_milestones_plan on vg.execution_milestones for insert with check (
    village_code <@ (select vg.write_scope()) and created_by = (select vg.account_id())
);
create policy execution_milestones_complete on vg.execution_milestones for update
    using (village_code <@ (select vg.write_scope()))
    with check (village_code <@ (select vg.write_scope()) and completed_by = (select vg.account_id()));
create policy execution_links_read on vg.execution_links for select using (
    village_code <@ (select vg.read_scope())
    or village_code = any ((select vg.member_villages())::bigint[])
);
create policy execution_links_link on vg.execution_links for insert with check (
    village_code <@ (select vg.write_scope()) and linked_by = (select vg.account_id())
);
create policy execution_reviews_read on vg.execution_reviews for select using (
    village_code <@ (select vg.read_scope())
    or village_code = any ((select vg.member_villages())::bigint[])
);
create policy execution_reviews_open on vg.execution_reviews for insert with check (
    village_code <@ (select vg.write_scope()) and opened_by = (select vg.account_id())
);
-- A rating is secret like a ballot: only its rater reads it.
create policy execution_ratings_read on vg.execution_ratings for select using (
    resident_village = (select vg.household_village()) and resident_id = (select vg.resident_id())
);
create policy execution_ratings_rate on vg.execution_ratings for insert with check (
    village_code = (select vg.household_village())
    and resident_village = (select vg.household_village())
    and resident_id = (select vg.resident_id())
);

-- The worker reads and writes every new table, as in 0013 (never DELETE).
do $$
declare
    t text;
begin
    foreach t in array array['decision_rules', 'ballot_proxies', 'consultation_proposals',
        'proposal_supporters', 'supervisory_signoffs', 'supervisory_objections',
        'resolution_executions', 'execution_milestones', 'execution_links',
        'execution_reviews', 'execution_ratings']
    loop
        execute format('grant select, insert, update on vg.%I to vg_worker', t);
        execute format('create policy %I on vg.%I to vg_worker using (true) with check (true)',
                       t || '_all_worker', t);
    end loop;
end
$$;

-- Functions: invokers to the request and worker roles; definers one by one.
grant execute on function vg.rule_is_binding(text), vg.statutory_decision_rule(text),
    vg.decision_rule(bigint, text),
    vg.decide_consultation(vg.decision_rules, bigint[], bigint, bigint, bigint, bigint),
    vg.in_term(date, date, date), vg.shanghai_today(), vg.supervisor_villages(),
    vg.disclosure_counts(bigint, bigint)
    to vg_request, vg_worker;
grant execute on function vg.consultation_channels(bigint[]), vg.execution_review_tally(bigint, integer)
    to vg_request;

