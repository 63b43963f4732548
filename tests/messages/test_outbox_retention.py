"""Retention covers the outbox: e-mails, SMS and letter PDFs older than NOTIFIER_RETENTION_DAYS go."""

from __future__ import annotations

import os
import time

from tests.support.service import referral
from notifier.app.worker import erase_expired_personal_data

ADDRESS = {"street": "Kotikatu 1", "postal_code": "20100", "city": "Turku"}


async def test_retention_job_deletes_outbox_files_older_than_the_retention_period(start_service):
    svc = await start_service(retention_days=30)
    ids = []
    for body in (referral("C-6001"), referral("C-6002", email=None, address=ADDRESS)):
        status, answer = await svc.case.send("client.referred", body)
        assert status == 202
        ids += answer["messages"]
    for mid in ids:
        assert (await svc.final(mid)).status == "sent"
    sms = svc.outbox / "sms" / "old-sms.json"
    sms.parent.mkdir(parents=True, exist_ok=True)
    sms.write_text('{"to": "+358401234567", "body": "..."}')
    files = [p for p in svc.outbox.rglob("*") if p.is_file()]
    assert {p.suffix for p in files} == {".eml", ".pdf", ".json"}
    old = time.time() - 31 * 86400
    for path in files:
        os.utime(path, (old, old))
    status, answer = await svc.case.send("client.referred", referral("C-6003"))
    [fresh] = answer["messages"]
    assert (await svc.final(fresh)).status == "sent"

    await erase_expired_personal_data({"runtime": svc.runtime})  # the worker's hourly retention job

    left = [p for p in svc.outbox.rglob("*") if p.is_file()]
    assert [p.name for p in left] == [f"{fresh}.eml"]
