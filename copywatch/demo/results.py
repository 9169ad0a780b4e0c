"""What the demo found, compared with what it planted: the figures, the summary table, the HTML report."""

from __future__ import annotations

import base64
import html
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import cv2
import numpy as np
from sqlalchemy.orm import Session

from copywatch.demo.marketplace import DemoListing, DemoShop
from copywatch.demo.network_outcome import NetworkOutcome
from db.detections import detections_of_marketplace
from db.listings import image_statuses, listing_urls
from db.models import DetectionKind, ImageStatus

SUSPICIOUS_VERDICTS = {"shifted", "missing", "shape_differs"}
EDIT_LABELS = {
    "crop_strip": "stolen: cropped strip (the seed's crop)",
    "colour": "stolen: colours changed",
    "collage": "stolen: inside a collage",
    "text_overlay": "stolen: text and banner overlaid",
    "mirrored": "stolen: mirrored",
    "logo_left": "counterfeit: logo moved left",
    "logo_right": "counterfeit: logo moved right",
}


@dataclass
class Hit:
    """One detection of the demo's crawl, with the ground truth of its listing."""

    listing_url: str
    listing_path: str
    truth: str
    edit: str | None
    expected_sku: str | None
    original_sku: str | None
    original_sha256: str | None
    kind: str
    score: float
    logo_verdict: str | None
    image_path: Path | None
    original_path: Path | None

    @property
    def correct(self) -> bool:
        """A planted listing matched to the original it copies."""
        return self.truth != "innocent" and self.original_sku == self.expected_sku

    @property
    def counterfeit(self) -> bool:
        return self.kind == DetectionKind.COUNTERFEIT_LOGO.value or self.logo_verdict in SUSPICIOUS_VERDICTS


@dataclass
class DemoOutcome:
    """The demo's figures (see :meth:`summary`) and the hits behind them."""

    shop: DemoShop
    listings_crawled: int
    images: int
    images_failed: int
    hits: list[Hit]
    alert_threshold: float = 0.8
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    networks: NetworkOutcome | None = None  # seller networks (copywatch.demo.network_outcome)

    def _flagged(self, *, queued: bool = False) -> dict[str, list[Hit]]:
        """Hits per listing path: those at or above the alert threshold, or (``queued``) all of them.

        A listing counts as flagged when a detection reaches ALERT_THRESHOLD — what would be
        mailed to the brand. Everything from REVIEW_THRESHOLD up waits in the review queue; by
        the calibration's definition that admits about 6 % of unrelated images, on purpose.
        """
        by_path: dict[str, list[Hit]] = defaultdict(list)
        for hit in self.hits:
            if queued or hit.score >= self.alert_threshold:
                by_path[hit.listing_path].append(hit)
        return by_path

    def queued(self, listing: DemoListing) -> bool:
        """The listing has a detection in the review queue (any score)."""
        return bool(self._flagged(queued=True).get(listing.path))

    def found(self, listing: DemoListing) -> bool:
        hits = self._flagged().get(listing.path, [])
        if listing.truth == "innocent":
            return bool(hits)
        return any(h.correct for h in hits)

    def counterfeit_found(self, listing: DemoListing) -> bool:
        return any(h.correct and h.counterfeit for h in self._flagged().get(listing.path, []))

    def _verdict(self, listing: DemoListing) -> str:
        """The logo verdict on a planted listing's match with its own original."""
        hits = [h for h in self._flagged().get(listing.path, []) if h.correct]
        if not hits:
            return "not found"
        return max(hits, key=lambda h: h.score).logo_verdict or "no logo check"

    def summary(self) -> dict[str, float | int]:
        """The one-line figures: planted = stolen + counterfeit listings; found = planted listings
        flagged with the original they copy; false_hits = innocent listings flagged at all."""
        planted = [x for x in self.shop.listings if x.truth != "innocent"]
        innocent = [x for x in self.shop.listings if x.truth == "innocent"]
        counterfeits = [x for x in planted if x.truth == "counterfeit"]
        return {
            "listings": self.listings_crawled,
            "images": self.images,
            "planted": len(planted),
            "found": sum(self.found(x) for x in planted),
            "false_hits": sum(self.found(x) for x in innocent),
            "counterfeits_planted": len(counterfeits),
            "counterfeits_found": sum(self.counterfeit_found(x) for x in counterfeits),
            **(self.networks.summary() if self.networks is not None else {}),
            "seconds": round(self.seconds, 1),
        }

    def detection_pairs(self) -> set[tuple[str, str]]:
        """(listing path, original sha256) of every detection: what two runs must agree on."""
        return {(h.listing_path, h.original_sha256 or "") for h in self.hits}

    def table(self) -> str:
        """The human summary: hits by edit type, logo verdicts, time taken."""
        rows = [("edit", "listings", "flagged", "in review queue", "best score")]
        groups: dict[str, list[DemoListing]] = defaultdict(list)
        for listing in self.shop.listings:
            groups[listing.edit or "innocent"].append(listing)
        queue = self._flagged(queued=True)
        for edit in sorted(groups, key=lambda e: (e == "innocent", e)):
            members = groups[edit]
            scores = [h.score for x in members for h in queue.get(x.path, [])]
            found = sum(self.found(x) for x in members)
            queued = sum(self.queued(x) for x in members)
            label = "innocent (false hits)" if edit == "innocent" else edit
            rows.append(
                (label, str(len(members)), str(found), str(queued), f"{max(scores):.2f}" if scores else "-")
            )
        width = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = [
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, width, strict=True))
            )
            for r in rows
        ]
        lines.insert(1, "-" * len(lines[0]))
        verdicts = Counter(self._verdict(x) for x in self.shop.listings if x.truth == "counterfeit")
        lines.append(f"flagged = a detection at or above the alert threshold ({self.alert_threshold:.2f})")
        lines.append("")
        lines.append(
            "logo verdicts on counterfeit listings: "
            + ", ".join(f"{k} {v}" for k, v in sorted(verdicts.items()))
        )
        stolen = Counter(self._verdict(x) for x in self.shop.listings if x.truth == "stolen")
        stolen.pop("no logo check", None)
        stolen.pop("not found", None)
        if stolen:
            lines.append(
                "logo verdicts on stolen photos: " + ", ".join(f"{k} {v}" for k, v in sorted(stolen.items()))
            )
        if self.networks is not None:
            lines += ["", *self.networks.lines()]
        s = self.summary()
        lines.append(
            f"{s['listings']} listings, {s['images']} images ({self.images_failed} failed) in {s['seconds']} s: "
            + ", ".join(f"{k} {v:.1f} s" for k, v in self.timings.items())
        )
        return "\n".join(lines)


