"""`jaxjudge admin`: accounts, and an account's API tokens and browser sessions."""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console

from grader.cli.exits import EXIT_OK
from grader.cli.serve import settings_from, store_flags


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


def add_commands(sub: Any) -> None:
    admin = sub.add_parser("admin", help="accounts")
    actions = admin.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create-user", help="create an account; prints its API token")
    create.add_argument("name")
    create.add_argument("--role", choices=["learner", "instructor", "admin"], default="learner")
    create.add_argument("--password", help="default: a random one, printed")
    create.add_argument("--exist-ok", action="store_true",
                        help="reset an existing account's password and add a token")
    store_flags(create, argparse.SUPPRESS)
    create.set_defaults(run=cmd_admin)
    def account(action: str, help: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = actions.add_parser(action, help=help)
        p.add_argument("name", help="the account")
        store_flags(p, argparse.SUPPRESS)
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
