"""`/api/openapi.json` (the OpenAPI 3.1 document) and `/api/docs` (that document as a web page).

The page is rendered on the server from the same document, with no script and nothing fetched
from elsewhere (the service may run where there is no internet). Neither needs a token: the
document describes the contract, not data.
"""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web
from markupsafe import Markup, escape

from notifier.web import openapi
from notifier.web.app_keys import RUNTIME

_REF = re.compile(r"&#34;#/components/schemas/([A-Za-z0-9_]+)&#34;")
METHODS = ("get", "put", "post", "delete", "patch")
HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}


def schema_html(schema: Any, compact: bool = False) -> Markup:
    """A schema as escaped JSON text whose `$ref`s link to the schema's section of the page."""
    if isinstance(schema, dict) and set(schema) == {"$ref"}:
        name = schema["$ref"].rsplit("/", 1)[1]
        return Markup(f'<a href="#schema-{escape(name)}">{escape(name)}</a>')
    text = json.dumps(schema, ensure_ascii=False, indent=None if compact else 2)
    linked = _REF.sub(lambda m: f'<a href="#schema-{m.group(1)}">{m.group(1)}</a>', str(escape(text)))
    return Markup(linked)


_CODE = re.compile(r"`([^`]+)`")


def prose(text: str) -> Markup:
    """Descriptions as escaped text, with `backticks` shown as code."""
    return Markup(_CODE.sub(lambda m: f"<code>{m.group(1)}</code>", str(escape(text))))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def page_context(doc: dict[str, Any]) -> dict[str, Any]:
    """The document rearranged for the template: operations by tag, schemas with links."""
    by_tag: dict[str, list[dict[str, Any]]] = {t["name"]: [] for t in doc.get("tags", [])}

    def add(method: str, path: str, operation: dict[str, Any]) -> None:
        body = None
        if "requestBody" in operation:
            rb = operation["requestBody"]
            media, content = next(iter(rb["content"].items()))
            body = {"media": media, "required": rb.get("required", False), "description": prose(rb.get("description", "")),
                    "schema_html": schema_html(content["schema"])}
        responses = []
        for code, r in operation["responses"].items():
            media, content = next(iter(r.get("content", {}).items()), (None, {}))
            responses.append({"code": code, "description": prose(r["description"]), "media": media,
                              "schema_html": schema_html(content.get("schema", {}), compact=True) if media else ""})
        entry = {
            "method": method, "path": path, "anchor": _slug(f"{method} {path}"), "summary": prose(operation.get("summary", "")),
            "description": prose(operation.get("description", "")), "body": body, "responses": responses,
            "security": [name for req in operation.get("security", []) for name in req],
            "parameters": [{**p, "description": prose(p.get("description", "")),
                            "schema_html": schema_html(p.get("schema", {}), compact=True)}
                           for p in operation.get("parameters", [])],
        }
        for tag in operation.get("tags", ["other"]):
            by_tag.setdefault(tag, []).append(entry)

    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                add(method, path, item[method])
    for name, item in doc.get("webhooks", {}).items():
        for method in METHODS:
            if method in item:
                add(method, f"(to NOTIFIER_STATUS_CALLBACK_URL) {name}", item[method])
    schemas = [{"name": name, "description": prose(s.get("description", "")), "html": schema_html(s)}
               for name, s in doc["components"]["schemas"].items()]
    return {
        "openapi": doc["openapi"], "schemas": schemas,
        "info": {**doc["info"], "description": prose(doc["info"]["description"])},
        "security_schemes": doc["components"]["securitySchemes"],
        "tags": [{"name": name, "slug": _slug(name), "operations": ops} for name, ops in by_tag.items() if ops],
    }


async def openapi_json(request: web.Request) -> web.Response:
    doc = openapi.document(request.app[RUNTIME].settings.public_url)
    return web.json_response(doc, headers=HEADERS)


async def api_docs(request: web.Request) -> web.Response:
    rt = request.app[RUNTIME]
    body = rt.renderer.page("api-docs.html", "fi", page_context(openapi.document(rt.settings.public_url)))
    return web.Response(text=body, content_type="text/html", charset="utf-8", headers={
        **HEADERS, "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'"})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/openapi.json", openapi_json)
    app.router.add_get("/api/docs", api_docs)
