"""Keep alert webhooks off private networks (SSRF guard).

Any write-key holder can set a webhook URL, and the server POSTs to it: on a shared server that
would let a user make tenbin call internal services (cloud metadata at 169.254.169.254, admin
ports on loopback, the office LAN). So a webhook host must resolve only to public addresses,
checked when the URL is saved and again before each delivery (DNS answers can change).

The host is resolved with `socket.getaddrinfo`, the way the HTTP client will resolve it, so
spellings such as `2130706433` or `0x7f.1` (both 127.0.0.1) are judged by the address they reach;
IPv6 forms embedding an IPv4 address (`::ffff:a.b.c.d`, 6to4, NAT64) are judged by that address too.
A host that does not resolve passes: it cannot be reached at all, and delivery checks it again.
TENBIN_WEBHOOK_ALLOW_PRIVATE=1 turns the guard off for local use (a receiver on loopback).
"""

from __future__ import annotations

import ipaddress
import socket

import httpx

from tenbin import config
from tenbin.errors import InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def refusal(address: IPAddress) -> str | None:
    """Why a webhook may not reach `address` (e.g. "loopback"), or None when it is public."""
    for embedded in _embedded_ipv4(address):
        why = refusal(embedded)
        if why:
            return why
    for why, hit in (("unspecified", address.is_unspecified), ("loopback", address.is_loopback),
                     ("link-local", address.is_link_local), ("multicast", address.is_multicast),
                     ("private", address.is_private), ("reserved", address.is_reserved),
                     ("not globally routable", not address.is_global)):
        if hit:
            return why
    return None


def _embedded_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    found = [address.ipv4_mapped, address.sixtofour, address.teredo[1] if address.teredo else None]
    if address in _NAT64:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return [a for a in found if a is not None]


def _addresses(url: httpx.URL) -> set[IPAddress]:
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(url.raw_host.decode("ascii"), port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return set()
    return {ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos}


def check_public(url: str) -> None:
    """InvalidInput unless every address the URL's host resolves to is public (or the guard is off)."""
    if config.WEBHOOK_ALLOW_PRIVATE.get_bool():
        return
    for address in sorted(_addresses(httpx.URL(url)), key=str):
        why = refusal(address)
        if why:
            raise InvalidInput(
                f"webhook_url {url!r} reaches {address} ({why} address); webhooks may only call public hosts, "
                f"so tenbin cannot be used to reach internal services. Use a public URL, or set "
                f"{config.WEBHOOK_ALLOW_PRIVATE.env}=1 on the server to allow private addresses (local use).")
