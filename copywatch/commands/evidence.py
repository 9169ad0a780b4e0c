"""``copywatch evidence``: capture, export and verify evidence bundles."""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path

from copywatch.settings import Settings


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"dates are YYYY-MM-DD, got {text!r}") from None


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("evidence", help="capture, export and verify evidence bundles")
    actions = parser.add_subparsers(dest="evidence_action", metavar="ACTION", required=True)

    export = actions.add_parser(
        "export",
        help="write a ZIP of the evidence of one detection, a seller, or a brand and date range",
        description="The ZIP holds the page's WARC, its screenshot, the listing image as served, the "
        "original, the matched region on both, and manifest.json with every file's SHA-256.",
    )
    which = export.add_mutually_exclusive_group(required=True)
    which.add_argument("--detection", type=int, metavar="ID", help="one detection")
    which.add_argument("--seller", help="every detection of this seller's listings")
    which.add_argument("--brand", help="every detection of this brand (with --since/--until)")
    export.add_argument("--marketplace", help="with --seller or --brand: only this marketplace")
    export.add_argument("--since", type=_date, help="with --brand: detections found on or after this day")
    export.add_argument("--until", type=_date, help="with --brand: detections found on or before this day")
    export.add_argument("--confirmed", action="store_true", help="only confirmed detections")
    export.add_argument("--out", type=Path, required=True, metavar="FILE.zip")
    export.set_defaults(handler=run_export)

    verify = actions.add_parser("verify", help="recompute every hash of a bundle; exit 0 when all match")
    verify.add_argument("bundle", type=Path, metavar="FILE.zip")
    verify.set_defaults(handler=run_verify)

    capture = actions.add_parser(
        "capture", help="capture missing evidence now, in this process (as the evidence worker would)"
    )
    capture.add_argument("--detection", type=int, metavar="ID", help="only this detection's listing")
    capture.add_argument("--marketplace", help="only this marketplace's listings")
    capture.set_defaults(handler=run_capture)


def _marketplace_id(session: object, name: str | None) -> int | None:
    if name is None:
        return None
    from db.marketplaces import marketplace_id_by_name

    found = marketplace_id_by_name(session, name)  # type: ignore[arg-type]
    if found is None:
        raise LookupError(f"no marketplace named {name!r}")
    return found


def run_export(args: argparse.Namespace, settings: Settings) -> int:
    from db.catalog import brand_id_by_name
    from db.engine import make_engine, session_factory
    from db.evidence import bundle_detections, select_detections
    from takedown.bundle import build_bundle

    engine = make_engine(settings.database_url)
    try:
        with session_factory(engine)() as session:
            try:
                marketplace_id = _marketplace_id(session, args.marketplace)
                brand_id = None
                if args.brand is not None:
                    brand_id = brand_id_by_name(session, args.brand)
                    if brand_id is None:
                        raise LookupError(f"no brand named {args.brand!r}")
            except LookupError as exc:
                print(f"copywatch evidence export: {exc}", file=sys.stderr)
                return 2
            ids = select_detections(
                session,
                detection_id=args.detection,
                seller=args.seller,
                marketplace_id=marketplace_id,
                brand_id=brand_id,
                since=datetime.combine(args.since, time.min) if args.since else None,
                until=datetime.combine(args.until + timedelta(days=1), time.min) if args.until else None,
                confirmed_only=args.confirmed,
            )
            items = bundle_detections(session, ids)
            try:
                manifest = build_bundle(items, settings.media_root, args.out)
            except ValueError as exc:
                print(f"copywatch evidence export: {exc}", file=sys.stderr)
                return 1
    finally:
        engine.dispose()
    files = manifest["files"]
    print(f"wrote {args.out}: {len(manifest['detections'])} detection(s), {len(files)} file(s)")
    missing = [d["id"] for d in manifest["detections"] if not any(
        f["detection_id"] == d["id"] and f["role"] == "page_warc" for f in files)]  # fmt: skip
    if missing:
        print(f"note: no page WARC captured yet for detection(s) {missing}", file=sys.stderr)
    return 0


def run_verify(args: argparse.Namespace, settings: Settings) -> int:
    from takedown.bundle import verify_bundle

    report = verify_bundle(args.bundle)
    for name in report.changed:
        print(f"CHANGED {name}")
    for name in report.missing:
        print(f"MISSING {name}")
    for name in report.extra:
        print(f"EXTRA   {name} (not in the manifest)")
    for problem in report.problems:
        print(f"PROBLEM {problem}")
    if report.ok:
        print(f"OK: {report.files_checked} file(s) match manifest.json")
        return 0
    return 1


def run_capture(args: argparse.Namespace, settings: Settings) -> int:
    from db.engine import make_engine, session_factory
    from db.evidence import listings_of_detections
    from takedown.capture import capture_listing, capture_pending
    from takedown.screenshot import Screenshotter

    engine = make_engine(settings.database_url)
    sessions = session_factory(engine)
    try:
        with Screenshotter(settings.chromium_path, user_agent=settings.crawl_user_agent) as browser:
            if args.detection is not None:
                with sessions() as session:
                    targets = listings_of_detections(session, [args.detection])
                if not targets:
                    print(f"copywatch evidence capture: no detection {args.detection}", file=sys.stderr)
                    return 2
                outcomes = [
                    capture_listing(settings, sessions, lid, detection_id=did, screenshotter=browser)
                    for lid, did in targets
                ]
            else:
                with sessions() as session:
                    marketplace_id = _marketplace_id(session, args.marketplace)
                outcomes = capture_pending(settings, sessions, browser, marketplace_id=marketplace_id)
    finally:
        engine.dispose()
    for outcome in outcomes:
        print(
            f"listing {outcome.listing_id}: {outcome.status}"
            + (f" ({outcome.error})" if outcome.error else "")
        )
    failed = [o for o in outcomes if o.status == "failed"]
    print(f"{len(outcomes) - len(failed)} of {len(outcomes)} listing(s) done")
    return 1 if failed else 0
