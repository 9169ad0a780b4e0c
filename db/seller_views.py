"""Sellers and networks as the review app shows them, limited to a :class:`db.scoping.BrandScope`.

Hit counts only count detections of the scope's brands; a seller or network is listed only when the
scope may see it (``db.scoping.visible_seller_ids``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import Detection, Listing, ListingImage, Marketplace, Seller, SellerContact, SellerLink
from db.networks import hit_counts, links_among, links_of_seller
from db.scoping import BrandScope, detection_condition, network_visible, seller_visible, visible_seller_ids
from db.sellers import contacts_of, listing_counts

MAX_ROWS = 500


@dataclass
class SellerRow:
    id: int
    name: str | None
    marketplace: str
    network_id: int | None
    network_size: int
    risk_score: float
    listings: int
    hits: dict[str, int]
    first_seen: datetime | None
    last_seen: datetime | None
    profile_url: str | None = None
    profile_error: str | None = None
    contacts: list[SellerContact] = field(default_factory=list)


def _network_sizes(session: Session, network_ids: list[int]) -> dict[int, int]:
    if not network_ids:
        return {}
    rows = session.execute(
        select(Seller.network_id, func.count())
        .where(Seller.network_id.in_(network_ids))
        .group_by(Seller.network_id)
    ).all()
    return {cast(int, n): int(c) for n, c in rows}


def _rows(session: Session, scope: BrandScope, sellers: list[tuple[Seller, str]]) -> list[SellerRow]:
    ids = [s.id for s, _ in sellers]
    sizes = _network_sizes(session, sorted({s.network_id for s, _ in sellers if s.network_id is not None}))
    hits = hit_counts(session, ids, None if scope.unrestricted else detection_condition(scope))
    counts = listing_counts(session, ids)
    contacts = contacts_of(session, ids)
    return [
        SellerRow(
            id=s.id,
            name=s.name,
            marketplace=marketplace,
            network_id=s.network_id,
            network_size=sizes.get(s.network_id or -1, 1),
            risk_score=float(s.risk_score or 0.0),
            listings=counts.get(s.id, 0),
            hits=hits.get(s.id, {}),
            first_seen=s.first_seen,
            last_seen=s.last_seen,
            profile_url=s.profile_url,
            profile_error=s.profile_error,
            contacts=contacts.get(s.id, []),
        )
        for s, marketplace in sellers
    ]


def sellers_by_risk(session: Session, scope: BrandScope, limit: int = MAX_ROWS) -> list[SellerRow]:
    """The sellers the scope may see, riskiest first."""
    query = (
        select(Seller, Marketplace.name)
        .join(Marketplace, Marketplace.id == Seller.marketplace_id)
        .order_by(Seller.risk_score.desc(), Seller.id)
        .limit(limit)
    )
    if not scope.unrestricted:
        query = query.where(Seller.id.in_(visible_seller_ids(scope)))
    return _rows(session, scope, [(s, str(m)) for s, m in session.execute(query)])


@dataclass
class SellerDetail:
    seller: SellerRow
    links: list[SellerLink]
    linked_names: dict[int, str]
    hit_listings: list[dict[str, Any]]


def seller_detail(session: Session, scope: BrandScope, seller_id: int) -> SellerDetail | None:
    """One seller with its contacts, links and listings with hits (None: missing or not visible)."""
    if not seller_visible(session, scope, seller_id):
        return None
    row = session.execute(
        select(Seller, Marketplace.name)
        .join(Marketplace, Marketplace.id == Seller.marketplace_id)
        .where(Seller.id == seller_id)
    ).one()
    seller = _rows(session, scope, [(row[0], str(row[1]))])[0]
    links = links_of_seller(session, seller_id)
    other_ids = {link.seller_a for link in links} | {link.seller_b for link in links}
    names = (
        dict(session.execute(select(Seller.id, Seller.name).where(Seller.id.in_(other_ids))).all())
        if other_ids
        else {}
    )
    query = (
        select(Detection.id, Detection.status, Detection.score, Listing.url, Listing.title)
        .join(ListingImage, ListingImage.id == Detection.listing_image_id)
        .join(Listing, Listing.id == ListingImage.listing_id)
        .where(Listing.seller_id == seller_id)
        .order_by(Detection.score.desc(), Detection.id)
        .limit(MAX_ROWS)
    )
    if not scope.unrestricted:
        query = query.where(detection_condition(scope))
    hit_listings = [
        {
            "detection_id": int(i),
            "status": str(getattr(st, "value", st)),
            "score": float(sc),
            "url": u,
            "title": t,
        }
        for i, st, sc, u, t in session.execute(query)
    ]
    return SellerDetail(
        seller=seller,
        links=links,
        linked_names={int(k): str(v) for k, v in names.items()},
        hit_listings=hit_listings,
    )


@dataclass
class NetworkDetail:
    network_id: int
    members: list[SellerRow]
    links: list[SellerLink]
    names: dict[int, str]

    @property
    def marketplaces(self) -> list[str]:
        return sorted({m.marketplace for m in self.members})

    @property
    def confirmed_hits(self) -> int:
        return sum(m.hits.get("confirmed", 0) for m in self.members)

    @property
    def hits(self) -> int:
        return sum(sum(m.hits.values()) - m.hits.get("dismissed", 0) for m in self.members)

    @property
    def shared_keys(self) -> list[tuple[str, str]]:
        return sorted({(link.reason, link.key) for link in self.links})

    def as_dict(self) -> dict[str, Any]:
        return {
            "network_id": self.network_id,
            "members": [
                {
                    "seller_id": m.id,
                    "name": m.name,
                    "marketplace": m.marketplace,
                    "risk_score": m.risk_score,
                    "listings": m.listings,
                    "hits": m.hits,
                    "contacts": [
                        {"kind": str(getattr(c.kind, "value", c.kind)), "value": c.value} for c in m.contacts
                    ],
                }
                for m in self.members
            ],
            "marketplaces": self.marketplaces,
            "links": [
                {"seller_a": link.seller_a, "seller_b": link.seller_b, "reason": link.reason, "key": link.key}
                for link in self.links
            ],
            "confirmed_hits": self.confirmed_hits,
            "hits": self.hits,
        }


def network_detail(session: Session, scope: BrandScope, network_id: int) -> NetworkDetail | None:
    """A network of two or more sellers: members, the links (reasons and keys), hits of the scope's
    brands. None when it does not exist, has one member, or the scope may not see it."""
    if not network_visible(session, scope, network_id):
        return None
    members = session.execute(
        select(Seller, Marketplace.name)
        .join(Marketplace, Marketplace.id == Seller.marketplace_id)
        .where(Seller.network_id == network_id)
        .order_by(Seller.id)
    ).all()
    if len(members) < 2:
        return None
    rows = _rows(session, scope, [(s, str(m)) for s, m in members])
    return NetworkDetail(
        network_id=network_id,
        members=rows,
        links=links_among(session, [r.id for r in rows]),
        names={r.id: r.name or f"#{r.id}" for r in rows},
    )


def visible_networks(session: Session, scope: BrandScope, limit: int = MAX_ROWS) -> list[NetworkDetail]:
    """Networks of two or more sellers the scope may see, largest and riskiest first."""
    query = (
        select(Seller.network_id)
        .where(Seller.network_id.is_not(None))
        .group_by(Seller.network_id)
        .having(func.count() >= 2)
        .order_by(func.max(Seller.risk_score).desc(), func.count().desc(), Seller.network_id)
        .limit(limit)
    )
    if not scope.unrestricted:
        networks_seen = select(Seller.network_id).where(Seller.id.in_(visible_seller_ids(scope)))
        query = query.where(Seller.network_id.in_(networks_seen))
    found = []
    for (network_id,) in session.execute(query):
        detail = network_detail(session, scope, cast(int, network_id))
        if detail is not None:
            found.append(detail)
    return found


def marketplace_sellers(session: Session, marketplace_id: int) -> list[tuple[int, str | None, int | None]]:
    """``(id, name, network_id)`` of every seller of one marketplace."""
    rows = session.execute(
        select(Seller.id, Seller.name, Seller.network_id).where(Seller.marketplace_id == marketplace_id)
    ).all()
    return [(int(i), n, k) for i, n, k in rows]


def links_touching(session: Session, seller_ids: list[int]) -> list[tuple[int, int, str, str]]:
    """``(seller_a, seller_b, reason, key)`` of every link with one end among ``seller_ids``."""
    if not seller_ids:
        return []
    rows = session.execute(
        select(SellerLink.seller_a, SellerLink.seller_b, SellerLink.reason, SellerLink.key).where(
            SellerLink.seller_a.in_(seller_ids) | SellerLink.seller_b.in_(seller_ids)
        )
    ).all()
    return [(int(a), int(b), str(r), str(k)) for a, b, r, k in rows]


def listings_linked_to_sellers(session: Session, marketplace_id: int) -> tuple[int, int]:
    """(listings of the marketplace that name a seller, those of them linked to a seller row)."""
    naming = select(func.count()).where(Listing.marketplace_id == marketplace_id, Listing.seller.is_not(None))
    linked = naming.where(Listing.seller_id.is_not(None))
    return int(session.execute(naming).scalar_one()), int(session.execute(linked).scalar_one())
