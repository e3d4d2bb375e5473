-- 0020_accounts_disclosures upgrade: sent as is, in one transaction, by versions/0020_accounts_disclosures.py.
-- Conventions: docs/CONVENTIONS.md.

set local search_path = vg, public;

-- ------------------------------------------------------------------ chart of accounts
-- 会计科目: the first-level subjects of 《村集体经济组织会计制度》 (财政部 财会〔2004〕12号,
-- in force since 2005-01-01), 附录 会计科目表. city_code null: the national chart; a city
-- adds its own detail subjects (明细科目) under a national one. Only 损益类 subjects carry a
-- direction, and only they can be a finance entry's or a budget's category.
create table vg.account_subjects (
    city_code bigint references vg.org_units (code),
    code text not null check (code ~ '^[0-9]{3,9}$'),
    name text not null check (length(name) between 1 and 30),
    class text not null check (class in ('ASSET', 'LIABILITY', 'EQUITY', 'COST', 'PROFIT_AND_LOSS')),
    direction text check (direction in ('INCOME', 'EXPENSE')),
    parent_code text,
    added_by bigint references vg.accounts (id),
    check ((class = 'PROFIT_AND_LOSS') = (direction is not null)),
    check (city_code is null or city_code % 100000000 = 0),
    unique nulls not distinct (city_code, code)
);
create unique index account_subjects_name on vg.account_subjects (coalesce(city_code, 0), name);
insert into vg.account_subjects (code, name, class, direction) values
    ('101', '现金', 'ASSET', null),
    ('102', '银行存款', 'ASSET', null),
    ('111', '短期投资', 'ASSET', null),
    ('112', '应收款', 'ASSET', null),
    ('113', '内部往来', 'ASSET', null),
    ('121', '库存物资', 'ASSET', null),
    ('131', '牲畜（禽）资产', 'ASSET', null),
    ('132', '林木资产', 'ASSET', null),
    ('141', '长期投资', 'ASSET', null),
    ('151', '固定资产', 'ASSET', null),
    ('152', '累计折旧', 'ASSET', null),
    ('153', '固定资产清理', 'ASSET', null),
    ('154', '在建工程', 'ASSET', null),
    ('201', '短期借款', 'LIABILITY', null),
    ('202', '应付款', 'LIABILITY', null),
    ('211', '应付工资', 'LIABILITY', null),
    ('212', '应付福利费', 'LIABILITY', null),
    ('221', '长期借款及应付款', 'LIABILITY', null),
    ('231', '一事一议资金', 'LIABILITY', null),
    ('301', '资本', 'EQUITY', null),
    ('311', '公积公益金', 'EQUITY', null),
    ('321', '本年收益', 'EQUITY', null),
    ('322', '收益分配', 'EQUITY', null),
    ('401', '生产（劳务）成本', 'COST', null),
    ('501', '经营收入', 'PROFIT_AND_LOSS', 'INCOME'),
    ('502', '经营支出', 'PROFIT_AND_LOSS', 'EXPENSE'),
    ('511', '发包及上交收入', 'PROFIT_AND_LOSS', 'INCOME'),
    ('521', '农业税附加返还收入', 'PROFIT_AND_LOSS', 'INCOME'),
    ('522', '补助收入', 'PROFIT_AND_LOSS', 'INCOME'),
    ('531', '其他收入', 'PROFIT_AND_LOSS', 'INCOME'),
    ('541', '投资收益', 'PROFIT_AND_LOSS', 'INCOME'),
    ('551', '管理费用', 'PROFIT_AND_LOSS', 'EXPENSE'),
    ('552', '其他支出', 'PROFIT_AND_LOSS', 'EXPENSE');

alter table vg.account_subjects enable row level security;
alter table vg.account_subjects force row level security;
grant select on vg.account_subjects to vg_request;
grant insert (city_code, code, name, class, direction, parent_code, added_by)
    on vg.account_subjects to vg_request;
