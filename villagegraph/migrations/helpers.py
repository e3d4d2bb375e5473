"""Small SQL builders shared by the domain migrations, so every tenant table is guarded alike."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from alembic import op


def guard_tenant_table(table: str, *, read_only: bool = False) -> None:
    """Turn on forced row-level security and give the request role its privileges.

    Policies are written next to each table in its migration; without one, the request
    role sees nothing (fail closed).
    """
    op.execute(f"alter table vg.{table} enable row level security")
    op.execute(f"alter table vg.{table} force row level security")
    privileges = "select" if read_only else "select, insert"
    op.execute(f"grant {privileges} on vg.{table} to vg_request")


@contextmanager
def as_owner() -> Iterator[None]:
    """Create the objects of the block as the owner role, so they belong to `vg_owner`."""
    op.execute("set local role vg_owner")
    op.execute("set local search_path = vg, public")
    yield
    op.execute("reset role")
