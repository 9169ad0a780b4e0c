"""Which IP addresses are not public: one rule for every fetcher (the crawler's fetch policy, the
evidence fetcher, the command line's check of a typed URL). Pure: no I/O."""

from __future__ import annotations

import ipaddress

_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT: not public either


def non_public_kind(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """``"loopback"``, ``"private"``, … for an address a crawl must not reach; None when public."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return non_public_kind(ip.ipv4_mapped)
    checks = (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("unspecified", ip.is_unspecified),
        ("reserved", ip.is_reserved),
        ("shared", isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED),
        ("private", ip.is_private),
        ("non-global", not ip.is_global),
    )
    return next((name for name, hit in checks if hit), None)
