-- 0002_affairs downgrade: sent as is, in one transaction, by versions/0002_affairs.py.
-- Conventions: docs/CONVENTIONS.md.

set local search_path = vg, public;
drop table vg.suggestion_replies, vg.suggestions, vg.consultation_comments, vg.ballots,
    vg.consultation_electors, vg.consultations, vg.finance_budgets, vg.finance_entries;
drop function vg.ballot_window_check(), vg.consultation_result(), vg.suggestion_first_answer(),
    vg.suggestion_lifecycle(), vg.consultation_tallies(bigint[]), vg.count_ballots(bigint[]),
    vg.consultation_decision(text, bigint[], bigint, bigint, bigint, bigint);
