"""Helpers for the staff-communication tests: a service with signing secret and SMTP, API calls,
links read out of real e-mails."""

from __future__ import annotations

import re
from email.message import EmailMessage
from typing import Any

from tests.support.service import Service, ServiceFactory, SmtpSink, wait_for

SIGNING_SECRET = "test-signing-secret-0123456789"
STAFF_DOMAINS = ("tyollisyysalue.example", "infopiste.example")

TURKU_FI = {"name": "Tiina Turunen", "email": "tiina.turunen@tyollisyysalue.example", "phone": "040 1234567",
            "language": "fi", "organisation": "te-office", "site": "turku"}
TURKU_SV = {"name": "Sofia Lindqvist", "email": "sofia.lindqvist@infopiste.example", "language": "sv",
            "organisation": "provider", "site": "turku"}
SALO_FI = {"name": "Sami Salonen", "email": "sami.salonen@tyollisyysalue.example", "phone": "02 7771234",
           "language": "fi", "organisation": "te-office", "site": "salo"}
SALO_SV = {"name": "Siv Holm", "email": "siv.holm@infopiste.example", "phone": "+358 50 765 4321",
           "language": "sv", "organisation": "provider", "site": "salo"}

GENERAL = {"title": {"fi": "Uusi ohjauslomake", "sv": "Ny hänvisningsblankett"},
           "body": {"fi": "Käytä 1.12. alkaen uutta lomaketta.\n\nVanha poistuu.",
                    "sv": "Använd den nya blanketten från 1.12.\n\nDen gamla tas bort."},
           "effective_from": "2026-12-07"}
SALO_ONLY = {"title": {"fi": "Salon alkuinfot torstaisin"}, "body": {"fi": "Alkuinfot pidetään torstaisin klo 9."},
             "effective_from": "2026-12-10", "sites": ["salo"]}


async def staff_service(start_service: ServiceFactory, smtp: tuple[SmtpSink, int] | None = None, **changes: Any) -> Service:
    opts: dict[str, Any] = {"signing_secrets": (SIGNING_SECRET,), "staff_email_domains": STAFF_DOMAINS}
    if smtp is not None:
        opts.update(email_backend="smtp", smtp_host="127.0.0.1", smtp_port=smtp[1])
    opts.update(changes)
    return await start_service(**opts)


async def put_staff(svc: Service, staff_id: str, body: dict[str, Any]) -> dict[str, Any]:
    status, answer = await svc.api("PUT", f"/api/staff/{staff_id}", json=body)
    assert status in (200, 201), answer
    return answer


async def post_change(svc: Service, body: dict[str, Any]) -> str:
    status, answer = await svc.api("POST", "/api/practice-changes", json=body)
    assert status == 201, answer
    return answer["id"]


async def run_digest(svc: Service, week: str | None = None, timeout: float = 15) -> dict[str, Any]:
    """Start a run through the API and wait until the workers have finished it."""
    status, started = await svc.api("POST", "/api/digests/run", json={"week": week} if week else {})
    assert status == 202, started
    return await finished_run(svc, started["id"], timeout)


async def finished_run(svc: Service, run_id: str, timeout: float = 15) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        status, report = await svc.api("GET", f"/api/digests/runs/{run_id}")
        assert status == 200
        return report if report["complete"] else None

    return await wait_for(done, timeout)


def to(msg: EmailMessage) -> str:
    return msg["To"].addresses[0].addr_spec


def mails_to(sink: SmtpSink, address: str) -> list[EmailMessage]:
    return [m for m in sink.messages if to(m) == address]


def text_of(msg: EmailMessage) -> str:
    return msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def html_of(msg: EmailMessage) -> str:
    return msg.get_body(("html",)).get_content()  # type: ignore[union-attr]


def links_in(text: str, kind: str) -> list[str]:
    """URLs like http://notifier.test/<kind>/<token> in a message's text."""
    return re.findall(rf"https?://[^\s<>\"]+/{kind}/[A-Za-z0-9_.\-]+", text)


def local_path(url: str, svc: Service) -> str:
    """A link from a message (under NOTIFIER_PUBLIC_URL) as a URL of the test server."""
    return svc.url + "/" + url.split("://", 1)[1].split("/", 1)[1]
