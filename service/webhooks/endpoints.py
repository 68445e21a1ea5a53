"""Where a webhook may point, and the one HTTP request that reaches it.

Outside development an endpoint must be HTTPS on a public address: loopback, private,
link-local, multicast, reserved and documentation addresses are refused, and so are IPv6
addresses that embed such an IPv4 address (IPv4-mapped, 6to4, NAT64) or tunnel to one
that cannot be checked (IPv4-compatible, Teredo, local-use NAT64). The host is resolved when the
webhook is registered and again at every send, and the request goes to the very address
just checked (the connection is pinned to it, TLS still verifies the host name), so a name
that later resolves inside the network (DNS rebinding) reaches nothing there. Redirects
are not followed.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from urllib.parse import SplitResult, urlsplit

from flask import current_app

MAX_RESPONSE_BYTES = 512


class UnsafeEndpoint(ValueError):
    """The URL is malformed, or its host is not (or no longer) a public address."""


def _allow_private() -> bool:
    return bool(current_app.config["WEBHOOKS_ALLOW_PRIVATE"])


def check_url(url: str) -> SplitResult:
    """Refuse what is not an absolute https URL without credentials or fragment."""
    if any(not ch.isprintable() or ch.isspace() or ord(ch) > 126 for ch in url):
        raise UnsafeEndpoint("Write the URL in ASCII, percent-encoded, without spaces.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeEndpoint(f"Not a valid URL: {exc}.") from exc
    schemes = ("https", "http") if _allow_private() else ("https",)
    if parts.scheme not in schemes:
        raise UnsafeEndpoint("The URL must start with https://.")
    if not parts.hostname:
        raise UnsafeEndpoint("The URL names no host.")
    if parts.username is not None or parts.password is not None:
        raise UnsafeEndpoint("The URL must not carry credentials.")
    if parts.fragment:
        raise UnsafeEndpoint("The URL must not have a fragment.")
    if port == 0:
        raise UnsafeEndpoint("The URL names port 0.")
    return parts


def _networks(*cidrs: str) -> tuple:
    return tuple(ipaddress.ip_network(cidr) for cidr in cidrs)


# Not globally reachable per the IANA special-purpose registries, refused even where the
# running Python's `ipaddress` is older than the registry (3.11 calls 192.0.0.8 global).
NOT_GLOBAL = _networks(
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
    "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    "::/96", "100::/64", "2001::/23", "2001:db8::/32", "3fff::/20",
    "5f00::/16", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8", "64:ff9b:1::/48",
)  # fmt: skip
SIX_TO_FOUR = ipaddress.ip_network("2002::/16")
NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a mapped, 6to4 or NAT64 address reaches: it is the one to judge."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public(address: str) -> bool:
    """Globally routable, and so is any IPv4 address it embeds (IPv4-compatible, Teredo and
    local-use NAT64 addresses are refused whole: NOT_GLOBAL holds them)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6 and (embedded := _embedded_ipv4(ip)) is not None:
        ip = embedded
    if any(ip in network for network in NOT_GLOBAL if network.version == ip.version):
        return False
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def resolve(url: str) -> tuple[SplitResult, list[str]]:
    """Check the URL and resolve its host; every address must be public (unless allowed)."""
    parts = check_url(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UnsafeEndpoint(f"The host {parts.hostname} cannot be resolved.") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise UnsafeEndpoint(f"The host {parts.hostname} cannot be resolved.")
    if not _allow_private():
        for address in addresses:
            if not is_public(address):
                raise UnsafeEndpoint(
                    f"The host {parts.hostname} resolves to {address}, which is not a public "
                    "address."
                )
    return parts, addresses


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int | None, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.pinned_address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.pinned_address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int | None, *, address: str, timeout: float) -> None:
        self.tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self.tls)
        self.pinned_address = address

    def connect(self) -> None:
        sock = socket.create_connection((self.pinned_address, self.port), self.timeout)
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int, str]:
    """POST to the checked address; return the status and the start of the answer.

    Raises UnsafeEndpoint, OSError (connection, TLS, timeout) or http.client.HTTPException."""
    parts, addresses = resolve(url)
    https = parts.scheme == "https"
    kind = _PinnedHTTPSConnection if https else _PinnedHTTPConnection
    port = parts.port or (443 if https else 80)  # explicit: an IPv6 host must not parse as one
    connection = kind(parts.hostname, port, address=addresses[0], timeout=timeout)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
        answer = response.read(MAX_RESPONSE_BYTES).decode("utf-8", "replace")
        return response.status, f"{response.reason} {answer}".strip()
    finally:
        connection.close()