-- Reference data: the chart is public (anonymous callers included), to any request with a
-- verified context. A city's own officials add its detail subjects.
create policy account_subjects_read on vg.account_subjects for select using (
    (select vg.has_context())
);
create policy account_subjects_add on vg.account_subjects for insert with check (
    city_code <@ (select vg.write_scope()) and city_code % 100000000 = 0
    and added_by = (select vg.account_id())
);

-- Whether (code, name) is a 损益类 subject of `direction` in the village's chart (national
-- or its city's); a null code matches by name.
create function vg.finance_subject(p_village bigint, p_direction text, p_code text, p_name text)
returns boolean
language sql stable parallel safe as $$
    select exists (
        select 1 from vg.account_subjects s
         where s.name = p_name and (p_code is null or s.code = p_code)
           and s.direction = p_direction
           and (s.city_code is null or s.city_code = p_village - p_village % 100000000))
$$;
revoke execute on function vg.finance_subject(bigint, text, text, text) from public;
grant execute on function vg.finance_subject(bigint, text, text, text) to vg_request;

-- ------------------------------------------------------------------ approval threshold
-- 小微权力清单: per city, an expense above the threshold needs a second cadre's approval.
create table vg.finance_rules (
    city_code bigint primary key references vg.org_units (code)
        check (city_code % 100000000 = 0),
    approval_threshold numeric(14, 2) check (approval_threshold > 0),  -- null: none
    set_by bigint references vg.accounts (id)
);
alter table vg.finance_rules enable row level security;
alter table vg.finance_rules force row level security;
grant select on vg.finance_rules to vg_request;
grant insert (city_code, approval_threshold, set_by) on vg.finance_rules to vg_request;
grant update (approval_threshold, set_by) on vg.finance_rules to vg_request;
create policy finance_rules_read on vg.finance_rules for select using (
    (select vg.read_scope()) && vg.subtree(city_code)
);
create policy finance_rules_set on vg.finance_rules for insert with check (
    city_code <@ (select vg.write_scope()) and set_by = (select vg.account_id())
);
create policy finance_rules_change on vg.finance_rules for update
    using (city_code <@ (select vg.write_scope()))
    with check (city_code <@ (select vg.write_scope()) and set_by = (select vg.account_id()));

-- ------------------------------------------------------------------ finance entries
alter table vg.finance_entries
    add column subject_code text,
    add column status text not null default 'BOOKED'
        check (status in ('PENDING', 'BOOKED', 'REJECTED')),
    add column decided_by bigint references vg.accounts (id),
    add column decided_at timestamptz,
    add column decision_reason text;

-- Old free-text categories onto the chart. Rents of collective assets are 经营收入 (the
-- system: 经营收入 includes 出租收入; 发包及上交收入 is the contract money for land,
-- orchards, ponds and the profits village enterprises hand over). What no line names goes
-- to 其他收入 / 其他支出 and keeps its old name in the memo.
create temporary table category_map (old text primary key, code text not null) on commit drop;
insert into category_map values
    ('上级补助', '522'), ('上级补助收入', '522'), ('补助收入', '522'), ('财政补助', '522'),
    ('集体资产租金', '501'), ('集体资产出租', '501'), ('租金收入', '501'), ('出租收入', '501'),
    ('经营收入', '501'), ('集体经营收入', '501'),
    ('资产发包收入', '511'), ('发包收入', '511'), ('承包收入', '511'), ('发包及上交收入', '511'),
    ('投资收益', '541'), ('其他收入', '531'),
    ('经营支出', '502'),
    ('干部报酬', '551'), ('办公经费', '551'), ('办公费', '551'), ('办公', '551'), ('管理费用', '551'),
    ('基础设施维护', '552'), ('公益事业', '552'), ('公益事业支出', '552'), ('其他支出', '552');

update vg.finance_entries e
   set subject_code = coalesce((select m.code from category_map m where m.old = e.category),
                               case e.direction when 'INCOME' then '531' else '552' end),
       memo = case when exists (select 1 from category_map m where m.old = e.category) then e.memo
                   else concat_ws(' ', e.memo, '（原类别：' || e.category || '）') end;
