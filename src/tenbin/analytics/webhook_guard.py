"""Keep alert webhooks off private networks (SSRF guard), DNS rebinding included.

Any write-key holder can set a webhook URL, and the server POSTs to it: on a shared server that
would let a user make tenbin call internal services (cloud metadata at 169.254.169.254, admin
ports on loopback, the office LAN). So a webhook host must resolve only to public addresses,
checked when the URL is saved and again at each delivery (DNS answers can change).

Checking is not enough if the HTTP client then resolves the host again to connect: a rebinding DNS
server answers a public address to the check and 127.0.0.1 to the connect. `PinnedTransport`
closes that gap: it resolves once, checks every address, and sends the request to exactly those
addresses. It is the pattern of gradio's audited `safehttpx`: the request URL's host is swapped for
the checked IP, the Host header keeps the name, and httpx's `sni_hostname` extension makes TLS send
and verify the certificate against the name, not the IP.

The host is resolved with `socket.getaddrinfo`, so spellings such as `2130706433` or `0x7f.1`
(both 127.0.0.1) are judged by the address they reach; IPv6 forms embedding an IPv4 address
(`::ffff:a.b.c.d`, 6to4, NAT64) are judged by that address too. When a URL is saved, a host that does
not resolve passes (it cannot be reached at all); at delivery it is a connect error, retried.
TENBIN_WEBHOOK_ALLOW_PRIVATE=1 turns the check off for local use (a receiver on loopback); the
connection is still pinned.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Any

import httpx

from tenbin import config
from tenbin.errors import InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolve = Callable[[str, int], list[str]]
"""(host, port) → the host's addresses, best first: `system_resolve`, or a test's own answers."""

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


def system_resolve(host: str, port: int) -> list[str]:
    """The host's addresses from the OS resolver, in the order a client should try them."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return [str(info[4][0]) for info in infos]


def _addresses(url: httpx.URL, resolve: Resolve) -> list[IPAddress]:
    port = url.port or (443 if url.scheme == "https" else 80)
    found = [ipaddress.ip_address(a.split("%", 1)[0]) for a in resolve(url.raw_host.decode("ascii"), port)]
    return list(dict.fromkeys(found))


def checked_addresses(url: str | httpx.URL, resolve: Resolve = system_resolve) -> list[IPAddress]:
    """Every address the URL's host resolves to now, in the resolver's order; InvalidInput when one
    of them is not public (unless the guard is off). Connect to these: resolving again reopens the gap."""
    addresses = _addresses(httpx.URL(url), resolve)
    if config.WEBHOOK_ALLOW_PRIVATE.get_bool():
        return addresses
    for address in sorted(addresses, key=str):
        why = refusal(address)
        if why:
            raise InvalidInput(
                f"webhook_url {str(url)!r} reaches {address} ({why} address); webhooks may only call public "
                f"hosts, so tenbin cannot be used to reach internal services. Use a public URL, or set "
                f"{config.WEBHOOK_ALLOW_PRIVATE.env}=1 on the server to allow private addresses (local use).")
    return addresses


def check_public(url: str, resolve: Resolve = system_resolve) -> None:
    """InvalidInput unless every address the URL's host resolves to is public (or the guard is off)."""
    checked_addresses(url, resolve)


class PinnedTransport(httpx.HTTPTransport):
    """An httpx transport that connects only to addresses `checked_addresses` approved.

    Each host is resolved and checked once for the transport's life (one delivery), then every
    request and retry goes to those addresses, tried in order. A refused host raises InvalidInput
    before anything is sent. Keyword arguments go to `httpx.HTTPTransport` (e.g. `verify`).
    A custom transport also means no HTTP(S)_PROXY: a proxy would resolve the name itself.
    """

    def __init__(self, resolve: Resolve = system_resolve, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._resolve = resolve
        self._pins: dict[tuple[str, bytes, int | None], list[IPAddress]] = {}

    def _pinned(self, url: httpx.URL) -> list[IPAddress]:
        key = (url.scheme, url.raw_host, url.port)
        if key not in self._pins:
            addresses = checked_addresses(url, self._resolve)
            if not addresses:
                return []  # not pinned: a retry may resolve it
            self._pins[key] = addresses
        return self._pins[key]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        error: httpx.TransportError = httpx.ConnectError(
            f"host {url.host!r} does not resolve to any address; check the URL's host name", request=request)
        request.extensions = {**request.extensions, "sni_hostname": url.raw_host.decode("ascii")}
        for address in self._pinned(url):
            request.url = url.copy_with(host=str(address))
            try:
                return super().handle_request(request)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                error = type(exc)(f"{address}: {exc}", request=request)
            finally:
                request.url = url
        raise error
