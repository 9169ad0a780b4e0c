"""``copywatch user``: add and list reviewer accounts, grant them brands, set a new password (ends the
account's sessions)."""

from __future__ import annotations

import argparse
import getpass
import sys

from copywatch.settings import Settings
from db.engine import make_engine, session_factory
from db.models import Role
from db.scoping import grant_brands, revoke_brands
from db.users import brand_ids_by_name, find_user, granted_brand_names, list_users


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("user", help="manage reviewer accounts")
    actions = parser.add_subparsers(dest="user_action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="add an account (asks for the password)")
    add.add_argument("email")
    add.add_argument("--role", choices=[r.value for r in Role], default=Role.REVIEWER.value)
    add.add_argument(
        "--admin", action="store_true", help="an administrator (sees every brand); same as --role admin"
    )
    add.add_argument(
        "--brand",
        action="append",
        default=[],
        metavar="NAME",
        help="grant this brand (repeatable); a reviewer sees and acts on granted brands only",
    )
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from the first line of stdin"
    )
    password = actions.add_parser("password", help="set a new password (asks for it); ends every session")
    password.add_argument("email")
    password.add_argument(
        "--password-stdin", action="store_true", help="read the password from the first line of stdin"
    )
    actions.add_parser("list", help="list accounts and their brands")
    grant = actions.add_parser("grant", help="grant brands to an existing account")
    grant.add_argument("email")
    grant.add_argument("--brand", action="append", required=True, metavar="NAME", help="repeatable")
    revoke = actions.add_parser("revoke", help="take brands from an account")
    revoke.add_argument("email")
    revoke.add_argument("--brand", action="append", required=True, metavar="NAME", help="repeatable")
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
                role = Role.ADMIN.value if args.admin else args.role
                try:
                    brand_ids = brand_ids_by_name(session, args.brand)
                    password = _read_password(args.password_stdin)
                    user_id = create_user(session, args.email, password, role)
                    grant_brands(session, user_id, brand_ids)
                    session.commit()
                except ValueError as exc:
                    print(f"copywatch user add: {exc}", file=sys.stderr)
                    return 1
                granted = f", brands: {', '.join(args.brand)}" if args.brand else ""
                print(f"added {args.email.strip().lower()} ({role}{granted}), id {user_id}")
                if role == Role.REVIEWER.value and not args.brand:
                    print("note: a reviewer without brands sees nothing; grant some with --brand NAME")
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
            if args.user_action in {"grant", "revoke"}:
                user = find_user(session, args.email.strip().lower())
                try:
                    if user is None:
                        raise ValueError(f"no account {args.email!r}")
                    brand_ids = brand_ids_by_name(session, args.brand)
                except ValueError as exc:
                    print(f"copywatch user {args.user_action}: {exc}", file=sys.stderr)
                    return 1
                (grant_brands if args.user_action == "grant" else revoke_brands)(session, user.id, brand_ids)
                session.commit()
                print(f"{args.user_action}ed {', '.join(args.brand)} for {user.email}")
                return 0
            granted_names = granted_brand_names(session)
            for user in list_users(session):
                state = "active" if user.active else "deactivated"
                brands = (
                    "all brands"
                    if user.role == Role.ADMIN
                    else ", ".join(granted_names.get(user.id, [])) or "no brands"
                )
                print(f"{user.id}\t{user.email}\t{user.role.value}\t{state}\t{brands}")
            return 0
    finally:
        engine.dispose()