update vg.finance_entries e
   set category = s.name
  from vg.account_subjects s
 where s.city_code is null and s.code = e.subject_code and e.category <> s.name;
alter table vg.finance_entries alter column subject_code set not null;

-- Budgets: history keeps its lines renamed; where several old lines now share a subject,
-- a new revision in force carries their sum (the latest revision of a line is in force).
create temporary table budget_in_force on commit drop as
select distinct on (b.village_code, b.year, b.direction, b.category)
       b.village_code, b.year, b.direction, b.category as old, b.amount
  from vg.finance_budgets b
 order by b.village_code, b.year, b.direction, b.category, b.id desc;
update vg.finance_budgets b
   set category = s.name
  from vg.account_subjects s
 where s.city_code is null
   and s.code = coalesce((select m.code from category_map m where m.old = b.category),
                         case b.direction when 'INCOME' then '531' else '552' end);
insert into vg.finance_budgets (village_code, year, direction, category, amount)
select f.village_code, f.year, f.direction, s.name, sum(f.amount)
  from budget_in_force f
  join vg.account_subjects s
    on s.city_code is null
   and s.code = coalesce((select m.code from category_map m where m.old = f.old),
                         case f.direction when 'INCOME' then '531' else '552' end)
 group by f.village_code, f.year, f.direction, s.name
having count(*) > 1;

grant insert (subject_code) on vg.finance_entries to vg_request;
grant update (status, decision_reason) on vg.finance_entries to vg_request;

-- Members read booked entries only (pending and rejected ones are not disclosed); staff
-- read them all.
drop policy finance_entries_read on vg.finance_entries;
create policy finance_entries_read on vg.finance_entries for select using (
    village_code <@ (select vg.read_scope())
    or (status = 'BOOKED' and village_code = any ((select vg.member_villages())::bigint[]))
);
-- A category from the chart, and no month that has not begun (Asia/Shanghai).
create policy finance_entries_record_chart on vg.finance_entries as restrictive for insert
with check (
    vg.finance_subject(village_code, direction, subject_code, category)
    and period <= to_char(now() at time zone 'Asia/Shanghai', 'YYYY-MM')
);
create policy finance_budgets_set_chart on vg.finance_budgets as restrictive for insert
with check (vg.finance_subject(village_code, direction, null, category));
-- A second cadre of the same village decides a pending entry; never the one who recorded it.
create policy finance_entries_approve on vg.finance_entries for update
    using (status = 'PENDING'
           and village_code = any ((select vg.cadre_villages())::bigint[])
           and recorded_by is distinct from (select vg.account_id()))
    with check (status in ('BOOKED', 'REJECTED')
                and village_code = any ((select vg.cadre_villages())::bigint[])
                and recorded_by is distinct from (select vg.account_id()));

-- An expense above its city's threshold is recorded PENDING, whoever inserts it; reads the
-- city's rule past RLS (the recorder may not be able to read it).
create function vg.finance_entry_approval() returns trigger
language plpgsql security definer set search_path = pg_catalog, vg, pg_temp as $$
begin
    if new.reverses_id is null and new.direction = 'EXPENSE' and new.amount > (
        select r.approval_threshold from vg.finance_rules r
         where r.city_code = new.village_code - new.village_code % 100000000) then
        new.status := 'PENDING';
    end if;
    return new;
end
$$;
revoke execute on function vg.finance_entry_approval() from public;
create trigger finance_entries_approval before insert on vg.finance_entries
    for each row execute function vg.finance_entry_approval();

-- The database stamps who decided and when; a decision is made once.
create function vg.finance_entry_decision() returns trigger
language plpgsql as $$
begin
    if (select r.rolbypassrls or r.rolsuper from pg_catalog.pg_roles r
         where r.rolname = current_user) then
        return new;
    end if;
    if old.status <> 'PENDING' or new.status not in ('BOOKED', 'REJECTED') then
        raise exception 'only a pending entry is decided, once'
            using errcode = 'insufficient_privilege';
    end if;
    new.decided_by := vg.account_id();
    new.decided_at := pg_catalog.now();
    return new;
