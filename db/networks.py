"""Seller networks: links between sellers, each with its reason, and their transitive closure.

Two sellers are linked (a ``seller_links`` row) when

- they share a normalised contact key (``shared_email``, ``shared_phone``, ``shared_handle``,
  ``shared_domain``; the key is the value), unless more than ``max_sellers_per_key`` sellers show
  that key: a marketplace's own support address on every page ties nobody together;
- they serve the same image bytes in listings with a detection that no reviewer dismissed
  (``same_image``; the key is the image's SHA-256);
- they have confirmed hits on the same original whose matched regions overlap on both sides
  (``same_copy``; the key is ``original:<id>``): both regions' bounding boxes, in the original and,
  relative to each image's size, in the listing image, overlap by at least ``min_region_iou``
  (intersection over union) — the same crop of the same photo, re-encoded or resized. Only
  confirmed hits count, and only crops: unrelated copyists also steal a brand's best photo
  whole, so an unreviewed region match, or two copies of (nearly) the whole original (at least
  ``WHOLE_ORIGINAL_SHARE`` of its area), is not evidence of one operator.

A network is a connected component of the sellers' link graph (networkx), recomputed from scratch
by :func:`recompute_networks` after each crawl and after scoring; ``sellers.network_id`` is the
lowest seller id of the component, so a seller without links is a network of one.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import networkx as nx
from sqlalchemy import Table, bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from db.models import (
    Detection,
    DetectionStatus,
    Listing,
    ListingImage,
    Original,
    Seller,
    SellerContact,
    SellerLink,
)

log = logging.getLogger(__name__)

MAX_SELLERS_PER_KEY = 25
MIN_REGION_IOU = 0.8
# A matched region covering this share of the original's area is the whole photo, not a crop.
WHOLE_ORIGINAL_SHARE = 0.9

Link = tuple[int, int, str, str]  # (seller_a < seller_b, reason, key)


@dataclass
class NetworkSummary:
    """What :func:`recompute_networks` found: links by reason, networks of two or more, and changes."""

    links: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)
    networks: int = 0
    sellers_in_networks: int = 0
    links_added: int = 0
    links_removed: int = 0
    skipped_keys: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "links": self.links,
            "by_reason": dict(sorted(self.by_reason.items())),
            "networks": self.networks,
            "sellers_in_networks": self.sellers_in_networks,
            "links_added": self.links_added,
            "links_removed": self.links_removed,
            "skipped_keys": self.skipped_keys,
        }


def _star(sellers: Iterable[int], reason: str, key: str) -> list[Link]:
    """Links from the lowest seller id to every other: enough for the closure, linear in size."""
    ids = sorted(set(sellers))
    return [(ids[0], other, reason, key[:500]) for other in ids[1:]]


def contact_links(
    session: Session, max_sellers_per_key: int = MAX_SELLERS_PER_KEY
) -> tuple[list[Link], list[str]]:
    """Links between sellers sharing a contact key; also the keys left out as too common."""
    by_key: dict[tuple[str, str], set[int]] = defaultdict(set)
    for contact_kind, value, seller_id in session.execute(
        select(SellerContact.kind, SellerContact.value, SellerContact.seller_id)
    ):
        by_key[(str(getattr(contact_kind, "value", contact_kind)), str(value))].add(int(seller_id))
    links: list[Link] = []
    skipped: list[str] = []
    for (kind, value), sellers in sorted(by_key.items()):
        if len(sellers) < 2:
            continue
        if len(sellers) > max_sellers_per_key:
            skipped.append(f"{kind}:{value} ({len(sellers)} sellers)")
            continue
        links.extend(_star(sellers, f"shared_{kind}", value))
    return links, skipped


def same_image_links(session: Session) -> list[Link]:
    """Links between sellers serving the same image bytes in listings with an undismissed detection."""
    rows = session.execute(
        select(ListingImage.sha256, Listing.seller_id)
        .join(Listing, Listing.id == ListingImage.listing_id)
        .join(Detection, Detection.listing_image_id == ListingImage.id)
        .where(
            Detection.status != DetectionStatus.DISMISSED,
            Listing.seller_id.is_not(None),
            ListingImage.sha256.is_not(None),
        )
        .distinct()
    ).all()
    by_hash: dict[str, set[int]] = defaultdict(set)
    for sha256, seller_id in rows:
        by_hash[str(sha256)].add(cast(int, seller_id))
    links: list[Link] = []
    for sha256, sellers in sorted(by_hash.items()):
        if len(sellers) >= 2:
            links.extend(_star(sellers, "same_image", sha256))
    return links


def _box(points: Any) -> tuple[float, float, float, float] | None:
    try:
        xs = [float(p[0]) for p in points]
        ys = [float(p[1]) for p in points]
    except (TypeError, ValueError, IndexError):
        return None
    if not xs or max(xs) <= min(xs) or max(ys) <= min(ys):
        return None
    return min(xs), min(ys), max(xs), max(ys)


def _scaled(
    box: tuple[float, float, float, float], width: Any, height: Any
) -> tuple[float, float, float, float] | None:
    if not width or not height:
        return None
    w, h = float(width), float(height)
    return box[0] / w, box[1] / h, box[2] / w, box[3] / h


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two ``(x0, y0, x1, y1)`` boxes."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _whole(box: tuple[float, float, float, float], width: Any, height: Any) -> bool:
    """Whether ``box`` covers (nearly) all of an original of ``width`` × ``height`` (unknown: no)."""
    if not width or not height:
        return False
    x0, y0 = max(box[0], 0.0), max(box[1], 0.0)
    x1, y1 = min(box[2], float(width)), min(box[3], float(height))
    covered = max(x1 - x0, 0.0) * max(y1 - y0, 0.0)
    return covered >= WHOLE_ORIGINAL_SHARE * float(width) * float(height)


def same_copy_links(session: Session, min_iou: float = MIN_REGION_IOU) -> list[Link]:
    """Links between sellers with confirmed hits on one original whose matched regions overlap."""
    rows = session.execute(
        select(
            Detection.original_id,
            Detection.region_original,
            Detection.region_query,
            ListingImage.width,
            ListingImage.height,
            Listing.seller_id,
            Original.width,
            Original.height,
        )
        .join(ListingImage, ListingImage.id == Detection.listing_image_id)
        .join(Listing, Listing.id == ListingImage.listing_id)
        .join(Original, Original.id == Detection.original_id)
        .where(
            Detection.status == DetectionStatus.CONFIRMED,
            Detection.original_id.is_not(None),
            Listing.seller_id.is_not(None),
        )
    ).all()
    by_original: dict[int, list[tuple[int, tuple[float, ...], tuple[float, ...]]]] = defaultdict(list)
    for original_id, region_original, region_query, width, height, seller_id, o_width, o_height in rows:
        in_original = _box(region_original)
        in_query = _box(region_query)
        relative = _scaled(in_query, width, height) if in_query else None
        if in_original and relative and not _whole(in_original, o_width, o_height):
            by_original[int(original_id)].append((int(seller_id), in_original, relative))
    links: set[Link] = set()
    for original_id, hits in by_original.items():
        for i, (seller_a, orig_a, query_a) in enumerate(hits):
            for seller_b, orig_b, query_b in hits[i + 1 :]:
                if seller_a == seller_b:
                    continue
                if box_iou(orig_a, orig_b) >= min_iou and box_iou(query_a, query_b) >= min_iou:
                    a, b = sorted((seller_a, seller_b))
                    links.add((a, b, "same_copy", f"original:{original_id}"))
    return sorted(links)


def recompute_networks(
    session: Session,
    *,
    max_sellers_per_key: int = MAX_SELLERS_PER_KEY,
    min_region_iou: float = MIN_REGION_IOU,
) -> NetworkSummary:
    """Rebuild ``seller_links`` from the evidence and set every seller's ``network_id``.

    Links still supported are kept (with their first ``created_at``), new ones added, unsupported
    ones removed. Idempotent: a second run changes nothing.
    """
    summary = NetworkSummary()
    contact, summary.skipped_keys = contact_links(session, max_sellers_per_key)
    wanted = set(contact) | set(same_image_links(session)) | set(same_copy_links(session, min_region_iou))
    existing = {
        (int(a), int(b), str(r), str(k)): int(i)
        for i, a, b, r, k in session.execute(
            select(SellerLink.id, SellerLink.seller_a, SellerLink.seller_b, SellerLink.reason, SellerLink.key)
        )
    }
    stale = [i for link, i in existing.items() if link not in wanted]
    new = sorted(wanted - set(existing))
    for start in range(0, len(stale), 500):
        session.execute(delete(SellerLink).where(SellerLink.id.in_(stale[start : start + 500])))
    if new:
        session.execute(
            insert(SellerLink),
            [{"seller_a": a, "seller_b": b, "reason": r, "key": k} for a, b, r, k in new],
        )
    summary.links_added, summary.links_removed, summary.links = len(new), len(stale), len(wanted)
    for _a, _b, reason, _k in wanted:
        summary.by_reason[reason] = summary.by_reason.get(reason, 0) + 1

    graph: nx.Graph[int] = nx.Graph()
    graph.add_edges_from((a, b) for a, b, _r, _k in wanted)
    network_of: dict[int, int] = {}
    for component in nx.connected_components(graph):
        root = min(component)
        for seller_id in component:
            network_of[seller_id] = root
        summary.networks += 1
        summary.sellers_in_networks += len(component)
    current = dict(session.execute(select(Seller.id, Seller.network_id)).all())
    changes = [
        {"seller": seller_id, "network": network_of.get(seller_id, seller_id)}
        for seller_id, network_id in current.items()
        if network_of.get(seller_id, seller_id) != network_id
    ]
    if changes:
        table = cast(Table, Seller.__table__)
        statement = (
            update(table).where(table.c.id == bindparam("seller")).values(network_id=bindparam("network"))
        )
        session.execute(statement, changes)
    session.flush()
    return summary


# --- reads -----------------------------------------------------------------------------------------------


@dataclass
class NetworkView:
    """A network as the review page and ``copywatch report networks`` show it."""

    network_id: int
    members: list[dict[str, Any]]
    links: list[dict[str, Any]]
    marketplaces: list[str]
    confirmed_hits: int
    hits: int
    risk_score: float


def networks(session: Session, min_members: int = 2) -> list[tuple[int, int]]:
    """``(network_id, members)`` of every network with at least ``min_members`` sellers, largest first."""
    rows = session.execute(
        select(Seller.network_id, func.count())
        .where(Seller.network_id.is_not(None))
        .group_by(Seller.network_id)
        .having(func.count() >= min_members)
        .order_by(func.count().desc(), Seller.network_id)
    ).all()
    return [(cast(int, n), int(c)) for n, c in rows]


def links_among(session: Session, seller_ids: Sequence[int]) -> list[SellerLink]:
    if not seller_ids:
        return []
    ids = list(seller_ids)
    return list(
        session.execute(
            select(SellerLink)
            .where(SellerLink.seller_a.in_(ids), SellerLink.seller_b.in_(ids))
            .order_by(SellerLink.reason, SellerLink.key, SellerLink.seller_a, SellerLink.seller_b)
        ).scalars()
    )


def hit_counts(
    session: Session, seller_ids: Sequence[int], detection_condition: Any = None
) -> dict[int, dict[str, int]]:
    """Per seller: detections by status (only those ``detection_condition`` admits, e.g. a brand scope)."""
    counts: dict[int, dict[str, int]] = {i: {"new": 0, "confirmed": 0, "dismissed": 0} for i in seller_ids}
    if not seller_ids:
        return counts
    query = (
        select(Listing.seller_id, Detection.status, func.count(Detection.id))
        .join(ListingImage, ListingImage.listing_id == Listing.id)
        .join(Detection, Detection.listing_image_id == ListingImage.id)
        .where(Listing.seller_id.in_(list(seller_ids)))
        .group_by(Listing.seller_id, Detection.status)
    )
    if detection_condition is not None:
        query = query.where(detection_condition)
    for seller_id, status, n in session.execute(query):
        counts[cast(int, seller_id)][str(getattr(status, "value", status))] = int(n)
    return counts


def links_of_seller(session: Session, seller_id: int) -> list[SellerLink]:
    return list(
        session.execute(
            select(SellerLink)
            .where((SellerLink.seller_a == seller_id) | (SellerLink.seller_b == seller_id))
            .order_by(SellerLink.reason, SellerLink.key)
        ).scalars()
    )


def refresh_sellers(session: Session) -> NetworkSummary:
    """After a crawl or a scoring round: carry over listings named only by ``listings.seller``,
    rebuild links and networks, then every seller's risk score."""
    from db.risk import recompute_risk
    from db.sellers import carry_over_listing_sellers

    carry_over_listing_sellers(session)
    summary = recompute_networks(session)
    recompute_risk(session)
    return summary
