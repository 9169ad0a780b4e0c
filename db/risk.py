"""The seller risk score: who to look at first.

For each seller, from its own rows and its network's:

- ``C`` confirmed hits of the seller's whole network (an operator's storefronts share their record);
- ``c`` confirmed hits of the seller itself;
- ``L`` live listings of the seller with an undismissed detection (seen within ``live_days`` of the
  seller's marketplace's latest sighting of any listing, so a marketplace not crawled lately does
  not make everything look gone);
- ``d`` days since the seller's latest undismissed detection (recency ``r = exp(-d / 30)``);
- ``N`` sellers in its network.

``raw = (3·c + C + L) · (0.25 + 0.75·r) · (1 + ln N)`` and ``risk = 100 · (1 − exp(−raw / 10))``,
rounded to 0.1: 0 without any undismissed hit, 9.5 for one fresh unconfirmed live listing, 39.3 for
one fresh confirmed live hit, 71.6 for that seller when it is one of three linked storefronts whose
network has two confirmed hits. The weights are documented
defaults, not fitted; ``docs/sellers.md`` shows worked examples.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from db.models import Detection, DetectionStatus, Listing, ListingImage, Seller

LIVE_DAYS = 14
RECENCY_DAYS = 30.0


def risk_score(
    own_confirmed: int,
    network_confirmed: int,
    live_listings: int,
    days_since_hit: float | None,
    network_size: int,
) -> float:
    """The documented formula (module docstring); ``days_since_hit`` None means no undismissed hit."""
    if days_since_hit is None and own_confirmed == 0 and live_listings == 0:
        return 0.0
    recency = math.exp(-max(days_since_hit or 0.0, 0.0) / RECENCY_DAYS)
    raw = (3 * own_confirmed + network_confirmed + live_listings) * (0.25 + 0.75 * recency)
    raw *= 1 + math.log(max(network_size, 1))
    return round(100 * (1 - math.exp(-raw / 10)), 1)


def _aware(moment: datetime | str | None) -> datetime | None:
    if moment is None:
        return None
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def recompute_risk(session: Session, now: datetime | None = None, live_days: int = LIVE_DAYS) -> int:
    """Set ``sellers.risk_score`` for every seller; returns how many changed."""
    now = now or datetime.now(UTC)
    sellers = session.execute(
        select(Seller.id, Seller.network_id, Seller.marketplace_id, Seller.risk_score)
    ).all()
    if not sellers:
        return 0
    network_size: dict[int, int] = defaultdict(int)
    for _id, network_id, _m, _r in sellers:
        network_size[int(network_id or _id)] += 1
    latest_seen = {
        int(m): _aware(t)
        for m, t in session.execute(
            select(Listing.marketplace_id, func.max(Listing.last_seen)).group_by(Listing.marketplace_id)
        )
    }
    confirmed: dict[int, int] = defaultdict(int)
    live: dict[int, int] = defaultdict(int)
    last_hit: dict[int, datetime] = {}
    rows = session.execute(
        select(
            Listing.seller_id,
            Listing.id,
            Listing.marketplace_id,
            Listing.last_seen,
            Detection.status,
            Detection.created_at,
        )
        .join(ListingImage, ListingImage.listing_id == Listing.id)
        .join(Detection, Detection.listing_image_id == ListingImage.id)
        .where(Listing.seller_id.is_not(None), Detection.status != DetectionStatus.DISMISSED)
    ).all()
    live_listings: dict[int, set[int]] = defaultdict(set)
    for seller_id, listing_id, marketplace_id, last_seen, status, created_at in rows:
        seller_id = cast(int, seller_id)
        if str(getattr(status, "value", status)) == DetectionStatus.CONFIRMED.value:
            confirmed[seller_id] += 1
        latest = latest_seen.get(int(marketplace_id))
        seen = _aware(last_seen)
        if latest is not None and seen is not None and seen >= latest - timedelta(days=live_days):
            live_listings[seller_id].add(int(listing_id))
        created = _aware(created_at)
        if created is not None and (seller_id not in last_hit or created > last_hit[seller_id]):
            last_hit[seller_id] = created
    for seller_id, listings in live_listings.items():
        live[seller_id] = len(listings)
    network_confirmed: dict[int, int] = defaultdict(int)
    for seller_id, network_id, _m, _r in sellers:
        network_confirmed[int(network_id or seller_id)] += confirmed.get(int(seller_id), 0)
    changes: list[dict[str, Any]] = []
    for seller_id, network_id, _m, old in sellers:
        network = int(network_id or seller_id)
        hit = last_hit.get(int(seller_id))
        score = risk_score(
            confirmed.get(int(seller_id), 0),
            network_confirmed[network],
            live.get(int(seller_id), 0),
            (now - hit).total_seconds() / 86400 if hit else None,
            network_size[network],
        )
        if old is None or abs(float(old) - score) > 1e-9:
            changes.append({"seller": int(seller_id), "score": score})
    if changes:
        table = cast(Table, Seller.__table__)
        session.execute(
            update(table).where(table.c.id == bindparam("seller")).values(risk_score=bindparam("score")),
            changes,
        )
    session.flush()
    return len(changes)
