"""``copywatch catalog``: register a brand's originals, keep the catalog index, register logos."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from copywatch import catalog_store
from copywatch.settings import Settings


def _box(text: str) -> tuple[int, int, int, int]:
    try:
        x, y, w, h = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--box takes x,y,w,h in pixels, got {text!r}") from None
    if w <= 0 or h <= 0 or x < 0 or y < 0:
        raise argparse.ArgumentTypeError(f"--box needs x,y >= 0 and w,h > 0, got {text!r}")
    return x, y, w, h


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("catalog", help="register a brand's originals and build the catalog index")
    actions = parser.add_subparsers(dest="catalog_action", metavar="ACTION", required=True)

    build = actions.add_parser("build", help="register every image under DIR and bring the index up to date")
    build.add_argument("paths", nargs="+", metavar="DIR_OR_FILE")
    build.add_argument("--brand", required=True, help="brand name (created if new)")
    build.add_argument("--alert-email", action="append", default=None, help="digest recipient (repeatable)")
    build.add_argument("--rebuild", action="store_true", help="rebuild the index from scratch")

    index = actions.add_parser("index", help="bring the index up to date with the database")
    index.add_argument("--rebuild", action="store_true", help="rebuild the index from scratch")

    logo = actions.add_parser("logo", help="register an original's logo reference")
    logo.add_argument("original_id", type=int, metavar="ORIGINAL")
    logo.add_argument(
        "--image", type=Path, help="the brand's own logo file (alpha or plain background): listings are "
        "checked by finding this mark",
    )  # fmt: skip
    where = logo.add_mutually_exclusive_group()
    where.add_argument("--box", type=_box, help="x,y,w,h of the logo in the original, in pixels")
    where.add_argument("--auto", action="store_true", help="find the logo automatically")

    actions.add_parser("list", help="list registered originals")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from detection.imageio import InvalidImageError

    try:
        if args.catalog_action == "build":
            ids = catalog_store.register_originals(
                settings, args.brand, args.paths, alert_emails=args.alert_email
            )
            catalog = catalog_store.build_index(settings, progress=sys.stderr.isatty(), rebuild=args.rebuild)
            print(
                f"{len(ids)} originals registered for {args.brand}; index has {len(catalog)} (version {catalog.version})"
            )
        elif args.catalog_action == "index":
            catalog = catalog_store.build_index(settings, progress=sys.stderr.isatty(), rebuild=args.rebuild)
            print(f"index has {len(catalog)} originals (version {catalog.version})")
        elif args.catalog_action == "logo":
            if args.image is None and args.box is None and not args.auto:
                print("copywatch catalog logo: give --image, --box or --auto", file=sys.stderr)
                return 2
            reference = catalog_store.register_logo(
                settings, args.original_id, None if args.auto else args.box, image_path=args.image
            )
            if reference is None:
                print(f"no logo found in original {args.original_id}", file=sys.stderr)
                return 1
            print(
                json.dumps({k: v for k, v in reference.items() if k not in {"template", "mark"}}, default=str)
            )
        else:
            for row in catalog_store.list_originals(settings):
                print(
                    f"{row['id']:>6}  {row['brand']:<20} {row['sku'] or '':<30} logo={'yes' if row['logo'] else 'no'}"
                )
    except (FileNotFoundError, LookupError, InvalidImageError, ValueError) as exc:
        print(f"copywatch catalog: {exc}", file=sys.stderr)
        return 1
    return 0
