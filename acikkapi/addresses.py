"""Client addresses as the rate limits count them: IPv6 clients by their /64 (one subscriber's network)."""

import ipaddress
from functools import lru_cache

MAX_ADDRESS_LENGTH = 64  # an IPv6 address with a zone is shorter; anything longer is refused uncached


def counted_address(host: str) -> str | None:
    """The address `host` counts as, or None when it is not an IP address."""
    return _counted(host) if len(host) <= MAX_ADDRESS_LENGTH else None


@lru_cache(maxsize=4096)  # the same clients come back: parse each address once
def _counted(host: str) -> str | None:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if address.version == 6:
        if address.ipv4_mapped:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network((address, 64), strict=False).network_address)
    return str(address)