end
$$;
revoke execute on function vg.finance_entry_decision() from public;
create trigger finance_entries_decision before update on vg.finance_entries
    for each row execute function vg.finance_entry_decision();
create index finance_entries_pending on vg.finance_entries (village_code, id)
    where status = 'PENDING';

-- ------------------------------------------------------------------ ledger
-- No entry dated after today (Asia/Shanghai).
create policy ledger_entries_record_dated on vg.ledger_entries as restrictive for insert
with check (occurred_on <= (now() at time zone 'Asia/Shanghai')::date);

-- ------------------------------------------------------------------ disclosures
-- A notice may declare the period it discloses (first month, 'YYYY-MM'), carry attachments
-- ([{url, name, sha256}]), be withdrawn with a reason that stays shown, or be corrected
-- by a later notice naming it and why.
alter table vg.notices
    add column period text check (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    add column attachments jsonb not null default '[]'
        check (jsonb_typeof(attachments) = 'array'),
    add column withdrawn_at timestamptz,
    add column withdrawn_by bigint references vg.accounts (id),
    add column withdrawal_reason text,
    add column corrects_id bigint,
    add column correction_reason text,
    add foreign key (publisher_code, corrects_id) references vg.notices (publisher_code, id),
    add check ((corrects_id is null) = (correction_reason is null)),
    add check ((withdrawn_at is null) = (withdrawal_reason is null));
create unique index notices_correction on vg.notices (publisher_code, corrects_id)
    where corrects_id is not null;
create index notices_disclosed_period on vg.notices (publisher_code, board, period)
    where period is not null;

-- Existing notices on a board with a disclosure rule in their city get the period the old
-- check counted them for: the one whose window (previous deadline, deadline] held them.
update vg.notices n
   set period = (
       select to_char(make_date(extract(year from s.shifted)::int,
                                ((extract(month from s.shifted)::int - 1) / r.period_months)
                                  * r.period_months + 1, 1), 'YYYY-MM')
         from vg.disclosure_rules r
        cross join lateral (
              select (n.published_at at time zone 'Asia/Shanghai')
                     - make_interval(days => r.deadline_day)
                     - make_interval(months => r.deadline_offset_months - r.period_months)
                     as shifted) s
        where r.city_code = n.publisher_code - n.publisher_code % 100000000
          and r.board = n.board)
 where n.publisher_code % 1000 <> 0
   and exists (select 1 from vg.disclosure_rules r
                where r.city_code = n.publisher_code - n.publisher_code % 100000000
                  and r.board = n.board);

-- The table-wide insert grant of 0001 covers the new columns; these keep a request from
-- publishing a notice already withdrawn or disclosing a month that has not begun.
create policy notices_publish_undecided on vg.notices as restrictive for insert with check (
    withdrawn_at is null and withdrawn_by is null and withdrawal_reason is null
    and (period is null or period <= to_char(now() at time zone 'Asia/Shanghai', 'YYYY-MM'))
);
grant update (withdrawal_reason) on vg.notices to vg_request;
create policy notices_withdraw on vg.notices for update
    using (publisher_code <@ (select vg.write_scope()) and withdrawn_at is null)
    with check (publisher_code <@ (select vg.write_scope()));

-- The database stamps the withdrawal; a reason is required and a withdrawal is final.
create function vg.notice_withdrawal() returns trigger
language plpgsql as $$
begin
    if (select r.rolbypassrls or r.rolsuper from pg_catalog.pg_roles r
         where r.rolname = current_user) then
        return new;
    end if;
    if old.withdrawn_at is not null or coalesce(btrim(new.withdrawal_reason), '') = '' then
        raise exception 'a notice is withdrawn once, with a reason'
            using errcode = 'insufficient_privilege';
    end if;
    new.withdrawn_at := pg_catalog.now();
    new.withdrawn_by := vg.account_id();
    return new;
end
$$;
revoke execute on function vg.notice_withdrawal() from public;
create trigger notices_withdrawal before update on vg.notices
    for each row execute function vg.notice_withdrawal();
