"""The service's subcommands (serve, worker, admin, submit), registered by grader/cli.py."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from grader.verdict import Verdict

EXIT_OK, EXIT_FAILED, EXIT_ERROR = 0, 1, 2


def settings_from(args: argparse.Namespace) -> Any:
    """Settings from JAXJUDGE_* variables, with the flags given on top."""
    from grader.service.settings import Settings

    flags = {"data": "data", "database": "database", "queue": "queue", "jobs": "jobs",
             "backend": "backend", "slot_base": "slot_base"}
    given = {field: getattr(args, flag) for flag, field in flags.items()
             if getattr(args, flag, None) is not None}
    return Settings(**given)


def _store(p: argparse.ArgumentParser, jobs_help: str) -> None:
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


def cmd_admin(console: Console, args: argparse.Namespace) -> int:
    from grader.service.store.db import Database
    from grader.service.store.users import create_user

    settings = settings_from(args)
    settings.prepare()
    db = Database(settings.database_url())
    db.migrate()
    user, token, password = create_user(db, args.name, args.role, args.password,
                                        exist_ok=args.exist_ok)
    print(f"user: {user.name} ({user.role})")
    print(f"password: {password}")
    print(f"token: {token}")
    return EXIT_OK


def cmd_account(console: Console, args: argparse.Namespace) -> int:
    """The admin's actions on one account's tokens and sessions."""
    from grader.errors import JudgeError
    from grader.service.store.db import Database
    from grader.service.store.sessions import end_sessions
    from grader.service.store.users import (
        add_token,
        find_user,
        revoke_token,
        rotate_token,
        tokens_of,
    )

    settings = settings_from(args)
    settings.prepare()
    db = Database(settings.database_url())
    db.migrate()
    user = find_user(db, args.name)
    if args.action == "tokens":
        for row in tokens_of(db, user.id):
            used = row.last_used.isoformat(" ", "seconds") if row.last_used else "never"
            print(f"{row.id}\t{row.label or '-'}\tcreated {row.created.isoformat(' ', 'seconds')}"
                  f"\tlast used {used}")
    elif args.action in ("add-token", "rotate-token"):
        if args.action == "add-token":
            made = add_token(db, user.id, args.label)
            missing = "has the most tokens allowed: revoke one"
        else:
            made = rotate_token(db, user.id, args.id)
            missing = f"has no token {args.id}"
        if made is None:
            raise JudgeError(f"user {user.name!r} {missing}")
        print(f"id: {made[0].id}")
        print(f"token: {made[1]}")
    elif args.action == "revoke-token":
        gone = revoke_token(db, user.id, None if args.all else args.id)
        if not gone and not args.all:
            raise JudgeError(f"user {user.name!r} has no token {args.id}")
        print(f"revoked: {gone}")
    else:  # sign-out
        print(f"sessions ended: {end_sessions(db, user.id)}")
    return EXIT_OK


def cmd_submit(console: Console, args: argparse.Namespace) -> int:
    from grader.cli.client import submit

    verdict = submit(args.problem, Path(args.file), args.server, args.token, args.format,
                     console)
    if verdict == Verdict.JUDGE_ERROR:
        return EXIT_ERROR
    return EXIT_OK if verdict == Verdict.ACCEPTED else EXIT_FAILED


def register(sub: Any) -> None:
    """Adds the service's subcommands to jaxjudge's parser."""
    serve = sub.add_parser("serve", help="the online judge: web service and graders")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    _store(serve, "graders in this process (default 1; 0 = web only)")
    serve.set_defaults(run=cmd_serve)
    worker = sub.add_parser("worker", help="extra graders for a server's queue, on any machine")
    _store(worker, "graders in this process (default 1)")
    worker.set_defaults(run=cmd_worker)
    admin = sub.add_parser("admin", help="accounts")
    actions = admin.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create-user", help="create an account; prints its API token")
    create.add_argument("name")
    create.add_argument("--role", choices=["learner", "instructor", "admin"], default="learner")
    create.add_argument("--password", help="default: a random one, printed")
    create.add_argument("--exist-ok", action="store_true",
                        help="reset an existing account's password and add a token")
    _store(create, argparse.SUPPRESS)
    create.set_defaults(run=cmd_admin)
    def account(action: str, help: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = actions.add_parser(action, help=help)
        p.add_argument("name", help="the account")
        _store(p, argparse.SUPPRESS)
        p.set_defaults(run=cmd_account)
        return p

    account("tokens", "list an account's API tokens (never the secrets)")
    add = account("add-token", "a new API token for an account; prints it")
    add.add_argument("--label", default="", help="a name to tell it by")
    rotate = account("rotate-token", "replace a token's secret; prints the new one (the old "
                                     "one fails at once)")
    rotate.add_argument("id", type=int, help="the token's number, as `tokens` lists it")
    revoke = account("revoke-token", "delete an API token (or all of them)")
    which = revoke.add_mutually_exclusive_group(required=True)
    which.add_argument("id", type=int, nargs="?", help="the token's number")
    which.add_argument("--all", action="store_true", help="every token of the account")
    account("sign-out", "end all of an account's browser sessions, on every server")
    submit = sub.add_parser("submit", help="submit a file to a server and wait for its report")
    submit.add_argument("problem")
    submit.add_argument("file")
    submit.add_argument("--server", required=True, help="e.g. http://127.0.0.1:8000")
    submit.add_argument("--token", help="API token (default: $JAXJUDGE_TOKEN)")
    submit.add_argument("--format", choices=["text", "json"], default="text")
    submit.set_defaults(run=cmd_submit)
