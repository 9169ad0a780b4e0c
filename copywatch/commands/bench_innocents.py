"""``copywatch bench innocents``: build a large pool of innocent images from installed packages."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from copywatch.settings import Settings

#: Where the Debian packages named in docs/benchmarks.md install their pictures; none of them
#: shares artwork with the dev catalog (tuxpaint stamps and openclipart drawings).
DEFAULT_SOURCES: tuple[str, ...] = (
    "/usr/share/icons/oxygen",  # oxygen-icon-theme (LGPL-3+)
    # wesnoth-1.16-data (GPL-2+): units, portraits, attack icons, scenery and items; not the
    # terrain tiles and halos (edges of grass and water, glows: near blanks)
    *(
        f"/usr/share/games/wesnoth/1.16/data/core/images/{part}"
        for part in ("units", "portraits", "attacks", "scenery", "items")
    ),
    "/usr/share/wallpapers",  # plasma-workspace-wallpapers (LGPL-3 / CC-BY-SA)
    "/usr/share/backgrounds/gnome",  # gnome-backgrounds (CC-BY-SA-3.0)
)


def register(bench_subparsers: argparse._SubParsersAction) -> None:
    parser = bench_subparsers.add_parser(
        "innocents",
        help="build a pool of innocent images (for copywatch eval --innocents)",
        description="Icons, sprites and wallpapers from installed packages, composed like listing "
        "pictures; one per name, no two alike. docs/benchmarks.md names the packages.",
    )
    parser.add_argument("--out", type=Path, required=True, help="folder to create")
    parser.add_argument(
        "--source",
        type=Path,
        action="append",
        default=None,
        help=f"folder of images, repeatable (default: {', '.join(DEFAULT_SOURCES)})",
    )
    parser.add_argument("--limit", type=int, default=6000, help="keep at most this many (default 6000)")
    parser.add_argument("--seed", type=int, default=11, help="random seed (default 11)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from detection.innocent_pool import build_pool

    sources = args.source or [Path(s) for s in DEFAULT_SOURCES if Path(s).is_dir()]
    if not sources:
        print(
            "copywatch bench innocents: no source folder; install the packages docs/benchmarks.md "
            "names or pass --source",
            file=sys.stderr,
        )
        return 2
    try:
        counts = build_pool(sources, args.out, limit=args.limit, seed=args.seed)
    except (FileExistsError, ValueError, OSError) as exc:
        print(f"copywatch bench innocents: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"out": str(args.out), "sources": [str(s) for s in sources], **vars(counts)}))
    return 0