def collect_outcome(
    session: Session, shop: DemoShop, marketplace_id: int, media_root: Path, alert_threshold: float = 0.8
) -> DemoOutcome:
    """Read the demo marketplace's listings, images and detections back from the database."""
    truth = {x.path: x for x in shop.listings}
    listings = listing_urls(session, marketplace_id)
    images = image_statuses(session, marketplace_id)
    rows = detections_of_marketplace(session, marketplace_id)
    hits = []
    for detection, image, url, original in rows:
        path = urlparse(url).path
        listing = truth.get(path)
        verdict = (detection.logo_verdict or {}).get("verdict")
        hits.append(
            Hit(
                listing_url=url,
                listing_path=path,
                truth=listing.truth if listing else "unknown",
                edit=listing.edit if listing else None,
                expected_sku=listing.original_sku if listing else None,
                original_sku=original.sku if original else None,
                original_sha256=original.sha256 if original else None,
                kind=str(detection.kind.value if hasattr(detection.kind, "value") else detection.kind),
                score=float(detection.score),
                logo_verdict=verdict,
                image_path=_media(media_root, image.path),
                original_path=_media(media_root, original.image_path) if original else None,
            )
        )
    return DemoOutcome(
        shop=shop,
        listings_crawled=len(listings),
        images=len(images),
        images_failed=sum(1 for s in images if s == ImageStatus.FAILED),
        hits=hits,
        alert_threshold=alert_threshold,
    )


def _media(media_root: Path, path: str | None) -> Path | None:
    if not path:
        return None
    p = Path(path)
    return p if p.is_absolute() else media_root / p


def _thumbnail(path: Path | None, side: int = 220) -> str:
    """A JPEG data URI, so the report is one self-contained file."""
    if path is None or not path.exists():
        return ""
    image = cv2.imdecode(np.fromfile(str(path), np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        return ""
    scale = side / max(image.shape[:2])
    image = cv2.resize(
        image,
        (max(1, int(image.shape[1] * scale)), max(1, int(image.shape[0] * scale))),
        interpolation=cv2.INTER_AREA,
    )
    data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 82])[1].tobytes()
    return "data:image/jpeg;base64," + base64.b64encode(data).decode()


