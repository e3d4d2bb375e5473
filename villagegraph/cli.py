"""The `villagegraph` command: serve, migrate, seed, worker, schema, plan, audit verify, db-url.

Every command takes --home and --log-format (text, the default, or json); docs/API.md,
"Commands", lists each command and flag with its default.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import os
import signal
import sys
from typing import Any

from villagegraph import roles
from villagegraph.config import Settings, home_path
from villagegraph.database import (
    Database,
    bootstrap,
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
    from villagegraph.server.processes import ServeOptions, bind, serve

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
    try:
        sock = bind(args.host, args.port)
    except OSError as error:
        log.error("cannot listen on %s:%s: %s", args.host, args.port, error.strerror or error)
        return 1
    workers = args.workers or default_workers()
    log.info(
        "serving GraphQL at http://%s:%s/graphql on %s with %d worker process%s",
        args.host,
        args.port,
        where,
        workers,
        "" if workers == 1 else "es",
    )
    # uvicorn re-raises the signal that stopped it once it has shut down; with these
    # handlers that becomes an exception, so the embedded database is stopped on the way
    # out (atexit) instead of the process dying with it still running.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    options = ServeOptions(
        args.host, args.port, workers, args.log_format, uvicorn=uvicorn_options(settings)
    )
    try:
        return serve(settings, db, sock, options)
    except KeyboardInterrupt:
        return 0


def default_workers() -> int:
    """`serve --workers` default: one process per core."""
    return os.cpu_count() or 1


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    db = _database(settings)
    if args.create_roles and db.embedded_home is None:
        # The embedded server is bootstrapped on every start; an external server here, as
        # the admin of VILLAGEGRAPH_DATABASE_URL. The migrations then log in as vg_owner.
        asyncio.run(bootstrap(db))
        log.info(
            "roles vg_owner, vg_request, vg_login and vg_worker ready; the database is vg_owner's"
        )
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
        if seeded:
            print("seeded the demo data")
            return 0
        return _refuse_seed(settings)
    from villagegraph.seed.scale import SCALES, seed_scale

    summary = asyncio.run(seed_scale(db.url("owner"), SCALES[args.scale]))
    if summary is None:
        return _refuse_seed(settings)
    print(summary.text())
    return 0


def _refuse_seed(settings: Settings) -> int:
    where = "VILLAGEGRAPH_DATABASE_URL" if settings.database_url else f"--home {settings.home}"
    print(
        f"refused: the database of {where} already holds data; nothing was changed.\n"
        "hint: seed into an empty home (`villagegraph seed --home DIR ...`) or an empty "
        "database; `villagegraph serve --home DIR` then serves it.",
        file=sys.stderr,
    )
    return 1


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


def cmd_plan(args: argparse.Namespace, settings: Settings) -> int:
    """Show how an operation runs: the compiled statement, or why it falls back."""
    from villagegraph.compiler import Compiler
    from villagegraph.schema import build_schema, graphql_core_schema

    query = args.query if args.query is not None else sys.stdin.read()
    variables = json.loads(args.variables) if args.variables else {}
    compiler = Compiler(graphql_core_schema(build_schema()), settings.max_depth)
    print(compiler.explain(query, args.operation, variables))
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


class _Defaults(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except for flags and options that say theirs."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default in (None, False, argparse.SUPPRESS) or "default" in text:
            return text
        return super()._get_help_string(action) or text


def _scan_names() -> list[str]:
    from villagegraph.domains import DOMAINS

    return [scan for domain in DOMAINS for scan in domain.scans]


def _common_options() -> argparse.ArgumentParser:
    """The options every command takes."""
    from villagegraph.logs import DEFAULT_FORMAT, FORMATS

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--home",
        help="VILLAGEGRAPH_HOME: the embedded database, secrets and keys "
        "(default: $VILLAGEGRAPH_HOME, else ./.villagegraph)",
    )
    common.add_argument(
        "--log-format",
        choices=FORMATS,
        default=DEFAULT_FORMAT,
        help="log records as plain text lines or one JSON object per line",
    )
    return common


def parser() -> argparse.ArgumentParser:
    common = _common_options()
    root = argparse.ArgumentParser(prog="villagegraph", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)

    def command(name: str, help: str, description: str | None = None) -> argparse.ArgumentParser:
        return commands.add_parser(
            name,
            help=help,
            description=description or help,
            parents=[common],
            formatter_class=_Defaults,
        )

    _serve_command(command("serve", "run the GraphQL service"))

    migrate = command("migrate", "apply migrations")
    migrate.add_argument(
        "--create-roles",
        action="store_true",
        help="first, as the admin of VILLAGEGRAPH_DATABASE_URL, create (or update) the LOGIN "
        "roles and hand the database to vg_owner; the migrations run as vg_owner either way",
    )
    migrate.set_defaults(handler=cmd_migrate)

    db_url = command("db-url", "print the database URL of one role (for psql)")
    db_url.add_argument(
        "--role", default="request", choices=[roles.ADMIN, *roles.ROLES], help="the role"
    )
    db_url.set_defaults(handler=cmd_db_url)

    seed = command(
        "seed",
        "generate data into an empty database",
        "Generate data into an empty database; refuses (exit 1) when it holds data.",
    )
    seed.add_argument(
        "--scale",
        default="demo",
        choices=["demo", "town", "county", "wenzhou"],
        help="demo: the accounts of docs/API.md; town/county/wenzhou: generated benchmark data",
    )
    seed.set_defaults(handler=cmd_seed)

    scans = ", ".join(_scan_names())
    worker = command(
        "worker",
        "run the periodic scans and deliver the outbox",
        f"Every pass runs the scans ({scans}), then delivers the outbox's due messages.",
    )
    worker.add_argument("--once", action="store_true", help="one pass, then exit (for cron)")
    worker.set_defaults(handler=cmd_worker)

    command("schema", "print the SDL").set_defaults(handler=cmd_schema)

    _plan_command(
        command("plan", "print the compiled SQL of an operation, or why it is not compiled")
    )

    audit = command("audit", "audit log tools")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    audit_commands.add_parser(
        "verify",
        help="check the audit hash chain; exit 1 at the first broken link",
        parents=[common],
        formatter_class=_Defaults,
    ).set_defaults(handler=cmd_audit_verify)
    return root


def _plan_command(plan: argparse.ArgumentParser) -> None:
    plan.add_argument("--query", help="the GraphQL document (default: read from stdin)")
    plan.add_argument("--operation", help="the operation name, when there are several")
    plan.add_argument("--variables", help="the variables, as a JSON object")
    plan.set_defaults(handler=cmd_plan)


def _serve_command(serve: argparse.ArgumentParser) -> None:
    serve.add_argument("--host", default=Settings.host, help="address to listen on")
    serve.add_argument("--port", type=int, default=Settings.port, help="port to listen on")
    serve.add_argument(
        "--workers",
        type=int,
        default=0,
        help="serving processes sharing the port (default: 0, one per core: "
        f"{default_workers()} here). Rate limits, persisted queries and subscriptions are "
        "shared through the database",
    )
    serve.add_argument(
        "--demo",
        action="store_true",
        help="seed the demo data into an empty database (also VILLAGEGRAPH_DEMO=true)",
    )
    serve.add_argument(
        "--no-migrate",
        action="store_true",
        help="neither migrate nor seed: connect only as vg_request and vg_login (a separate "
        "`villagegraph migrate` ran as vg_owner)",
    )
    serve.add_argument(
        "--forwarded-allow-ips",
        default=None,
        help="proxy addresses whose X-Forwarded-For is trusted (comma-separated, or *); "
        "default VILLAGEGRAPH_FORWARDED_ALLOW_IPS, else none",
    )
    serve.set_defaults(handler=cmd_serve)


def main(argv: list[str] | None = None) -> int:
    from villagegraph.logs import configure_logging, quiet_libraries

    quiet_libraries()
    args = parser().parse_args(argv)
    configure_logging(args.log_format)
    settings = Settings.from_env()
    if args.home:
        settings = dataclasses.replace(settings, home=home_path(args.home))
    return int(args.handler(args, settings))


if __name__ == "__main__":
    raise SystemExit(main())
