"""`/metrics`: Prometheus text with the service's totals, the same from every web process."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.support.service import referral

from notifier.messages import metrics


async def scrape(svc) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with svc.http.get(svc.url + "/metrics") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain; version=")
        text = await resp.text()
    out = {}
    for family in text_string_to_metric_families(text):
        assert family.name.startswith("notifier_"), family.name
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_count_messages_sends_webhooks_and_queue_for_all_processes(start_service, smtp):
    sink, port = smtp
    sink.refuse_with, sink.refuse_times = "451 4.3.0 later", 1
    smtp_settings = {"email_backend": "smtp", "smtp_host": "127.0.0.1", "smtp_port": port,
                     "signing_secrets": ("metrics-test-secret",)}
    a = await start_service(**smtp_settings)
    b = await start_service(**smtp_settings)  # a second web process with its own worker
    ids = []
    for i, svc in enumerate([a, b, a]):
        status, answer = await svc.case.send("client.referred", referral(f"C-90{i}", "fi"))
        assert status == 202
        ids += answer["messages"]
    status, _ = await b.case.send("client.referred", referral("C-909", "fi", email=None))  # no channel
    bad = referral("C-910")
    bad["client"]["language"] = "en"
    assert (await a.case.send("client.referred", bad))[0] == 422
    a.case.secret = "whsec_" + "A" * 40
    assert (await a.case.send("client.referred", referral("C-911")))[0] == 401
    for mid in ids:
        assert (await a.final(mid)).status == "sent"
    status, _ = await a.api("POST", "/api/digests/run", json={})
    assert status == 202

    seen_a, seen_b = await scrape(a), await scrape(b)
    for name in ("notifier_messages_total", "notifier_webhooks_total", "notifier_send_duration_seconds_count"):
        assert {k: v for k, v in seen_a.items() if k[0] == name} == {k: v for k, v in seen_b.items() if k[0] == name}
    m = "notifier_messages_total"
    assert value(seen_a, m, template="referral", channel="email", status="created") == 3
    assert value(seen_a, m, template="referral", channel="email", status="sent") == 3
    assert value(seen_a, m, template="referral", channel="email", status="sending") == 4  # one was retried
    assert value(seen_a, m, template="referral", channel="email", status="temporary-failure") == 1
    assert value(seen_a, m, template="referral", channel="none", status="permanent-failure") == 1
    w = "notifier_webhooks_total"
    assert value(seen_a, w, endpoint="/webhooks/case-events", status="202") == 4
    assert value(seen_a, w, endpoint="/webhooks/case-events", status="422") == 1
    assert value(seen_a, w, endpoint="/webhooks/case-events", status="401") == 1
    h = "notifier_send_duration_seconds"
    assert value(seen_a, h + "_count", channel="email") == 4  # every hand-over to SMTP, failed or not
    assert value(seen_a, h + "_bucket", channel="email", le="+Inf") == 4
    assert 0 < value(seen_a, h + "_sum", channel="email") < 4 * 30
    buckets = [value(seen_a, h + "_bucket", channel="email", le=metrics.bucket_label(b)) for b in metrics.BUCKETS]
    assert buckets == sorted(buckets)  # cumulative
    assert value(seen_a, "notifier_digest_runs_total") == 1
    assert value(seen_a, "notifier_digest_last_run_timestamp_seconds") > 0
    assert ("notifier_queue_jobs", (("state", "due"),)) in seen_a
    assert ("notifier_messages_unsettled", ()) in seen_a


async def test_queue_depth_shows_waiting_sends(start_service):
    svc = await start_service(worker=False)
    for i in range(3):
        await svc.case.send("client.referred", referral(f"C-92{i}", "fi"))
    seen = await scrape(svc)
    assert value(seen, "notifier_queue_jobs", state="due") == 3
    assert value(seen, "notifier_messages_unsettled") == 3
    assert value(seen, "notifier_messages_total", template="referral", channel="email", status="sent") == 0


def test_bucket_labels_cover_every_duration():
    assert metrics.bucket_label(0.0) == "0.005"
    assert metrics.bucket_label(0.005) == "0.005"
    assert metrics.bucket_label(0.3) == "0.5"
    assert metrics.bucket_label(61) == "+Inf"
