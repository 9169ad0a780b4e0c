"""Brands kept apart: the one place that says which rows a user may see and act on.

An admin sees everything. A reviewer sees the brands granted to them (``user_brands``) and, through
them:

- detections of those brands' originals (a logo-only detection, which names no original, belongs to
  no brand and is for admins);
- those originals, and the listing images that have a detection on one of them;
- sellers with a detection on those brands, and every seller of the same network (an operator's
  other storefronts are the point of a network), with hit counts of the granted brands only;
- report rows of those brands.

Every review query takes a :class:`BrandScope` and applies it in SQL (:func:`restrict_detections`
and the ``*_visible`` checks), so a template or a route cannot forget it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import Session

from db.models import Brand, Detection, Listing, ListingImage, Original, Role, Seller, User, UserBrand


@dataclass(frozen=True)
class BrandScope:
    """The brands a user may see: ``brand_ids`` None means all of them (an admin)."""

    brand_ids: frozenset[int] | None

    @classmethod
    def everything(cls) -> BrandScope:
        return cls(None)

    @classmethod
    def of(cls, brand_ids: Iterable[int]) -> BrandScope:
        return cls(frozenset(int(b) for b in brand_ids))

    @property
    def unrestricted(self) -> bool:
        return self.brand_ids is None

    def allows_brand(self, brand_id: int | None) -> bool:
        if self.brand_ids is None:
            return True
        return brand_id is not None and brand_id in self.brand_ids

    def ids(self) -> list[int]:
        """The granted brand ids as a list for ``IN (...)`` (empty: nothing is visible)."""
        return sorted(self.brand_ids or ())


def granted_brand_ids(session: Session, user_id: int) -> list[int]:
    return sorted(
        int(b)
        for b in session.execute(select(UserBrand.brand_id).where(UserBrand.user_id == user_id)).scalars()
    )


def scope_for_user(session: Session, user: User | None) -> BrandScope:
    """What ``user`` may see: everything for an active admin, the granted brands for a reviewer,
    nothing for no user."""
    if user is None:
        return BrandScope.of(())
    if user.role == Role.ADMIN:
        return BrandScope.everything()
    return BrandScope.of(granted_brand_ids(session, user.id))


def grant_brands(session: Session, user_id: int, brand_ids: Iterable[int]) -> None:
    """Grant brands to a user (already granted ones are kept)."""
    have = set(granted_brand_ids(session, user_id))
    for brand_id in sorted(set(brand_ids) - have):
        session.add(UserBrand(user_id=user_id, brand_id=brand_id))
    session.flush()


def revoke_brands(session: Session, user_id: int, brand_ids: Iterable[int]) -> None:
    for brand_id in set(brand_ids):
        row = session.get(UserBrand, (user_id, brand_id))
        if row is not None:
            session.delete(row)
    session.flush()


# --- conditions -----------------------------------------------------------------------------------------


def _granted_originals(scope: BrandScope) -> Select[Any]:
    return select(Original.id).where(Original.brand_id.in_(scope.ids()))


def restrict_detections(query: Select[Any], scope: BrandScope) -> Select[Any]:
    """``query`` (over detections) limited to the scope's brands."""
    if scope.unrestricted:
        return query
    return query.where(Detection.original_id.in_(_granted_originals(scope)))


def detection_condition(scope: BrandScope) -> Any:
    """A WHERE condition on ``Detection`` for the scope (``true`` for admins)."""
    if scope.unrestricted:
        return Detection.id.is_not(None)
    return Detection.original_id.in_(_granted_originals(scope))


def visible_seller_ids(scope: BrandScope) -> Select[Any]:
    """Sellers in a network (a seller alone is its own) with a detection of the scope's brands."""
    hit_sellers = (
        select(Listing.seller_id)
        .join(ListingImage, ListingImage.listing_id == Listing.id)
        .join(Detection, Detection.listing_image_id == ListingImage.id)
        .where(detection_condition(scope), Listing.seller_id.is_not(None))
    )
    networks = select(Seller.network_id).where(Seller.id.in_(hit_sellers), Seller.network_id.is_not(None))
    return select(Seller.id).where(Seller.id.in_(hit_sellers) | Seller.network_id.in_(networks))


# --- checks one row at a time ------------------------------------------------------------------------


def original_visible(session: Session, scope: BrandScope, original_id: int) -> bool:
    brand_id = session.execute(select(Original.brand_id).where(Original.id == original_id)).scalar()
    return brand_id is not None and scope.allows_brand(int(brand_id))


def listing_image_visible(session: Session, scope: BrandScope, image_id: int) -> bool:
    """A listing image is visible when it has a detection the scope may see."""
    if scope.unrestricted:
        return session.get(ListingImage, image_id) is not None
    query = select(exists().where(Detection.listing_image_id == image_id, detection_condition(scope)))
    return bool(session.execute(query).scalar())


def seller_visible(session: Session, scope: BrandScope, seller_id: int) -> bool:
    if scope.unrestricted:
        return session.get(Seller, seller_id) is not None
    query = visible_seller_ids(scope).where(Seller.id == seller_id)
    return session.execute(query).first() is not None


def network_visible(session: Session, scope: BrandScope, network_id: int) -> bool:
    query = select(Seller.id).where(Seller.network_id == network_id)
    if not scope.unrestricted:
        query = query.where(Seller.id.in_(visible_seller_ids(scope)))
    return session.execute(query.limit(1)).first() is not None


def visible_brands(session: Session, scope: BrandScope) -> list[tuple[int, str]]:
    query = select(Brand.id, Brand.name).order_by(Brand.name)
    if not scope.unrestricted:
        query = query.where(Brand.id.in_(scope.ids()))
    return [(int(i), str(n)) for i, n in session.execute(query)]
