"""``copywatch user``: add and list reviewer accounts, set a new password (ends the account's sessions)."""

from __future__ import annotations

import argparse
import getpass
import sys

from copywatch.settings import Settings
from db.engine import make_engine, session_factory
from db.models import Role
from db.users import find_user, list_users


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("user", help="manage reviewer accounts")
    actions = parser.add_subparsers(dest="user_action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="add an account (asks for the password)")
    add.add_argument("email")
    add.add_argument("--role", choices=[r.value for r in Role], default=Role.REVIEWER.value)
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from the first line of stdin"
    )
    password = actions.add_parser("password", help="set a new password (asks for it); ends every session")
    password.add_argument("email")
    password.add_argument(
        "--password-stdin", action="store_true", help="read the password from the first line of stdin"
    )
    actions.add_parser("list", help="list accounts")
    parser.set_defaults(handler=run)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Again: "):
        raise ValueError("the passwords differ")
    return first


def run(args: argparse.Namespace, settings: Settings) -> int:
    from review.auth import create_user, set_password

    engine = make_engine(settings.database_url)
    try:
        with session_factory(engine)() as session:
            if args.user_action == "add":
                try:
                    password = _read_password(args.password_stdin)
                    user_id = create_user(session, args.email, password, args.role)
                    session.commit()
                except ValueError as exc:
                    print(f"copywatch user add: {exc}", file=sys.stderr)
                    return 1
                print(f"added {args.email.strip().lower()} ({args.role}), id {user_id}")
                return 0
            if args.user_action == "password":
                email = args.email.strip().lower()
                user = find_user(session, email)
                if user is None:
                    print(f"copywatch user password: no account {email}", file=sys.stderr)
                    return 1
                try:
                    set_password(session, user, _read_password(args.password_stdin))
                    session.commit()
                except ValueError as exc:
                    print(f"copywatch user password: {exc}", file=sys.stderr)
                    return 1
                print(f"new password for {email}; its sessions have ended")
                return 0
            users = list_users(session)
            for user in users:
                state = "active" if user.active else "deactivated"
                print(f"{user.id}\t{user.email}\t{user.role.value}\t{state}")
            return 0
    finally:
        engine.dispose()
