-- 0024_democracy downgrade: refused. Going back would drop the supervisory committee's
-- sign-offs, paper and proxy ballots and execution records, and return representatives to
-- a free tag; restore a backup taken before the upgrade instead.
do $$
begin
    raise exception '0024_democracy cannot be downgraded: restore a backup instead';
end
$$;
