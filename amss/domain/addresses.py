"""Which network addresses a webhook may be delivered to in production: public unicast ones only.

Loopback, private (RFC 1918, unique-local), link-local (including the cloud metadata address
169.254.169.254), shared (100.64/10), multicast, reserved and unspecified addresses are refused, and
an IPv4 address written as IPv6 (`::ffff:127.0.0.1`, `::127.0.0.1`, 6to4/NAT64 forms) is judged as the
IPv4 address it carries.
"""

from __future__ import annotations

import ipaddress
from typing import Final

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64: Final = ipaddress.ip_network("64:ff9b::/96")


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, compatible, 6to4, NAT64), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    packed = int(address)
    # the deprecated IPv4-compatible form ::a.b.c.d (but not :: and ::1)
    if packed >> 32 == 0 and packed > 1:
        return ipaddress.IPv4Address(packed)
    return None


def is_public_address(address: IPAddress) -> bool:
    """True for a globally routable unicast address."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = embedded_ipv4(address)
        if inner is not None:
            return is_public_address(inner)
    return address.is_global and not address.is_multicast and not address.is_reserved


def parse_address(text: str) -> IPAddress | None:
    """The address written in `text` (brackets and an IPv6 zone allowed), or None if it is not one."""
    candidate = text.strip("[]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(candidate)
    except ValueError:
        return None
