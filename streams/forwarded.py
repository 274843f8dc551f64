"""Which address a request came from, when proxies stand in front of the gateway.

``X-Forwarded-For`` is written by whoever sends the request, so it says something only when the
gateway's direct peer is a proxy the operator trusts (``STREAMS_TRUSTED_PROXIES``). Each trusted
proxy appends the address it received the request from; reading the chain from the right, past
every trusted proxy, the first address that is not one of ours is the client: anything left of it
may have been written by the client itself. No trusted proxies (the default) means the header is
never read and the socket's peer is the client.

Plain functions, no I/O: the handlers feed them the peer and the header.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(raw: str) -> tuple[IPNetwork, ...]:
    """``"10.0.0.0/8, 127.0.0.1, ::1"`` -> networks; a single address is a /32 (/128).

    Raises ``ValueError`` naming the first entry that is neither an address nor a network.
    """
    networks = []
    for part in raw.split(","):
        entry = part.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or CIDR network") from None
    return tuple(networks)


def parse_address(text: str) -> IPAddress | None:
    """An address as proxies write it: ``1.2.3.4``, ``1.2.3.4:5678``, ``2001:db8::1``,
    ``[2001:db8::1]:443``; None for anything else (``unknown``, an obfuscated name)."""
    text = text.strip().strip('"')
    if text.startswith("["):
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_trusted(address: IPAddress | None, trusted: Sequence[IPNetwork]) -> bool:
    return address is not None and any(address in network for network in trusted)


def client_address(peer: str, forwarded_for: str | Iterable[str] | None, trusted: Sequence[IPNetwork]) -> str:
    """The client's address: the socket peer, unless that peer is a trusted proxy, then the
    right-most address of ``X-Forwarded-For`` that is not a trusted proxy.

    When every listed address is trusted, the left-most one is the client (the request started
    inside). An entry that is not an address stops the walk: the trusted hop that wrote it is
    the last address known to be true.
    """
    if not trusted or not is_trusted(parse_address(peer), trusted):
        return peer
    if forwarded_for is None:
        return peer
    headers = [forwarded_for] if isinstance(forwarded_for, str) else list(forwarded_for)
    chain = [entry.strip() for header in headers for entry in header.split(",") if entry.strip()]
    known = peer
    for entry in reversed(chain):
        address = parse_address(entry)
        if address is None:
            return known
        known = str(address)
        if not is_trusted(address, trusted):
            return known
    return known
