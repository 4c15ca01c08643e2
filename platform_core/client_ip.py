"""The client's address, for rate limits, sessions and logs.

By default it is the TCP peer (REMOTE_ADDR); request headers are ignored,
since any client can write them. Behind a reverse proxy set
TRUSTED_PROXY_HEADER (for example `X-Forwarded-For` or `X-Real-IP`) and
TRUSTED_PROXIES (the proxies' addresses or networks): the header is read
only when the peer is one of those proxies, and in an `X-Forwarded-For`
chain the client is the rightmost address that is not a trusted proxy (the
left part is whatever the client sent, so it is never believed).
"""

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(spec: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in spec if item.strip())


def _parse(value: str) -> IPAddress | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # [v6]:port
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # v4:port
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _trusted(addr: IPAddress | None, networks: tuple[IPNetwork, ...]) -> bool:
    return addr is not None and any(addr in net for net in networks)


def client_ip(request: HttpRequest) -> str | None:
    remote = request.META.get("REMOTE_ADDR") or None
    header = settings.TRUSTED_PROXY_HEADER
    if not header:
        return remote
    networks = _networks(tuple(settings.TRUSTED_PROXIES))
    if not _trusted(_parse(remote or ""), networks):
        return remote  # a direct client: its headers are its own words
    hops = [hop for hop in request.headers.get(header, "").split(",") if hop.strip()]
    for hop in reversed(hops):
        addr = _parse(hop)
        if addr is None:
            break  # not written by our proxy: stop believing the chain
        if not _trusted(addr, networks):
            return str(addr)
    return remote
