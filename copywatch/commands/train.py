"""``copywatch train``: train the seed's Siamese network on a folder of originals."""

from __future__ import annotations

import argparse
import csv
import json
import shlex
import sys
from pathlib import Path

from copywatch.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("train", help="train the seed's Siamese network")
    parser.add_argument("--catalog", type=Path, required=True, help="folder of original images")
    parser.add_argument("--out", type=Path, required=True, help="checkpoint to write (and FILE.resume)")
    parser.add_argument("--epochs", type=int, default=150, help="epochs (the seed: 150)")
    parser.add_argument("--batch-size", type=int, default=1024, help="pairs per step (the seed: 1024)")
    parser.add_argument("--resume", type=Path, default=None, help="continue from FILE.resume")
    parser.add_argument("--seed", type=int, default=0, help="random seed (split, init, pairs)")
    parser.add_argument("--device", default=None, help="cuda or cpu (default: cuda when present)")
    parser.add_argument(
        "--pool-grid",
        type=_grid,
        default=None,
        metavar="RxC",
        help="pool the last conv map to R x C before the FC (default 8x6: the seed's flattened map; 1x1: global pooling)",
    )
    parser.add_argument(
        "--precision",
        choices=("fp32", "bf16"),
        default="fp32",
        help="bf16: convolutions in bfloat16 under autocast (~4x faster on AMX CPUs and recent GPUs)",
    )
    parser.add_argument(
        "--fc-rank",
        type=int,
        default=None,
        metavar="R",
        help="store the checkpoint's FC as a rank-R factorisation, the .resume keeps it whole "
        "(default 128 for the 8x6 grid: 6.6 MB instead of 103; 0: keep it whole)",
    )
    parser.add_argument(
        "--exclude-seed-queries",
        type=Path,
        default=None,
        metavar="BENCH",
        help="leave out originals whose strips are crop_strip queries of this benchmark",
    )
    parser.set_defaults(handler=run)


def _grid(text: str) -> tuple[int, int]:
    try:
        rows, cols = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected ROWSxCOLS such as 2x2, got {text!r}") from None
    if not (1 <= rows <= 8 and 1 <= cols <= 6):
        raise argparse.ArgumentTypeError("the last conv map is 8 x 6: rows 1-8, columns 1-6")
    return rows, cols


def seed_query_originals(bench: Path) -> set[str]:
    """Originals of ``bench`` whose strips are ``crop_strip`` queries (kept unseen for the seed protocol)."""
    with open(bench / "truth.csv", newline="") as handle:
        return {
            r["original_id"]
            for r in csv.DictReader(handle)
            if r["transform"] == "crop_strip" and r["original_id"]
        }


def run(args: argparse.Namespace, settings: Settings) -> int:
    from detection.benchmark import read_images
    from detection.siamese import SEED_POOL_GRID, SHIPPED_FC_RANK
    from detection.train import TrainConfig, train

    originals = read_images(args.catalog)
    if args.exclude_seed_queries is not None:
        excluded = seed_query_originals(args.exclude_seed_queries)
        originals = {k: v for k, v in originals.items() if k not in excluded}
    if len(originals) < 6:
        print(f"copywatch train: need at least 6 originals, found {len(originals)}", file=sys.stderr)
        return 2
    pool_grid = args.pool_grid or SEED_POOL_GRID
    default_rank = SHIPPED_FC_RANK if pool_grid == SEED_POOL_GRID else None
    config = TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        seed=args.seed,
        device=args.device,
        pool_grid=pool_grid,
        precision=args.precision,
        fc_rank=default_rank if args.fc_rank is None else (args.fc_rank or None),
    )
    command = "copywatch " + shlex.join(sys.argv[1:])
    print(
        f"training on {len(originals)} originals, {config.epochs} epochs, batch {config.batch_size}",
        flush=True,
    )

    def report(stats) -> None:
        print(
            f"epoch {stats.epoch}: train loss {stats.train_loss:.4f}  test loss {stats.test_loss:.4f}  "
            f"test acc {100 * stats.test_accuracy:.1f}%  ({stats.seconds:.0f} s)",
            flush=True,
        )

    result = train(
        originals, args.out, config, resume=args.resume, on_epoch=report, metadata={"command": command}
    )
    last = result.history[-1] if result.history else None
    print(json.dumps({"out": str(args.out), "epochs": len(result.history), "last": last and vars(last)}))
    return 0
