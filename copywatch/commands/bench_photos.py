"""``copywatch bench photos``: gather real photographs from installed packages for ``bench make``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from copywatch.settings import Settings

#: Where the Debian packages named in docs/benchmarks.md install their photographs.
DEFAULT_SOURCES: tuple[str, ...] = (
    "/usr/share/doc/opencv-doc/examples/data",  # opencv-doc (Apache-2.0 / BSD sample images)
    "/usr/share/wallpapers",  # plasma-workspace-wallpapers (LGPL-3 / CC-BY-SA)
    "/usr/share/backgrounds",  # gnome-backgrounds, mate-backgrounds, ukui-wallpapers, lomiri-wallpapers
)


def register(bench_subparsers: argparse._SubParsersAction) -> None:
    parser = bench_subparsers.add_parser(
        "photos",
        help="gather real photographs from installed packages (the originals for bench make)",
        description="Photographs (800-1600 px) from the packages docs/benchmarks.md names, one per "
        "picture; then: copywatch bench make --originals OUT --out BENCH.",
    )
    parser.add_argument("--out", type=Path, required=True, help="folder to create")
    parser.add_argument(
        "--source",
        type=Path,
        action="append",
        default=None,
        help="folder of photos, repeatable (default: the installed ones of "
        f"{', '.join(DEFAULT_SOURCES)}; add scikit-image's skimage/data this way)",
    )
    parser.add_argument("--seed", type=int, default=11, help="random seed of the sizes (default 11)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from detection.photo_set import gather_photos

    sources = args.source or [Path(s) for s in DEFAULT_SOURCES if Path(s).is_dir()]
    if not sources:
        print("copywatch bench photos: no source folder; pass --source", file=sys.stderr)
        return 2
    try:
        counts = gather_photos(sources, args.out, seed=args.seed)
    except (FileExistsError, ValueError, OSError) as exc:
        print(f"copywatch bench photos: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"out": str(args.out), "sources": [str(s) for s in sources], **vars(counts)}))
    return 0
