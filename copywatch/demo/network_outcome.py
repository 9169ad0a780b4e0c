"""What the demo's crawl made of the planted seller networks (see :mod:`copywatch.demo.sellers`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from db.seller_views import links_touching, listings_linked_to_sellers, marketplace_sellers


@dataclass
class NetworkOutcome:
    """Planted networks, the networks found on the demo marketplace, and links that cross them.

    Attributes:
        planted: the planted networks (seller names).
        found: every network of two or more sellers found (seller names).
        false_links: ``seller_links`` rows whose two sellers are not in one planted network.
        listings_naming_seller: listings whose page named a seller (``listings.seller``).
        listings_linked: those of them linked to a seller row.
    """

    planted: list[list[str]]
    found: list[list[str]] = field(default_factory=list)
    false_links: list[str] = field(default_factory=list)
    listings_naming_seller: int = 0
    listings_linked: int = 0

    @property
    def networks_found(self) -> int:
        """Planted networks found exactly: the same members, no more, no fewer."""
        found = {frozenset(n) for n in self.found}
        return sum(frozenset(n) in found for n in self.planted)

    def summary(self) -> dict[str, int]:
        return {
            "networks_planted": len(self.planted),
            "networks_found": self.networks_found,
            "network_false_links": len(self.false_links),
        }

    def lines(self) -> list[str]:
        out = [
            f"seller networks: {self.networks_found} of {len(self.planted)} planted found exactly, "
            f"{len(self.false_links)} false links; "
            f"{self.listings_linked} of {self.listings_naming_seller} listings naming a seller linked to one"
        ]
        out += [f"  network: {', '.join(sorted(n))}" for n in self.found]
        out += [f"  false link: {link}" for link in self.false_links]
        return out


def collect_networks(session: Session, planted: list[list[str]], marketplace_id: int) -> NetworkOutcome:
    """Read the demo marketplace's sellers, links and networks back from the database."""
    sellers = marketplace_sellers(session, marketplace_id)
    name_of = {seller_id: str(name) for seller_id, name, _ in sellers}
    by_network: dict[int, list[str]] = {}
    for seller_id, name, network_id in sellers:
        by_network.setdefault(network_id or seller_id, []).append(str(name))
    outcome = NetworkOutcome(planted=[sorted(n) for n in planted])
    outcome.found = sorted(sorted(n) for n in by_network.values() if len(n) >= 2)
    network_of_name = {name: i for i, members in enumerate(planted) for name in members}
    for a, b, reason, key in links_touching(session, list(name_of)):
        first, second = name_of.get(a, f"#{a}"), name_of.get(b, f"#{b}")
        together = network_of_name.get(first) is not None and network_of_name.get(
            first
        ) == network_of_name.get(second)
        if not together:
            outcome.false_links.append(f"{first} - {second} ({reason}: {key})")
    outcome.listings_naming_seller, outcome.listings_linked = listings_linked_to_sellers(
        session, marketplace_id
    )
    return outcome
