"""The demo's staff-communication scene: directory, practice changes, the weekly digest, an
acknowledgement through the digest's own link, and an announcement to one site.

Everything goes through the public HTTP API and pages, as a coordinator and a staff member would
use them; `demo.py` runs it as one of its SCENES.
"""

from __future__ import annotations

import asyncio
import re
import time
from email import message_from_bytes, policy
from typing import Any

from notifier.staff.digest import describe
from notifier.staff.keys import run_messages_key

from notifier.demo.context import Demo

STAFF = {
    # TA: the employment area (työllisyysalue); PR: the provider.
    "TKU-TA-1": {"name": "Tiina Turunen", "email": "tiina.turunen@tyollisyysalue.turku.example", "language": "fi",
                 "organisation": "employment-area", "site": "turku"},
    "TKU-PR-1": {"name": "Sofia Lindqvist", "email": "sofia.lindqvist@infopiste.example", "language": "sv",
                 "organisation": "provider", "site": "turku"},
    "SAL-TA-1": {"name": "Sami Salonen", "email": "sami.salonen@tyollisyyspalvelut.salo.example", "phone": "040 765 4321",
                 "language": "fi", "organisation": "employment-area", "site": "salo"},
    "SAL-PR-1": {"name": "Saara Sjöblom", "email": "saara.sjoblom@infopiste.example", "phone": "050 123 9876",
                 "language": "sv", "organisation": "provider", "site": "salo"},
}

CHANGES = [
    {"title": {"fi": "Poissaolijalle soitetaan heti alkuinfon alettua",
               "sv": "Den som uteblir ringer vi upp genast när startinfon har börjat"},
     "body": {"fi": "Turussa sovittu käytäntö koskee nyt kaikkia toimipaikkoja: soita jokaiselle poissaolijalle "
                    "heti alkuinfon alettua ja kerro, että palvelu on velvoittava.\n\n"
                    "Soittolista tulee sähköpostiisi automaattisesti.",
              "sv": "Arbetssättet som avtalades i Åbo gäller nu alla verksamhetsställen: ring alla som uteblir genast "
                    "när startinfon har börjat och berätta att tjänsten är obligatorisk.\n\n"
                    "Samtalslistan kommer automatiskt till din e-post."},
     "effective_from": "2026-12-07"},
    {"title": {"fi": "Uusi CV-pohja valmennukseen"},
     "body": {"fi": "Käytä valmennuksessa 1.12. alkaen uutta yhteistä CV-pohjaa. Vanha pohja poistuu käytöstä."},
     "effective_from": "2026-12-01", "organisations": ["provider"]},
]

ANNOUNCEMENT = {
    "subject": {"fi": "Salon alkuinfo siirtyy torstaihin", "sv": "Startinfon i Salo flyttas till torsdag"},
    "body": {"fi": "Ensi viikon alkuinfo pidetään torstaina klo 9 tavallisessa paikassa.",
             "sv": "Nästa veckas startinfo hålls på torsdag kl. 9 på det vanliga stället."},
    "audience": {"sites": ["salo"]},
    "channels": ["email", "sms"],
}


async def staff_scene(demo: "Demo") -> None:
    for staff_id, body in STAFF.items():
        await demo.api("PUT", f"/api/staff/{staff_id}", body)
    change_ids = [(await demo.api("POST", "/api/practice-changes", c))["id"] for c in CHANGES]

    started = await demo.api("POST", "/api/digests/run", {})
    report = await _finished(demo, started["id"])
    digest_ids = sorted(i.decode() for i in await demo.runtime.redis.smembers(run_messages_key(started["id"])))
    demo.message_ids += digest_ids

    # Tiina opens her digest and presses "I have read this" under the first change.
    tiina = await demo.runtime.store.find("staff", "TKU-TA-1")
    [digest] = [m for m in tiina if m.template == "digest"]
    eml = demo.settings.outbox_dir / "email" / f"{digest.id}.eml"
    await _wait_file(eml)
    text = message_from_bytes(eml.read_bytes(), policy=policy.default).get_body(("plain",)).get_content()  # type: ignore[union-attr]
    ack_url = re.findall(r"https?://\S+/acknowledge/\S+", text)[0]
    async with demo.http.post(ack_url) as resp:
        if resp.status != 200:
            raise RuntimeError(f"acknowledging answered {resp.status}")
    acks = await demo.api("GET", f"/api/practice-changes/{change_ids[0]}/acknowledgements")

    answer = await demo.api("POST", "/api/announcements", ANNOUNCEMENT)
    demo.message_ids += answer["messages"]

    demo.notes.append(describe(report))
    demo.notes.append(f"Tiina's digest: {eml}")
    demo.notes.append(
        f"Acknowledgements of change {change_ids[0]}: {acks['acknowledged']} of {acks['concerned']} read; "
        + "; ".join(f"{g['organisation']}/{g['site']}: {len(g['acknowledged'])} read, {len(g['not_acknowledged'])} not"
                    for g in acks["groups"])
    )
    demo.notes.append(f"Announcement {answer['id']} to Salo: {answer['recipients']} recipients "
                      f"(GET /api/announcements/{answer['id']})")


async def _finished(demo: "Demo", run_id: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        report = await demo.api("GET", f"/api/digests/runs/{run_id}")
        if report["complete"] or time.monotonic() > deadline:
            return report
        await asyncio.sleep(0.05)


async def _wait_file(path: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
