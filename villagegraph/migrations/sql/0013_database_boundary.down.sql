-- 0013_database_boundary downgrade: refused. Going back would restore a request context
-- the request role can forge and definer functions anyone may call; restore a backup taken
-- before the upgrade instead.
do $$
begin
    raise exception '0013_database_boundary cannot be downgraded: restore a backup instead';
end
$$;
