-- 0001_core downgrade: sent as is, in one transaction, by versions/0001_core.py.
-- Conventions: docs/CONVENTIONS.md.

drop schema vg cascade;