_REPORT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Copywatch demo report</title>
<style>
body {{ font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #1d2330; }}
h1 {{ margin-bottom: .2rem; }} .lede {{ color: #555; margin-top: 0; }}
.figures {{ display: flex; gap: 1rem; flex-wrap: wrap; margin: 1.2rem 0; }}
.figure {{ background: #f3f5f9; border-radius: 8px; padding: .6rem 1rem; min-width: 120px; }}
.figure b {{ display: block; font-size: 1.6rem; }}
table {{ border-collapse: collapse; width: 100%; margin-bottom: 1.5rem; }}
th, td {{ border-bottom: 1px solid #e3e6ec; padding: .45rem .5rem; text-align: left; vertical-align: middle; }}
th {{ background: #f3f5f9; }} td.num {{ text-align: right; }}
.pair img {{ width: 180px; height: 180px; object-fit: contain; background: #fafafa; border: 1px solid #ddd; border-radius: 4px; }}
.tag {{ display: inline-block; padding: .05rem .45rem; border-radius: 4px; font-size: .85rem; }}
.ok {{ background: #dff3e4; color: #17612c; }} .bad {{ background: #fde2e1; color: #8a1c16; }}
.logo {{ background: #fff1cc; color: #6b4e00; }}
code {{ background: #f3f5f9; padding: .1rem .3rem; border-radius: 3px; }}
</style></head><body>
<h1>Copywatch demo report</h1>
<p class="lede">The demo crawled its own marketplace on 127.0.0.1, scored every image against the brand
<b>{brand}</b>'s {originals} originals and compared the hits with what it had planted.</p>
<div class="figures">{figures}</div>
<h2>Hits by edit</h2>
<table><tr><th>edit</th><th>listings</th><th>flagged (score &ge; {alert:.2f})</th><th>in review queue</th></tr>{by_edit}</table>
<h2>Every hit, beside its original</h2>
<table><tr><th>listing photo</th><th>original</th><th>details</th></tr>{rows}</table>
{missed}
<p>Review these hits in the web page: <code>copywatch serve</code>, then open {review_url}.</p>
</body></html>
"""


def write_report(outcome: DemoOutcome, path: Path, *, brand: str, originals: int, review_url: str) -> Path:
    """Write the self-contained HTML report (thumbnails inlined as data URIs)."""
    s = outcome.summary()
    labels = {
        "listings": "listings crawled", "images": "images scored", "planted": "planted copies",
        "found": "found", "false_hits": "false hits", "counterfeits_planted": "counterfeits planted",
        "counterfeits_found": "counterfeits found", "seconds": "seconds",
    }  # fmt: skip
    figures = "".join(f'<div class="figure"><b>{s[k]}</b>{html.escape(v)}</div>' for k, v in labels.items())
    groups: dict[str, list[DemoListing]] = defaultdict(list)
    for listing in outcome.shop.listings:
        groups[listing.edit or "innocent"].append(listing)
    by_edit = "".join(
        f"<tr><td>{html.escape(edit)}</td><td class=num>{len(m)}</td><td class=num>{sum(outcome.found(x) for x in m)}</td>"
        f"<td class=num>{sum(outcome.queued(x) for x in m)}</td></tr>"
        for edit, m in sorted(groups.items(), key=lambda kv: (kv[0] == "innocent", kv[0]))
    )
    rows = []
    for hit in outcome.hits:
        alert = hit.score >= outcome.alert_threshold
        if hit.truth == "innocent":
            tag = (
                '<span class="tag bad">false hit: innocent listing</span>'
                if alert
                else '<span class="tag logo">innocent listing, review queue only (below the alert threshold)</span>'
            )
        elif hit.correct:
            label = EDIT_LABELS.get(hit.edit or "", hit.edit or "")
            tag = f'<span class="tag ok">planted, {html.escape(label)}</span>'
        else:
            tag = f'<span class="tag bad">wrong original (expected {html.escape(hit.expected_sku or "?")})</span>'
        logo = ""
        if hit.logo_verdict:
            cls = "logo" if hit.counterfeit else "ok"
            logo = f'<br><span class="tag {cls}">logo: {html.escape(hit.logo_verdict)}</span>'
        rows.append(
            "<tr>"
            f'<td class="pair"><img alt="listing photo" src="{_thumbnail(hit.image_path)}"></td>'
            f'<td class="pair"><img alt="original" src="{_thumbnail(hit.original_path)}"></td>'
            f"<td><b>score {hit.score:.2f}</b> · {html.escape(hit.kind)}<br>{tag}{logo}<br>"
            f"original <code>{html.escape(hit.original_sku or '-')}</code><br>"
            f'<a href="{html.escape(hit.listing_url)}">{html.escape(hit.listing_path)}</a></td>'
            "</tr>"
        )
    missed = [x for x in outcome.shop.listings if x.truth != "innocent" and not outcome.found(x)]
    missed_html = ""
    if missed:
        items = "".join(
            f"<li><code>{html.escape(x.path)}</code>: {html.escape(x.truth)} ({html.escape(x.edit or '')}) of "
            f"<code>{html.escape(x.original_sku or '')}</code></li>"
            for x in missed
        )
        missed_html = f"<h2>Planted but not found</h2><ul>{items}</ul>"
    path.write_text(
        _REPORT.format(
            brand=html.escape(brand),
            originals=originals,
            figures=figures,
            by_edit=by_edit,
            rows="".join(rows) or "<tr><td colspan=3>no hits</td></tr>",
            missed=missed_html,
            alert=outcome.alert_threshold,
            review_url=html.escape(review_url),
        )
    )
    return path
