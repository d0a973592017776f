"""`jaxjudge serve` (the online judge: web service and graders) and `jaxjudge worker` (more
graders for a server's queue, on any machine)."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from grader.cli.exits import EXIT_FAILED, EXIT_OK


def settings_from(args: argparse.Namespace) -> Any:
    """Settings from JAXJUDGE_* variables, with the flags given on top."""
    from grader.service.settings import Settings

    flags = {"data": "data", "database": "database", "queue": "queue", "jobs": "jobs",
             "backend": "backend", "slot_base": "slot_base"}
    given = {field: getattr(args, flag) for flag, field in flags.items()
             if getattr(args, flag, None) is not None}
    return Settings(**given)


def store_flags(p: argparse.ArgumentParser, jobs_help: str) -> None:
    p.add_argument("--data", type=Path, help="data folder (default ./.jaxjudge-data)")
    p.add_argument("--database", help="SQLAlchemy URL (default: SQLite in the data folder)")
    p.add_argument("--queue", help="sqlite:///PATH or redis://HOST:PORT/DB "
                                   "(default: SQLite in the data folder)")
    p.add_argument("--jobs", type=int, help=jobs_help)
    p.add_argument("--backend", choices=["local", "docker"], help="sandbox (default local)")
    p.add_argument("--slot-base", type=int, help="first sandbox slot (jail uid 60000+slot)")


def cmd_serve(_: Console, args: argparse.Namespace) -> int:
    import uvicorn

    from grader.service.logs import configure
    from grader.service.web.app import create_app
    from grader.service.web.conns import protocol

    configure()
    settings = settings_from(args)
    app = create_app(settings)
    # uvicorn restores the handler it found and raises the signal again once it has shut down
    # (the graders have finished by then): with the default handler that is death by SIGTERM;
    # a stop that was asked for and went well exits 0.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(EXIT_OK))
    # Forwarding headers (X-Forwarded-For, -Proto) are believed from the configured proxies
    # only: uvicorn's default would believe anyone on 127.0.0.1 (FORWARDED_ALLOW_IPS too).
    # Every request is one uvicorn has read within the deadlines of `conns`.
    # log_config=None: uvicorn's own lines go through the JSON-lines handler too.
    proxies = settings.trusted_proxies.strip()
    uvicorn.run(app, host=args.host, port=args.port, log_level="info", access_log=False,
                timeout_graceful_shutdown=10, log_config=None,
                http=protocol(settings.header_timeout, settings.body_timeout),
                proxy_headers=bool(proxies), forwarded_allow_ips=proxies or "",
                timeout_keep_alive=settings.keep_alive_timeout,
                limit_concurrency=settings.max_connections)
    return EXIT_OK


def cmd_worker(_: Console, args: argparse.Namespace) -> int:
    from grader.service.grading.workers import Workers
    from grader.service.logs import configure
    from grader.service.store.db import Database

    configure()
    settings = settings_from(args)
    settings.prepare()
    if settings.jobs < 1:
        settings.jobs = 1
    db = Database(settings.database_url())
    db.migrate()
    Workers(settings, db).run()
    return EXIT_OK


def cmd_migrate(console: Console, args: argparse.Namespace) -> int:
    """The schema to head (what serve, worker and admin do at start-up), or --check it."""
    from grader.service.store.db import Database
    from grader.service.store.migrate import current, head

    settings = settings_from(args)
    settings.prepare()
    db = Database(settings.database_url())
    where = db.engine.url.render_as_string(hide_password=True)
    try:
        before, newest = current(db.engine), head()
        if args.check:
            if before == newest:
                print(f"{where}: at {newest} (head)")
                return EXIT_OK
            print(f"{where}: at {before or 'no revision'}; head is {newest}: "
                  f"run `jaxjudge migrate`")
            return EXIT_FAILED
        db.migrate()
        print(f"{where}: {before or 'no revision'} -> {current(db.engine)} (head)"
              if before != newest else f"{where}: at {newest} (head), nothing to do")
        return EXIT_OK
    finally:
        db.engine.dispose()


def add_commands(sub: Any) -> None:
    serve = sub.add_parser("serve", help="the online judge: web service and graders")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    store_flags(serve, "graders in this process (default 1; 0 = web only)")
    serve.set_defaults(run=cmd_serve)
    worker = sub.add_parser("worker", help="extra graders for a server's queue, on any machine")
    store_flags(worker, "graders in this process (default 1)")
    worker.set_defaults(run=cmd_worker)
    migrate = sub.add_parser(
        "migrate", help="bring the database's schema to this judge's newest revision "
        "(serve, worker and admin do it at start-up, one process at a time)")
    migrate.add_argument("--check", action="store_true",
                         help="change nothing: exit 0 at the newest revision, 1 if behind")
    migrate.add_argument("--data", type=Path, help="data folder (default ./.jaxjudge-data)")
    migrate.add_argument("--database",
                         help="SQLAlchemy URL (default: SQLite in the data folder)")
    migrate.set_defaults(run=cmd_migrate)
