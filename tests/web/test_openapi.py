"""The OpenAPI document: valid 3.1, covers every route of the app, renders at /api/docs, and the
real app keeps to it under schemathesis (no 5xx, no answer that breaks the schema)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Iterator

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from schemathesis.checks import (
    content_type_conformance, not_a_server_error, response_schema_conformance, status_code_conformance,
)

from tests.support.service import API_TOKEN, SECRET

from notifier.casework.case_system import signed_headers
from notifier.app.config import Settings
from notifier.web.openapi import document
from notifier.app.embedded_redis import EmbeddedRedis, free_port
from notifier.sealing import generate_key
from notifier.web.application import create_app

METHODS = {"GET", "POST", "PUT", "DELETE", "PATCH"}


def app_routes(app) -> set[tuple[str, str]]:
    return {(r.method.lower(), r.resource.canonical) for r in app.router.routes()
            if r.method in METHODS and r.resource is not None}


def test_document_is_valid_openapi_3_1():
    doc = document("https://notifier.example")
    validate(doc)
    assert doc["openapi"].startswith("3.1")
    assert set(doc["webhooks"]) == {"message.status", "call_prompt.outcome", "practice_change.acknowledged",
                                    "client.unreachable", "client.rebooked"}


def test_every_request_body_has_an_example_and_errors_say_what_they_mean_on_their_path():
    from notifier.web.openapi import problems

    doc = document("https://notifier.example")
    generic = {code: answer["description"] for code, answer in problems(401, 404, 409, 422, 503).items()}
    checked = 0
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            for media_type, media in operation.get("requestBody", {}).get("content", {}).items():
                assert "example" in media or media.get("examples"), (method, path, media_type)
            if not path.startswith(("/api/", "/webhooks/", "/metrics")):
                continue
            for code in ("401", "404", "409", "422", "503"):
                if code in operation["responses"]:
                    assert operation["responses"][code]["description"] != generic[code], (method, path, code)
                    checked += 1
    assert checked > 30
    # The README's examples of the events, one each (of the coaching events, the one carrying a coach).
    examples = doc["paths"]["/webhooks/case-events"]["post"]["requestBody"]["content"]["application/json"]["examples"]
    assert sorted(examples) == ["client.coach_assigned", "client.referred", "kickoff.attendance", "kickoff.cancelled",
                                "kickoff.scheduled"]


async def test_contacts_of_an_unknown_client_are_an_empty_list_as_documented(start_service):
    svc = await start_service(worker=False)
    status, answer = await svc.api("GET", "/api/clients/C-NEVER-SEEN/contacts")
    assert status == 200 and answer == {"client_id": "C-NEVER-SEEN", "contacts": []}
    documented = document()["paths"]["/api/clients/{id}/contacts"]["get"]["responses"]
    assert "empty list" in documented["200"]["description"] and "unknown client is a 200" in documented["404"]["description"]


def test_every_route_of_the_app_is_documented_and_nothing_else(tmp_path):
    app = create_app(Settings(webhook_secret=SECRET, redis_url="redis://127.0.0.1:1/0", data_dir=tmp_path))
    doc = document()
    documented = {(method, path) for path, item in doc["paths"].items() for method in item if method.upper() in METHODS}
    routes = app_routes(app)
    assert routes - documented == set(), "routes missing from notifier/openapi.py"
    assert documented - routes == set(), "documented operations the app does not have"
    ids = [o["operationId"] for item in doc["paths"].values() for o in item.values()]
    assert len(ids) == len(set(ids))


# -- the real app on loopback, in a thread of its own (schemathesis calls it synchronously) ---------


class ServedApp:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from aiohttp import web

        asyncio.set_event_loop(self.loop)
        runner = web.AppRunner(create_app(self.settings), access_log=None)
        self.loop.run_until_complete(runner.setup())
        self.loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port).start())
        self.runner = runner
        self.ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(runner.cleanup())
        self.loop.close()

    def __enter__(self) -> "ServedApp":
        self.thread.start()
        assert self.ready.wait(30)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApp]:
    redis = EmbeddedRedis(tmp_path_factory.mktemp("openapi-redis"))
    url = redis.start()
    settings = Settings(
        redis_url=url, data_dir=tmp_path_factory.mktemp("openapi-data"), webhook_secret=SECRET, api_token=API_TOKEN,
        data_keys=(generate_key(),), public_url="http://notifier.test", signing_secrets=("openapi-test-signing-secret",),
        staff_email_domains=("tyollisyysalue.example",), sms_callback_token="sms-callback-token",
    )
    try:
        with ServedApp(settings) as app:
            yield app
    finally:
        redis.stop()


@pytest.fixture(scope="module")
def api_schema(served: ServedApp):
    doc = requests.get(served.url + "/api/openapi.json", timeout=10).json()
    return schemathesis.openapi.from_dict(doc)


def test_docs_page_shows_every_operation_and_loads_nothing_from_elsewhere(served):
    resp = requests.get(served.url + "/api/docs", timeout=10)
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/html")
    page = resp.text
    doc = document()
    for path, item in doc["paths"].items():
        for method in item:
            assert f'{method.upper()}</span>{path}' in page, (method, path)
    for name in doc["components"]["schemas"]:
        assert f'id="schema-{name}"' in page
    assert "message.status" in page and "practice_change.acknowledged" in page
    assert "<script" not in page and "src=" not in page and "@import" not in page
    assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
    spec = requests.get(served.url + "/api/openapi.json", timeout=10)
    assert spec.json()["servers"] == [{"url": "http://notifier.test"}]


schema = schemathesis.pytest.from_fixture("api_schema")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@schema.parametrize()
@settings(max_examples=20, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck), database=None)
def test_the_app_keeps_to_its_openapi_document(case, served):
    """Generated requests (valid and invalid) get no 5xx and only documented, well-formed answers.

    Bearer tokens and case-event signatures are added, so that generated data gets past them."""
    headers = {"Authorization": f"Bearer {API_TOKEN}"}
    if case.path == "/webhooks/case-events" and case.method == "POST":
        # Sign the very bytes schemathesis would send (valid or not), so that they reach the checks
        # behind the signature. Undecodable bodies are left unsigned (they get 401).
        request = requests.Request(**case.as_transport_kwargs(base_url=served.url, headers=headers)).prepare()
        body = request.body or b""
        raw = body if isinstance(body, bytes) else body.encode()
        try:
            signature = signed_headers(SECRET, raw.decode("utf-8"))
        except UnicodeDecodeError:
            signature = {}
        for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
            if name in signature:
                request.headers[name] = signature[name]
        with requests.Session() as session:
            response = session.send(request, timeout=30, allow_redirects=False)
        case.validate_response(response, checks=CHECKS)
        return
    if case.path == "/webhooks/sms-status":
        case.query = {**(case.query or {}), "token": "sms-callback-token"}
    response = case.call(base_url=served.url, headers=headers, timeout=30, allow_redirects=False)
    case.validate_response(response, checks=CHECKS)

