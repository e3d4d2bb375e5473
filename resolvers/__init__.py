"""What each field does: SQL and DataLoaders, one module per domain.

Resolvers never decide visibility; the RLS policies do. They run every statement through
the request's ScopedSession, batch relations through DataLoaders, and aggregate in SQL.
"""
