"""Webhook endpoints: every address that is not globally routable is refused, in every
form that reaches IPv4 from IPv6 (mapped, compatible, 6to4, Teredo, NAT64)."""

from __future__ import annotations

import pytest

from service.webhooks import endpoints

REFUSED = [
    # IPv4 special-purpose blocks
    ("0.0.0.0", "this network"),  # noqa: S104 - an address to classify, not to bind
    ("127.0.0.1", "loopback"),
    ("10.0.0.1", "private"),
    ("100.64.0.1", "shared address space (CGN)"),
    ("169.254.169.254", "link-local, cloud metadata"),
    ("172.31.255.255", "private"),
    ("192.0.0.8", "IETF protocol assignments"),
    ("192.0.0.170", "NAT64 discovery"),
    ("192.0.2.1", "TEST-NET-1"),
    ("192.88.99.1", "6to4 relay anycast (deprecated)"),
    ("192.168.1.1", "private"),
    ("198.18.0.1", "benchmarking"),
    ("198.51.100.1", "TEST-NET-2"),
    ("203.0.113.1", "TEST-NET-3"),
    ("224.0.0.1", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "broadcast"),
    # IPv6 special-purpose blocks
    ("::", "unspecified"),
    ("::1", "loopback"),
    ("100::1", "discard-only"),
    ("2001:db8::1", "documentation"),
    ("3fff::1", "documentation (2024)"),
    ("5f00::1", "SRv6 SIDs"),
    ("fc00::1", "unique local"),
    ("fd12:3456::1", "unique local"),
    ("fe80::1%eth0", "link-local with a zone"),
    ("fec0::1", "site-local (deprecated)"),
    ("ff02::1", "multicast"),
    # IPv4 inside IPv6
    ("::ffff:127.0.0.1", "IPv4-mapped loopback"),
    ("::ffff:169.254.169.254", "IPv4-mapped metadata"),
    ("::ffff:192.0.0.8", "IPv4-mapped IETF block"),
    ("::127.0.0.1", "IPv4-compatible (deprecated)"),
    ("::8.8.8.8", "IPv4-compatible, even of a public address"),
    ("2002:7f00:1::", "6to4 of 127.0.0.1"),
    ("2002:a9fe:a9fe::", "6to4 of 169.254.169.254"),
    ("2002:c000:8::1", "6to4 of 192.0.0.8"),
    ("2002:0a00:0001::1", "6to4 of 10.0.0.1"),
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "Teredo of 127.0.0.1"),
    ("2001:0:5ef5:79fd:0:0:f7f7:f7f7", "Teredo of 8.8.8.8"),
    ("64:ff9b::7f00:1", "NAT64 of 127.0.0.1"),
    ("64:ff9b::a9fe:a9fe", "NAT64 of the metadata address"),
    ("64:ff9b::c0a8:101", "NAT64 of 192.168.1.1"),
    ("64:ff9b:1::808:808", "local-use NAT64"),
]
ACCEPTED = [
    ("8.8.8.8", "public IPv4"),
    ("1.1.1.1", "public IPv4"),
    ("2606:4700:4700::1111", "public IPv6"),
    ("::ffff:8.8.8.8", "IPv4-mapped public"),
    ("2002:808:808::1", "6to4 of 8.8.8.8"),
    ("64:ff9b::808:808", "NAT64 of 8.8.8.8"),
]


@pytest.mark.parametrize(("address", "form"), REFUSED, ids=[a for a, _ in REFUSED])
def test_not_globally_routable_addresses_are_refused(address, form):
    assert endpoints.is_public(address) is False, form


@pytest.mark.parametrize(("address", "form"), ACCEPTED, ids=[a for a, _ in ACCEPTED])
def test_public_addresses_are_accepted(address, form):
    assert endpoints.is_public(address) is True, form


@pytest.mark.parametrize(
    "url", ["https://[2002:7f00:1::]/", "https://[2002:a9fe:a9fe::]/", "https://192.0.0.8/"]
)
def test_the_addresses_of_the_review_are_refused_at_registration(app, url):
    with app.app_context(), pytest.raises(endpoints.UnsafeEndpoint, match="not a public"):
        endpoints.resolve(url)
