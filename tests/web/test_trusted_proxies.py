"""Client addresses behind a proxy: X-Forwarded-For counts only when the peer is a trusted proxy."""

from __future__ import annotations

import ipaddress

from notifier.app.config import parse_trusted_proxies
from notifier.web.throttle import client_address
from tests.support.staff import staff_service

LB = parse_trusted_proxies("10.0.0.0/8, 127.0.0.1")


def test_client_address_is_the_peer_unless_the_peer_is_trusted():
    assert client_address("203.0.113.9", ["198.51.100.1"], LB) == "203.0.113.9"  # a forged header is ignored
    assert client_address("10.0.0.5", ["198.51.100.1"], LB) == "198.51.100.1"
    assert client_address("10.0.0.5", [], LB) == "10.0.0.5"
    assert client_address("10.0.0.5", ["198.51.100.1, 10.0.0.7"], LB) == "198.51.100.1"  # two proxies
    # The client wrote its own header; the balancer appended the real address: the rightmost untrusted wins.
    assert client_address("10.0.0.5", ["1.2.3.4, 198.51.100.1"], LB) == "198.51.100.1"
    assert client_address("10.0.0.5", ["1.2.3.4", "198.51.100.1"], LB) == "198.51.100.1"
    assert client_address("10.0.0.5", ["10.0.0.8"], LB) == "10.0.0.8"  # only proxies: the leftmost
    assert client_address("10.0.0.5", ["2001:db8::1"], LB) == "2001:db8::1"
    assert client_address("10.0.0.5", ["1.1.1.1"], ()) == "10.0.0.5"  # nothing trusted
    assert LB[0] == ipaddress.ip_network("10.0.0.0/8")


async def _subscribe(svc, forwarded_for: str) -> int:
    async with svc.http.post(svc.url + "/subscribe", data={"email": "p@te-toimisto.example"},
                             headers={"X-Forwarded-For": forwarded_for}) as resp:
        return resp.status


async def test_subscribe_limit_is_per_client_behind_a_trusted_proxy(start_service):
    svc = await staff_service(start_service, worker=False, subscribe_limit_per_hour=2,
                              trusted_proxies=parse_trusted_proxies("127.0.0.1/32"))
    assert [await _subscribe(svc, "198.51.100.1") for _ in range(3)] == [200, 200, 429]
    # Another person behind the same balancer is not locked out by the first one.
    assert await _subscribe(svc, "198.51.100.2") == 200


async def test_forwarded_for_from_an_untrusted_peer_is_ignored(start_service):
    svc = await staff_service(start_service, worker=False, subscribe_limit_per_hour=2)
    assert [await _subscribe(svc, f"198.51.100.{i}") for i in range(3)] == [200, 200, 429]
