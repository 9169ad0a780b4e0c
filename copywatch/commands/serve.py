"""``copywatch serve``: serve the review web page (waitress, a production WSGI server)."""

from __future__ import annotations

import argparse
import logging
import secrets
import sys

from copywatch.settings import Settings, secret_key_problem

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("serve", help="serve the review web page")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    parser.add_argument("--threads", type=int, default=8, help="request threads (default 8)")
    parser.add_argument(
        "--dev",
        action="store_true",
        help="without SECRET_KEY, generate a random one in memory (sessions end when the server stops)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.secret_key:
        if not args.dev:
            print(
                "copywatch serve: SECRET_KEY is not set. Set it to a long random value "
                "of at least 32 characters (e.g. openssl rand -hex 32), "
                "or pass --dev to use a throw-away key.",
                file=sys.stderr,
            )
            return 2
        settings = settings.with_overrides(secret_key=secrets.token_urlsafe(48))
        log.warning("--dev: using a random in-memory secret key; sessions end when the server stops")
    problem = secret_key_problem(settings.secret_key)
    if problem:
        print(f"copywatch serve: {problem}", file=sys.stderr)
        return 2
    from waitress import serve

    from review import create_app

    settings.ensure_dirs()
    app = create_app(settings)
    log.info(
        "review page on http://%s:%d/ (database %s)",
        args.host,
        args.port,
        settings.database_url.split("@")[-1],
    )
    serve(app, host=args.host, port=args.port, threads=args.threads, ident="copywatch")
    return 0
