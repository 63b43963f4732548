"""The OpenAPI 3.1 document of every HTTP endpoint: webhooks in, the API, the pages, and the
status callbacks out (as OpenAPI `webhooks`). Served at `/api/openapi.json`, rendered at `/api/docs`.

Paths, descriptions and answers are written here, next to the code they describe (the README is
the prose). Request bodies are not: their schemas are generated from the models that validate
them (`MODELS`: `casework/events.py`, `staff/contract.py`, `kickoff/contract.py`), and the
console's form fields are those models' too (`console/forms.py`). `tests/web/test_openapi.py`
fails when a route of the app is missing here, and runs schemathesis against the real app to
check that every answer matches what is written.
"""

from __future__ import annotations

from typing import Any

import msgspec

from notifier.casework.events import EVENT
from notifier.console.forms import ANNOUNCEMENT_FIELDS, CHANGE_FIELDS, STAFF_FIELDS
from notifier.kickoff.contract import CallOutcomeInput
from notifier.staff.contract import AnnouncementInput, ChangeInput, DigestRunInput, StaffInput
from notifier.messages import callbacks as cb
from notifier.messages import contact_log as contacts
from notifier.messages import status as st

OPENAPI = "3.1.0"
PROBLEM_JSON = "application/problem+json"
JSON = "application/json"
HTML = "text/html"

Schema = dict[str, Any]


# -- building blocks ------------------------------------------------------------------------------


REF = "#/components/schemas/{name}"


def ref(name: str) -> Schema:
    return {"$ref": REF.format(name=name)}


def string(description: str = "", **extra: Any) -> Schema:
    out: Schema = {"type": "string", **extra}
    if description:
        out["description"] = description
    return out


def nullable(schema: Schema) -> Schema:
    """`schema` or null (OpenAPI 3.1: a list of types, or `anyOf` for references)."""
    if "$ref" in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    kind = schema.get("type")
    return {**schema, "type": [kind, "null"]} if isinstance(kind, str) else {"anyOf": [schema, {"type": "null"}]}


def obj(properties: dict[str, Schema], required: list[str] | tuple[str, ...] = (), description: str = "",
        **extra: Any) -> Schema:
    out: Schema = {"type": "object", "properties": properties, **extra}
    if required:
        out["required"] = list(required)
    if description:
        out["description"] = description
    return out


def array(items: Schema, **extra: Any) -> Schema:
    return {"type": "array", "items": items, **extra}


def json_body(schema: Schema, description: str = "", required: bool = True, *, example: Any = None,
              examples: dict[str, Any] | None = None) -> Schema:
    """A JSON request body with an example (or named examples, one per kind of body) to copy."""
    media: Schema = {"schema": schema}
    if examples:
        media["examples"] = {name: {"summary": name, "value": value} for name, value in examples.items()}
    else:
        media["example"] = example
    out: Schema = {"required": required, "content": {JSON: media}}
    if description:
        out["description"] = description
    return out


def form_body(schema: Schema, example: dict[str, str]) -> Schema:
    return {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": schema, "example": example}}}


def answer(description: str, schema: Schema | None = None, media: str = JSON) -> Schema:
    out: Schema = {"description": description}
    if schema is not None:
        out["content"] = {media: {"schema": schema}}
    return out


def html(description: str) -> Schema:
    return answer(description, string(), HTML)


def problems(*codes: int, why: dict[int, str] | None = None) -> dict[str, Schema]:
    """Error answers: RFC 9457 problem details; `why` says what a code means on this path."""
    generic = {
        400: "Body not UTF-8 or not JSON (duplicate keys, nesting deeper than 32).",
        401: "Missing or wrong credentials (bearer token, signature or callback token).",
        403: "The token's role may not do this (coordinators' operations need the coordinators' token).",
        404: "No such thing.",
        409: "Conflict: changed concurrently, or the value belongs to someone else.",
        413: "Body larger than the limit (1 MiB by default).",
        415: "Content-Type is not JSON.",
        422: "Well-formed but against the contract; `errors` names every offending field.",
        503: "A dependency is unavailable (Redis, or a missing setting); retry later.",
    }
    specific = {**generic, **(why or {})}
    return {str(c): answer(specific[c], ref("Problem"), PROBLEM_JSON) for c in codes}


# Per-path meanings of the answers that differ from path to path (the generic texts above are
# for codes that mean the same everywhere: 400, 413, 415).
CASE_401 = "No bearer token, or not the case systems' (NOTIFIER_API_TOKEN) nor the coordinators' token."
COORD_401 = "No bearer token, or not one the service knows."
COORD_403 = "The case systems' token: this needs the coordinators' (NOTIFIER_COORDINATOR_TOKEN)."
REDIS_503 = "Redis does not answer: nothing was changed; try again later."


def _example_staff() -> dict[str, Any]:
    return {"name": "Tiina Turunen", "email": "tiina.turunen@te-toimisto.example", "phone": "040 1234567",
            "language": "fi", "organisation": "te-office", "site": "turku", "digest": True}


#: The README's examples of each case-system event.
EVENT_EXAMPLES: dict[str, Any] = {
    "client.referred": {"type": "client.referred", "data": {
        "client": {"id": "C-1001", "first_name": "Matti", "last_name": "Meikäläinen", "language": "fi",
                   "email": "matti@example.fi", "phone": "040 1234567"},
        "referred_at": "2026-11-30T09:00:00+02:00",
        "office": {"name": {"fi": "Turun seudun työllisyysalue", "sv": "Åbonejdens sysselsättningsområde"},
                   "phone": "02 262 3000"},
        "provider": {"name": "Työelämän Infopiste Oy", "phone": "02 123 4567", "email": "info@example.fi"}}},
    "kickoff.scheduled": {"type": "kickoff.scheduled", "data": {
        "session": {"id": "S-2026-12-03-TKU", "starts_at": "2026-12-03T09:00:00+02:00",
                    "ends_at": "2026-12-03T11:00:00+02:00", "site": "turku",
                    "location": {"name": "Työnvälityspiste", "street": "Ratapihankatu 36", "postal_code": "20100",
                                 "city": "Turku"},
                    "staff": {"id": "ST-7", "name": "Maija Meikäläinen", "email": "maija.meikalainen@example.fi",
                              "language": "fi"}},
        "invitees": [{"id": "C-1001", "first_name": "Matti", "last_name": "Meikäläinen", "language": "fi",
                      "email": "matti@example.fi", "phone": "040 1234567"}]}},
    "kickoff.attendance": {"type": "kickoff.attendance", "data": {
        "session_id": "S-2026-12-03-TKU", "attended": ["C-1001"],
        "next_session": {"starts_at": "2026-12-10T09:00:00+02:00"}}},
    "kickoff.cancelled": {"type": "kickoff.cancelled", "data": {"session_id": "S-2026-12-03-TKU"}},
    "client.coach_assigned": {"type": "client.coach_assigned", "data": {
        "client_id": "C-1001", "at": "2026-12-01T10:00:00+02:00",
        "coach": {"id": "K-7", "name": "Kaisa Valmentaja", "email": "kaisa@example.fi", "language": "fi",
                  "site": "turku"}}},
}


def path_id(description: str, name: str = "id") -> Schema:
    return {"name": name, "in": "path", "required": True, "description": description, "schema": string(minLength=1)}


def query(name: str, description: str, required: bool = False, **schema: Any) -> Schema:
    return {"name": name, "in": "query", "required": required, "description": description,
            "schema": string(**schema)}


def op(tag: str, summary: str, responses: dict[str, Schema], *, description: str = "", security: str | None = None,
       parameters: list[Schema] | None = None, body: Schema | None = None, operation_id: str = "") -> Schema:
    out: Schema = {"tags": [tag], "summary": summary, "responses": responses}
    if operation_id:
        out["operationId"] = operation_id
    if description:
        out["description"] = description
    if security:
        out["security"] = [{security: []}]
    if parameters:
        out["parameters"] = parameters
    if body is not None:
        out["requestBody"] = body
    return out


# -- schemas --------------------------------------------------------------------------------------

#: Request bodies, generated from the models that validate them: name -> model.
MODELS: dict[str, Any] = {
    "CaseEvent": EVENT, "StaffInput": StaffInput, "ChangeInput": ChangeInput, "AnnouncementInput": AnnouncementInput,
    "DigestRunInput": DigestRunInput, "CallOutcomeInput": CallOutcomeInput,
}


def model_schemas() -> dict[str, Schema]:
    """JSON Schema (2020-12, as OpenAPI 3.1 takes it) of every model in MODELS and what they use."""
    names = list(MODELS)
    roots, components = msgspec.json.schema_components(list(MODELS.values()), ref_template=REF)
    out: dict[str, Schema] = {}
    for name, schema in [*zip(names, roots), *components.items()]:
        if schema == ref(name):
            continue  # a model that is a component itself: already among `components`
        out[name] = _tidy(schema)
    return out


def _tidy(schema: Any) -> Any:
    """Drop msgspec's `title` (the component's name says it) and empty `required` lists."""
    if isinstance(schema, dict):
        return {k: _tidy(v) for k, v in schema.items()
                if not (k == "title" and isinstance(v, str)) and not (k == "required" and v == [])}
    if isinstance(schema, (list, tuple)):  # a tuple default is a JSON array
        return [_tidy(v) for v in schema]
    return schema


LOCAL_TIME = "Aware date and time in NOTIFIER_TIMEZONE (Europe/Helsinki), ISO 8601."
LANGUAGE = string("Finnish or Swedish.", enum=["fi", "sv"])
STATUSES = sorted(st.ALL)


def schemas() -> dict[str, Schema]:
    message = obj({
        "id": string(), "template": string(), "channel": string(enum=["email", "sms", "letter", "suomifi", "none"]),
        "language": LANGUAGE, "status": string(enum=STATUSES), "reason": nullable(string()),
        "created_at": string(LOCAL_TIME, format="date-time"), "send_at": nullable(string(format="date-time")),
        "attempts": {"type": "integer", "minimum": 0},
        "name_fallback": array(string(), description="Fields (`office.name`, `location.street`, …) the event or the configuration "
                                         "gave only in the other language than the recipient's: the text uses that "
                                         "form. Fill in the missing language to fix it for the next messages."),
        "client_id": string(), "staff_id": string(), "session_id": string(),
        "recipient": obj({k: nullable(string("Masked.")) for k in ("email", "phone", "address", "personal_id")}),
        "history": array(obj({"status": string(enum=STATUSES), "at": string(format="date-time"),
                              "reason": nullable(string())}, ["status", "at", "reason"])),
    }, ["id", "template", "channel", "language", "status", "reason", "created_at", "send_at", "attempts", "recipient",
        "history"], "A message and its status history; the recipient masked.")
    call_prompt = obj({
        "id": string(), "session_id": string(), "client_id": string(), "staff_id": string(),
        "name": string("Shown unmasked: the staff member makes the call."), "phone": nullable(string()),
        "language": LANGUAGE, "status": string(enum=["open", "done", "withdrawn"]), "script": string(),
        "created_at": string(format="date-time"), "outcome": nullable(string(enum=["reached", "no-answer", "wrong-number", "rescheduled"])),
        "outcomes": array(obj({"outcome": string(), "note": nullable(string()), "at": string(format="date-time")},
                              ["outcome", "note", "at"])),
        "attempt": {"type": "integer", "minimum": 1,
                    "description": "1 for the first call; 2, 3, … for the follow-ups a `no-answer` schedules."},
        "due_at": nullable(string("A follow-up is due from this time (08:00 on the next working day); null for "
                                  "the first attempt.", format="date-time")),
    }, ["id", "session_id", "client_id", "staff_id", "name", "phone", "language", "status", "script", "created_at",
        "outcome", "outcomes", "attempt", "due_at"])
    staff_member = obj({
        "id": string(), "name": string(), "email": string(), "phone": nullable(string()), "language": LANGUAGE,
        "organisation": string(), "site": string(), "digest": {"type": "boolean"},
    }, ["id", "name", "email", "phone", "language", "organisation", "site", "digest"])
    change = obj({
        "id": string(), "title": obj({"fi": string(), "sv": string()}, ["fi"]), "body": obj({"fi": string(), "sv": string()}, ["fi"]),
        "effective_from": string(format="date"), "sites": array(string()), "organisations": array(string()),
        "posted_at": string(format="date-time"),
    }, ["id", "title", "body", "effective_from", "sites", "organisations", "posted_at"])
    run = obj({
        "id": string(), "week": string(), "trigger": string("What started it: cron, cli, api, …"),
        "started_at": string(format="date-time"), "cutoff": string(format="date-time"),
        **{k: {"type": "integer", "minimum": 0} for k in ("staff", "recipients", "queued", "digests", "sent", "pending", "failed")},
        "skipped": obj({k: {"type": "integer", "minimum": 0} for k in ("already_this_week", "nothing_new", "opted_out")},
                       ["already_this_week", "nothing_new", "opted_out"]),
        "complete": {"type": "boolean"},
    }, ["id", "week", "trigger", "started_at", "cutoff", "staff", "recipients", "queued", "digests", "sent", "pending",
        "failed", "skipped", "complete"])
    contact = obj({name: nullable(string()) for name in contacts.COLUMNS}
                  | {"client_id": string(), "kind": string(enum=[contacts.MESSAGE, contacts.CALL]), "id": string(),
                     "at": string("When the message was due, or the call recorded; " + LOCAL_TIME, format="date-time")},
                  list(contacts.COLUMNS), "One contact: a message (template, channel, status, times) or a recorded call.")
    callback = {
        cb.MESSAGE_STATUS: obj({
            "type": {"const": cb.MESSAGE_STATUS}, "timestamp": string(LOCAL_TIME, format="date-time"),
            "data": obj({
                "message_id": string(), "client_id": string(), "staff_id": string(), "session_id": string(),
                "coached_client_id": string("A coaching reminder's client (the message goes to the coach, `staff_id`)."),
                "template": string(), "channel": string(), "status": string(enum=sorted(cb.MESSAGE_STATUSES)),
                "reason": nullable(string()), "at": string(LOCAL_TIME, format="date-time"),
            }, ["message_id", "template", "channel", "status", "reason", "at"],
                "Ids of what the message is about (`client_id`, or `staff_id`, and `session_id` …) and its fate; "
                "never its content or the recipient's details."),
        }, ["type", "timestamp", "data"]),
        cb.CALL_PROMPT_OUTCOME: obj({
            "type": {"const": cb.CALL_PROMPT_OUTCOME}, "timestamp": string(format="date-time"),
            "data": obj({"call_prompt_id": string(), "session_id": string(), "client_id": string(), "staff_id": string(),
                         "outcome": string(enum=["reached", "no-answer", "wrong-number", "rescheduled"]),
                         "at": string(format="date-time")},
                        ["call_prompt_id", "session_id", "client_id", "staff_id", "outcome", "at"],
                        "The staff member's note is not sent."),
        }, ["type", "timestamp", "data"]),
        cb.PRACTICE_CHANGE_ACKNOWLEDGED: obj({
            "type": {"const": cb.PRACTICE_CHANGE_ACKNOWLEDGED}, "timestamp": string(format="date-time"),
            "data": obj({"practice_change_id": string(), "staff_id": string(), "at": string(format="date-time")},
                        ["practice_change_id", "staff_id", "at"]),
        }, ["type", "timestamp", "data"]),
        cb.CLIENT_UNREACHABLE: obj({
            "type": {"const": cb.CLIENT_UNREACHABLE}, "timestamp": string(format="date-time"),
            "data": obj({"client_id": string(), "session_id": string("The kickoff session the client missed."),
                         "call_prompt_id": string("The prompt of the last call."), "staff_id": string(),
                         "reason": string("`no-answer`: the last of NOTIFIER_CALL_ATTEMPTS calls went unanswered; "
                                          "`wrong-number`: staff recorded a wrong number.",
                                          enum=["no-answer", "wrong-number"]),
                         "attempts": {"type": "integer", "minimum": 1}, "at": string(format="date-time")},
                        ["client_id", "session_id", "call_prompt_id", "staff_id", "reason", "attempts", "at"],
                        "Once per client and missed session."),
        }, ["type", "timestamp", "data"]),
        cb.CLIENT_REBOOKED: obj({
            "type": {"const": cb.CLIENT_REBOOKED}, "timestamp": string(format="date-time"),
            "data": obj({"client_id": string(), "from_session_id": string("The session the client missed."),
                         "session_id": string("The session the client chose: they are now its invitee."),
                         "call_prompt_id": nullable(string("Their call prompt, now `rescheduled`.")),
                         "at": string(format="date-time")},
                        ["client_id", "from_session_id", "session_id", "call_prompt_id", "at"],
                        "The client chose a new kickoff session through the link in their no-show message."),
        }, ["type", "timestamp", "data"]),
    }
    return {
        **model_schemas(),
        "Problem": obj({
            "type": string(), "title": string(), "status": {"type": "integer"}, "detail": string(),
            "errors": array(obj({"field": string(), "detail": string()}, ["field", "detail"])),
        }, ["type", "title", "status", "detail"], "RFC 9457 problem details."),
        "Accepted": obj({
            "messages": array(string()), "session_id": string(), "call_prompts": array(string()),
            "client_id": string("For the coaching events."),
        }, ["messages"], "The ids of the messages stored and queued (and of the call prompts created)."),
        "Message": message,
        "CallPrompt": call_prompt,
        "StaffMember": staff_member,
        "PracticeChange": change,
        "DigestRun": run,
        "Contact": contact,
        "MessageStatusCallback": callback[cb.MESSAGE_STATUS],
        "CallPromptOutcomeCallback": callback[cb.CALL_PROMPT_OUTCOME],
        "PracticeChangeAcknowledgedCallback": callback[cb.PRACTICE_CHANGE_ACKNOWLEDGED],
        "ClientUnreachableCallback": callback[cb.CLIENT_UNREACHABLE],
        "ClientRebookedCallback": callback[cb.CLIENT_REBOOKED],
    }


# -- operations -----------------------------------------------------------------------------------

CASE = "caseSystemToken"
COORD = "coordinatorToken"


def signature_headers() -> list[Schema]:
    return [
        {"name": "webhook-id", "in": "header", "required": True, "schema": string(maxLength=256),
         "description": "Unique per event; the same id again gets the first answer (kept 7 days)."},
        {"name": "webhook-timestamp", "in": "header", "required": True, "schema": string(pattern="^[0-9]+$"),
         "description": "Unix seconds; at most 5 minutes off."},
        {"name": "webhook-signature", "in": "header", "required": True, "schema": string(),
         "description": "`v1,<base64 HMAC-SHA256 of id.timestamp.body>` with the shared `whsec_` secret."},
    ]


def paths() -> dict[str, Schema]:
    staff_id = path_id("Staff id.")
    page_token = path_id("The signed token from the link in an e-mail.", "token")
    page_language = {"name": "lang", "in": "query", "required": False, "schema": LANGUAGE,
                     "description": "Page language (else the browser's, else Finnish)."}
    page_answers = {"200": html("The page."), "404": html("The link is not valid (bad, expired or someone else's)."),
                    "503": html("NOTIFIER_SIGNING_SECRET is not set.")}
    bad_form = {"description": "The form again, with what is wrong; or a body that is not a form (problem details).",
                "content": {HTML: {"schema": string()}, PROBLEM_JSON: {"schema": ref("Problem")}}}
    form_answers = {**page_answers, "400": bad_form, **problems(413)}
    return {
        "/healthz": {"get": op("service", "Is the service up (Redis answers)?", {
            "200": answer("Up.", obj({"status": {"const": "ok"}, "redis": {"const": "up"}}, ["status", "redis"])),
            "503": answer("Redis does not answer.", obj({"status": {"const": "unavailable"}, "redis": {"const": "down"}},
                                                        ["status", "redis"])),
        }, operation_id="healthz")},
        "/metrics": {"get": op("service", "Prometheus metrics of the whole service", {
            "200": answer("Prometheus text format 0.0.4; names start with `notifier_`.", string(), "text/plain"),
            **problems(503, why={503: "Redis does not answer: the counters live there."}),
        }, description="Counters live in Redis, so every web process answers with the same totals (README \"Metrics\").",
            operation_id="metrics")},
        "/api/openapi.json": {"get": op("service", "This document", {"200": answer("OpenAPI 3.1.", {"type": "object"})},
                                        operation_id="openapi")},
        "/api/docs": {"get": op("service", "This document as a web page", {"200": html("Rendered on the server.")},
                                operation_id="docs")},

        "/webhooks/case-events": {"post": op("webhooks in", "A case-system event", {
            "202": answer("Accepted: every listed message is stored and its send queued.", ref("Accepted")),
            **problems(400, 401, 409, 413, 415, 422, 503, why={
                401: "A Standard Webhooks header is missing (the detail names it); the timestamp is more than 5 "
                     "minutes off this server's clock (the detail says by how many seconds, ahead or behind); or the "
                     "signature does not match: another secret, or the body changed after signing.",
                409: "The webhook-id was already used with a different body (the detail names it; a new event needs "
                     "a new id); or the same kickoff session was changed by concurrent requests and kept changing "
                     "(retry).",
                422: "The event breaks the contract, or the stored state refuses it (an unknown or cancelled session, "
                     "attendance before the session's start, another time under a scheduled id); `errors` names "
                     "each field.",
                503: "Redis does not answer: nothing was stored; send it again later, same webhook-id and body.",
            }),
        }, description="Signed per Standard Webhooks. Checks in order: size, signature and timestamp, content type, "
                       "JSON, contract, then handling; nothing is stored unless the answer is 202.",
            parameters=signature_headers(),
            body=json_body(ref("CaseEvent"), examples=EVENT_EXAMPLES),
            operation_id="caseEvent")},
        "/webhooks/sms-status": {"post": op("webhooks in", "SMS delivery reports (GatewayAPI)", {
            "200": answer("What each report did.", obj({"results": array(obj({
                "userref": nullable(string()), "result": string(enum=["moved", "kept", "in-transit", "ignored"]),
                "status": nullable(string()),
            }, ["userref", "result"]))}, ["results"])),
            **problems(400, 401, 413, 415, why={
                401: "The token is missing or not NOTIFIER_SMS_CALLBACK_TOKEN (or none is configured): nothing changed."}),
        }, parameters=[query("token", "NOTIFIER_SMS_CALLBACK_TOKEN, as given in the callback URL.", required=True)],
            body=json_body({"oneOf": [{"type": "object"}, array({"type": "object"}, maxItems=1000)]},
                           "`{\"id\", \"msisdn\", \"time\", \"status\", \"userref\", …}` or a list of them.",
                           example={"id": 1000001, "msisdn": 358401234567, "time": 1764486002, "status": "DELIVERED",
                                    "userref": "6f1c2b1e-8a8e-4c59-9d0e-2f3d7c1a9b10"}),
            operation_id="smsStatus")},

        "/api/messages/{id}": {"get": op("messages", "One message with its history", {
            "200": answer("The message.", ref("Message")),
            **problems(401, 404, why={401: CASE_401, 404: "No message with this id."}),
        }, security=CASE, parameters=[path_id("Message id.")], operation_id="getMessage")},
        "/api/messages": {"get": op("messages", "A client's, staff member's or session's messages", {
            "200": answer("Oldest first.", obj({"messages": array(ref("Message"))}, ["messages"])),
            **problems(401, 422, why={401: CASE_401, 422: "Not exactly one of client_id, staff_id, session_id."}),
        }, description="Give exactly one of the three.", security=CASE, parameters=[
            query("client_id", "Client id."), query("staff_id", "Staff id."), query("session_id", "Kickoff session id."),
        ], operation_id="listMessages")},
        "/api/call-prompts": {"get": op("call prompts", "A kickoff session's call prompts", {
            "200": answer("With names, phones and scripts.", obj({"session_id": string(), "call_prompts": array(ref("CallPrompt"))},
                                                                  ["session_id", "call_prompts"])),
            **problems(401, 404, 422, why={401: CASE_401, 404: "No kickoff session with this id has been scheduled.",
                                           422: "session_id is missing."}),
        }, security=CASE, parameters=[query("session_id", "Kickoff session id.", required=True)],
            operation_id="listCallPrompts")},
        "/api/call-prompts/{id}/outcome": {"post": op("call prompts", "Record how a call went", {
            "200": answer("The prompt with every call recorded.", ref("CallPrompt")),
            **problems(400, 401, 404, 413, 415, 422, 503, why={
                401: CASE_401, 404: "No call prompt with this id.",
                422: "outcome is missing or not one of the four, or note is not text or longer than 2000 characters; "
                     "nothing is recorded.", 503: REDIS_503}),
        }, security=CASE, parameters=[path_id("Call prompt id.")], body=json_body(
            ref("CallOutcomeInput"), example={"outcome": "rescheduled", "note": "Tulee seuraavaan alkuinfoon."}),
            operation_id="recordCallOutcome")},
        "/api/clients/{id}/contacts": {"get": op("contact log", "Every message and call to one client", {
            "200": answer("Oldest first; no content, no personal details. A client the service has not contacted "
                          "(or does not know: there is no client register) has an empty list.", obj({
                              "client_id": string(), "contacts": array(ref("Contact"))}, ["client_id", "contacts"])),
            **problems(401, 404, why={401: CASE_401, 404: "Not a client id at all (longer than 128 characters); an "
                                                          "unknown client is a 200 with no contacts."}),
        }, security=CASE, parameters=[path_id("Client id.")], operation_id="clientContacts")},
        "/api/contacts.csv": {"get": op("contact log", "Everyone's contacts over a range of days, as CSV", {
            "200": answer(f"UTF-8 CSV with a header row: {', '.join(contacts.COLUMNS)}.", string(), "text/csv"),
            **problems(401, 422, why={401: CASE_401, 422: "from or to is missing or not a date, to is before "
                                                          "from, or the range is longer than about five years."}),
        }, description="Days in NOTIFIER_TIMEZONE, both inclusive; messages by when they were due, calls by when "
                       "they were recorded.", security=CASE, parameters=[
            query("from", "First day, YYYY-MM-DD.", required=True, format="date"),
            query("to", "Last day, YYYY-MM-DD.", required=True, format="date"),
        ], operation_id="contactsCsv")},

        "/api/staff": {"get": op("staff", "The staff directory", {
            "200": answer("Everyone, or those of a site and/or organisation.", obj({"staff": array(ref("StaffMember"))}, ["staff"])),
            **problems(401, 403, why={401: COORD_401, 403: COORD_403}),
        }, security=COORD, parameters=[query("site", "Site code."), query("organisation", "Organisation code.")],
            operation_id="listStaff")},
        "/api/staff/{id}": {
            "get": op("staff", "One staff member", {"200": answer("The record.", ref("StaffMember")), **problems(
                401, 403, 404, why={401: COORD_401, 403: COORD_403, 404: "No staff member with this id."})},
                      security=COORD, parameters=[staff_id], operation_id="getStaff"),
            "put": op("staff", "Create or update a staff member", {
                "200": answer("Updated.", ref("StaffMember")), "201": answer("Created.", ref("StaffMember")),
                **problems(400, 401, 403, 409, 413, 415, 422, 503, why={
                    401: COORD_401, 403: COORD_403,
                    409: "The e-mail address is another staff member's (`errors` names `email` and who); nothing stored.",
                    422: "A field breaks the contract (`errors` names each: id, name, email, phone, language, "
                         "organisation, site, digest); nothing stored.", 503: REDIS_503}),
            }, description="`digest` left out on an update keeps what the person chose.", security=COORD,
                parameters=[staff_id], body=json_body(ref("StaffInput"), example=_example_staff()), operation_id="putStaff"),
            "delete": op("staff", "Remove a staff member", {"204": answer("Removed; their links stop working."),
                                                             **problems(401, 403, 404, why={
                                                                 401: COORD_401, 403: COORD_403,
                                                                 404: "No staff member with this id."})},
                         security=COORD, parameters=[staff_id], operation_id="deleteStaff"),
        },
        "/api/staff/{id}/revoke-links": {"post": op("staff", "Revoke every personal link of a staff member", {
            "200": answer("Revoked; links sent from now on work.", obj({"id": string(), "link_generation": {"type": "integer"}},
                                                                        ["id", "link_generation"])),
            **problems(401, 403, 404, 503, why={401: COORD_401, 403: COORD_403, 404: "No staff member with this id.",
                                               503: REDIS_503}),
        }, description="Preferences, unsubscribe and acknowledgement links sent to the person so far stop working.",
            security=COORD, parameters=[staff_id], operation_id="revokeStaffLinks")},
        "/api/practice-changes": {
            "post": op("practice changes", "Post a practice change", {
                "201": answer("Stored; it goes into the next digests.", ref("PracticeChange")),
                **problems(400, 401, 403, 413, 415, 422, 503, why={
                    401: COORD_401, 403: COORD_403,
                    422: "title, body, effective_from, sites or organisations break the contract (`errors` names each); "
                         "nothing stored.", 503: REDIS_503}),
            }, security=COORD, body=json_body(ref("ChangeInput"), example={
                "title": {"fi": "Uusi ohjauslomake", "sv": "Ny hänvisningsblankett"},
                "body": {"fi": "Käytä 7.12. alkaen uutta lomaketta.", "sv": "Använd den nya blanketten från 7.12."},
                "effective_from": "2026-12-07", "sites": ["turku", "salo"]}), operation_id="postPracticeChange"),
            "get": op("practice changes", "Practice changes, oldest first", {
                "200": answer("The changes.", obj({"practice_changes": array(ref("PracticeChange"))}, ["practice_changes"])),
                **problems(401, 403, 422, why={401: COORD_401, 403: COORD_403,
                                               422: "since is not a date, nor a date and time with an offset."}),
            }, security=COORD, parameters=[query("since", "A date (from its start) or a date and time with an offset; inclusive.")],
                operation_id="listPracticeChanges"),
        },
        "/api/practice-changes/{id}": {"get": op("practice changes", "One practice change", {
            "200": answer("The change.", ref("PracticeChange")),
            **problems(401, 403, 404, why={401: COORD_401, 403: COORD_403, 404: "No practice change with this id."}),
        }, security=COORD, parameters=[path_id("Practice change id.")], operation_id="getPracticeChange")},
        "/api/practice-changes/{id}/acknowledgements": {"get": op("practice changes", "Who has and has not read a change", {
            "200": answer("Per organisation and site.", obj({
                "practice_change": string(), "concerned": {"type": "integer"}, "acknowledged": {"type": "integer"},
                "not_acknowledged": {"type": "integer"},
                "groups": array(obj({
                    "organisation": string(), "site": string(),
                    "acknowledged": array(obj({"id": string(), "name": string(), "at": string(format="date-time")},
                                              ["id", "name", "at"])),
                    "not_acknowledged": array(obj({"id": string(), "name": string()}, ["id", "name"])),
                }, ["organisation", "site", "acknowledged", "not_acknowledged"])),
            }, ["practice_change", "concerned", "acknowledged", "not_acknowledged", "groups"])),
            **problems(401, 403, 404, why={401: COORD_401, 403: COORD_403, 404: "No practice change with this id."}),
        }, security=COORD, parameters=[path_id("Practice change id.")], operation_id="getAcknowledgements")},
        "/api/digests/run": {"post": op("digest", "Run the weekly digest now", {
            "202": answer("Started; follow it at /api/digests/runs/{id}.", ref("DigestRun")),
            **problems(400, 401, 403, 413, 422, 503, why={
                401: COORD_401, 403: COORD_403, 422: "week is not an ISO week like 2026-W49, or it has not started yet.",
                503: "NOTIFIER_SIGNING_SECRET is not set (digests carry signed personal links), or Redis does not answer."}),
        }, security=COORD, body=json_body(ref("DigestRunInput"), required=False, example={"week": "2026-W49"}),
            operation_id="runDigest")},
        "/api/digests/runs": {"get": op("digest", "The latest 20 digest runs", {
            "200": answer("Newest first.", obj({"runs": array(ref("DigestRun"))}, ["runs"])),
            **problems(401, 403, why={401: COORD_401, 403: COORD_403}),
        }, security=COORD, operation_id="listDigestRuns")},
        "/api/digests/runs/{id}": {"get": op("digest", "How a digest run went", {
            "200": answer("The report.", ref("DigestRun")),
            **problems(401, 403, 404, why={401: COORD_401, 403: COORD_403, 404: "No digest run with this id."}),
        }, security=COORD, parameters=[path_id("Run id.")], operation_id="getDigestRun")},
        "/api/announcements": {"post": op("announcements", "Send an announcement to staff", {
            "202": answer("Stored and queued.", obj({"id": string(), "recipients": {"type": "integer"},
                                                      "messages": array(string())}, ["id", "recipients", "messages"])),
            **problems(400, 401, 403, 409, 413, 415, 422, 503, why={
                401: COORD_401, 403: COORD_403,
                409: "The staff directory kept changing while the audience was being decided: send it again (with "
                     "the same Idempotency-Key it is still sent once).",
                422: "subject, body, audience (selects nobody, an unknown staff id), channels, send_at, or the SMS "
                     "length break the contract; `errors` names each; nothing is sent.", 503: REDIS_503}),
        }, security=COORD, parameters=[{"name": "Idempotency-Key", "in": "header", "required": False,
                                        "schema": string(maxLength=200),
                                        "description": "A repeat with the same key gets the first answer (7 days)."}],
            body=json_body(ref("AnnouncementInput"), example={
                "subject": {"fi": "Salon toimisto suljettu perjantaina", "sv": "Salokontoret stängt på fredag"},
                "body": {"fi": "Toimisto on suljettu perjantaina 11.12.", "sv": "Kontoret är stängt fredagen den 11.12."},
                "audience": {"sites": ["salo"]}, "channels": ["email", "sms"]}), operation_id="postAnnouncement")},
        "/api/announcements/{id}": {"get": op("announcements", "An announcement and how its messages fared", {
            "200": answer("With counts per status and every message.", obj({
                "id": string(), "subject": {"type": "object"}, "channels": array(string()), "audience": {"type": "object"},
                "send_at": nullable(string(format="date-time")), "created_at": string(format="date-time"),
                "recipients": {"type": "integer"}, "statuses": {"type": "object", "additionalProperties": {"type": "integer"}},
                "messages": array(obj({"message_id": string(), "staff_id": nullable(string()), "channel": string(),
                                       "language": LANGUAGE, "status": string(enum=STATUSES), "reason": nullable(string())},
                                      ["message_id", "staff_id", "channel", "language", "status", "reason"])),
            }, ["id", "subject", "channels", "audience", "send_at", "created_at", "recipients", "statuses", "messages"])),
            **problems(401, 403, 404, why={401: COORD_401, 403: COORD_403, 404: "No announcement with this id."}),
        }, security=COORD, parameters=[path_id("Announcement id.")], operation_id="getAnnouncement")},

        "/subscribe": {
            "get": op("pages", "Form to subscribe to the digest", {"200": html("The form."),
                                                                    "503": html("NOTIFIER_SIGNING_SECRET is not set.")},
                      parameters=[page_language], operation_id="subscribeForm"),
            "post": op("pages", "Ask for a confirmation link", {
                "200": html("The same page whatever the address: it never tells whether an address exists."),
                "400": {**bad_form, "description": "Not an e-mail address (the form again), or not a form."},
                "429": html("Too many requests from here; try later."),
                "503": html("NOTIFIER_SIGNING_SECRET is not set."), **problems(413),
            }, parameters=[page_language], body=form_body(obj({"email": string(), "language": LANGUAGE}, ["email"]),
                                                          {"email": "tiina.turunen@te-toimisto.example", "language": "fi"}),
                operation_id="subscribe"),
        },
        "/subscribe/confirm/{token}": {
            "get": op("pages", "Confirm a subscription (shows a button)", page_answers,
                      parameters=[page_token, page_language], operation_id="confirmForm"),
            "post": op("pages", "Confirm a subscription", form_answers, parameters=[page_token, page_language],
                       body=form_body(obj({"name": string(), "organisation": string("A code from the page's list."),
                                           "site": string("A code from the page's list.")}),
                                      {"name": "Uusi Ihminen", "organisation": "provider", "site": "salo"}),
                       operation_id="confirm"),
        },
        "/preferences/{token}": {
            "get": op("pages", "A staff member's language and digest choice", page_answers,
                      parameters=[page_token, page_language], operation_id="preferencesForm"),
            "post": op("pages", "Save the choices", form_answers, parameters=[page_token, page_language],
                       body=form_body(obj({"language": LANGUAGE, "digest": string(enum=["on"])}, ["language"]),
                                      {"language": "sv", "digest": "on"}),
                       operation_id="savePreferences"),
        },
        "/unsubscribe/{token}": {
            "get": op("pages", "Unsubscribe (shows a button)", page_answers, parameters=[page_token, page_language],
                      operation_id="unsubscribeForm"),
            "post": op("pages", "Unsubscribe (RFC 8058 one-click)", {**page_answers, **problems(413)},
                       parameters=[page_token, page_language], operation_id="unsubscribe"),
        },
        "/r/{code}": {
            "get": op("pages", "A client's rebooking page from the no-show SMS or e-mail: the site's upcoming "
                      "sessions that are not full, and \"call me instead\" (opening it changes nothing)", {
                          "200": html("The offer, or what was chosen with this link."),
                          "404": html("The link is not valid: unknown, malformed or expired.")},
                      parameters=[path_id("The link's 10-character code.", "code")], operation_id="rebookForm"),
            "post": op("pages", "Choose a session (the client becomes its invitee and is invited) or ask to be called", {
                "200": html("What was chosen (after a 303 to the page)."),
                "303": {"description": "Chosen: to the link's page."},
                "400": {**bad_form, "description": "No choice, or a session not on offer (the offer again); nothing is booked."},
                "403": html("The form's token is not this link's; nothing is booked."),
                "404": html("The link is not valid: unknown, malformed or expired."),
                "409": html("The link has been used already; nothing is changed."), **problems(413)},
                parameters=[path_id("The link's 10-character code.", "code")],
                body=form_body(obj({"csrf": string("From the page."), "choice": string(enum=["session", "call"]),
                                    "session_id": string("With `choice=session`.")}, ["csrf", "choice"]),
                               {"csrf": "<the csrf field of the page>", "choice": "session",
                                "session_id": "S-2026-12-10-TKU"}),
                operation_id="rebook"),
        },
        "/acknowledge/{token}": {
            "get": op("pages", "A practice change with an \"I have read this\" button", page_answers,
                      parameters=[page_token, page_language], operation_id="acknowledgeForm"),
            "post": op("pages", "Acknowledge a practice change (the first time counts)", {**page_answers, **problems(413)},
                       parameters=[page_token, page_language], operation_id="acknowledge"),
        },
    }


#: Example values of the console's form fields (what a coordinator would type or pick).
CONSOLE_FORM_EXAMPLES = {
    "email": "kirsi.koordinaattori@ely-keskus.example", "language": "fi", "back": "/console/practice-changes",
    "title_fi": "Uusi ohjauslomake", "title_sv": "Ny hänvisningsblankett",
    "body_fi": "Käytä 7.12. alkaen uutta lomaketta.", "body_sv": "Använd den nya blanketten från 7.12.",
    "subject_fi": "Salon toimisto suljettu perjantaina", "subject_sv": "Salokontoret stängt på fredag",
    "effective_from": "7.12.2026", "sites": "salo", "organisations": "te-office", "staff_ids": "ST-7",
    "channels": "email", "send_at": "7.12.2026 9.00", "request_id": "<the request_id field of the page>",
    "action": "preview", "previewed": "<the previewed field of the preview page>", "id": "ST-8",
    "name": "Tiina Turunen", "phone": "040 1234567", "organisation": "te-office", "site": "turku", "digest": "on",
}


def console_paths() -> dict[str, Schema]:
    """The coordinators' console: HTML pages and forms, signed in by a link sent to a coordinator's
    address (NOTIFIER_COORDINATORS), with a session cookie and a CSRF token in every form."""
    redirect = {"description": "See other: the next page (`Location`); to /console/sign-in when not signed in.",
                "headers": {"Location": {"schema": string()}}}
    unavailable = html("NOTIFIER_SIGNING_SECRET is not set.")
    bad_form = {"description": "The form again, with what is wrong; or a body that is not a form (problem details).",
                "content": {HTML: {"schema": string()}, PROBLEM_JSON: {"schema": ref("Problem")}}}
    refused = html("Refused: the form's CSRF token is not this visitor's, or the address is no longer a coordinator's.")

    def page(summary: str, *codes: str, parameters: list[Schema] | None = None, operation_id: str) -> Schema:
        answers = {"200": html("The page."), "303": redirect, "503": unavailable}
        extra = {"403": refused, "404": html("No such thing, or the link is not valid."),
                 "400": html("The page again, saying what in the address is wrong.")}
        answers.update({c: extra[c] for c in codes})
        return op("console", summary, answers, parameters=parameters, operation_id=operation_id)

    def form(summary: str, fields: dict[str, Schema], *codes: str, parameters: list[Schema] | None = None,
             operation_id: str) -> Schema:
        answers = {"200": html("The page (e.g. \"sent\")."), "303": redirect, "400": bad_form, "403": refused,
                   "503": unavailable, **problems(413)}
        extra = {"404": html("No such thing, or the link is not valid."),
                 "409": html("The form again: the address is someone else's, or it changed meanwhile."),
                 "429": html("The form again: too many sign-in links asked for from this client today.")}
        answers.update({c: extra[c] for c in codes})
        example = {"csrf": "<the csrf field of the page the form came from>",
                   **{name: CONSOLE_FORM_EXAMPLES.get(name, "") for name in fields}}
        body = form_body(obj({"csrf": string("The token from the page the form came from."), **fields}, ["csrf"]), example)
        return op("console", summary, answers, parameters=parameters, body=body, operation_id=operation_id)

    identifier = path_id("Id.")
    token = path_id("The token from the sign-in e-mail.", "token")
    call_list_token = path_id("The signed token from the call-prompt e-mail.", "token")
    figure_params = [query("from", "First day (ISO date, default 29 days ago)."),
                     query("to", "Last day (ISO date, default today; at most 400 days after `from`)."),
                     query("site", "Site code; empty for all sites.")]

    def fields(form_fields: dict[str, str], *leave_out: str) -> dict[str, Schema]:
        """A console form's fields, which are its model's (`console/forms.py`); lists repeat the field."""
        return {k: string() for k in form_fields if k not in leave_out}

    return {
        "/console": {"get": page("The console: to the practice changes, or to sign in", operation_id="consoleHome")},
        "/console/": {"get": page("The same as /console", operation_id="consoleHomeSlash")},
        "/console/console.js": {"get": op("console", "The console's one script (the pages work without it)", {
            "200": answer("JavaScript.", string(), "text/javascript")}, operation_id="consoleScript")},
        "/console/sign-in": {
            "get": page("Form for a coordinator's work e-mail", parameters=[query("lang", "Page language.")],
                        operation_id="consoleSignInForm"),
            "post": form("Send a sign-in link (the same answer for any address)",
                         {"email": string(), "language": LANGUAGE}, "429", operation_id="consoleSignIn"),
        },
        "/console/sign-in/{token}": {
            "get": page("The sign-in link: a button (opening it changes nothing)", "404", parameters=[token],
                        operation_id="consoleSignInLink"),
            "post": form("Sign in (starts a session cookie)", {}, "404", parameters=[token],
                         operation_id="consoleUseSignInLink"),
        },
        "/console/sign-out": {"post": form("Sign out", {}, operation_id="consoleSignOut")},
        "/console/language": {"post": form("Choose the console's language", {"language": LANGUAGE, "back": string()},
                                           operation_id="consoleLanguage")},
        "/console/practice-changes": {"get": page("Practice changes and how many have read each", operation_id="consoleChanges")},
        "/console/coaching": {"get": page("Per coach, the active clients and their next deadline, overdue first; "
                                          "the work queue of clients without a first contact",
                                          operation_id="consoleCoaching")},
        "/console/practice-changes/new": {
            "get": page("Form for a new practice change", operation_id="consoleNewChange"),
            "post": form("Post a practice change", fields(CHANGE_FIELDS),
                         operation_id="consolePostChange"),
        },
        "/console/practice-changes/{id}": {"get": page("A practice change: who has and has not read it", "404",
                                                       parameters=[identifier], operation_id="consoleChange")},
        "/console/practice-changes/{id}/remind": {"post": form("Remind those who have not read it", {}, "404",
                                                               parameters=[identifier], operation_id="consoleRemind")},
        "/console/announcements": {"get": page("Announcements sent", operation_id="consoleAnnouncements")},
        "/console/announcements/new": {
            "get": page("Form for an announcement", operation_id="consoleNewAnnouncement"),
            "post": form("Send an announcement", {**fields(ANNOUNCEMENT_FIELDS), "request_id": string()},
                         "409", operation_id="consolePostAnnouncement"),
        },
        "/console/announcements/{id}": {"get": page("An announcement and how its messages fared", "404",
                                                    parameters=[identifier], operation_id="consoleAnnouncement")},
        "/console/messages": {"get": page("The messages of a client, staff member or session (and a session's no-shows)",
                                          parameters=[query("kind", "client, staff or session."), query("id", "The id.")],
                                          operation_id="consoleMessages")},
        "/console/staff": {"get": page("The staff directory", parameters=[query("site", "Site code."),
                                                                          query("organisation", "Organisation code."),
                                                                          query("saved", "Id of a record just saved.")],
                                       operation_id="consoleStaff")},
        "/console/staff/new": {
            "get": page("Form for a new staff member", operation_id="consoleNewStaff"),
            "post": form("Add a staff member", fields(STAFF_FIELDS), "409", operation_id="consoleAddStaff"),
        },
        "/console/staff/{id}/edit": {
            "get": page("Form to edit a staff member", "404", parameters=[identifier], operation_id="consoleEditStaff"),
            "post": form("Save a staff member", fields(STAFF_FIELDS, "id"), "404", "409", parameters=[identifier],
                         operation_id="consoleSaveStaff"),
        },
        "/console/staff/{id}/revoke-links": {"post": form("Revoke every personal link of a staff member", {}, "404",
                                                          parameters=[identifier], operation_id="consoleRevokeStaffLinks")},
        "/console/staff/{id}/digest": {"post": form("Turn a staff member's digest on or off", {"digest": string()}, "404",
                                                    parameters=[identifier], operation_id="consoleStaffDigest")},
        "/console/attention": {"get": page(
            "Needs attention: messages that reached no one, unreachable clients, calls not made for over a working "
            "day, digests that bounced; each with what to do. 400 (the page, with the error) for a bad period", "400",
            parameters=[query("days", "Period in days, 1–90 (default 14)."), query("show", "`all` shows handled lines too.")],
            operation_id="consoleAttention")},
        "/console/attention/handled": {"post": form(
            "Mark a line handled (400 and nothing changed for a line not in the queue)", {"item": string("The line's key.")},
            operation_id="consoleAttentionHandled")},
        "/console/figures": {"get": page(
            "The pilot's figures for a period and site: kickoff attendance per session, call outcomes, rebookings, "
            "reachability, delivery per channel, practice changes read per week; SVG charts with data tables; "
            "then coaching per site (active clients, overdue, due within 7 days, services ended by reason, total). "
            "400 (the page, with the error) for a bad period or site", "400",
            parameters=figure_params, operation_id="consoleFigures")},
        "/console/figures.csv": {"get": op("console", "The same figures as CSV (`chart,label,value,unit,details`)", {
            "200": answer("CSV.", string(), "text/csv"), "303": redirect, "503": unavailable,
            "400": answer("A bad period or site.", string(), "text/plain")},
            parameters=figure_params, operation_id="consoleFiguresCsv")},
        "/console/calls/{token}": {"get": page(
            "A kickoff session's call list (soittolista) for its staff member, from the signed link in the "
            "call-prompt e-mail; no sign-in. Opening it changes nothing", "404",
            parameters=[call_list_token, query("lang", "fi or sv; default the staff member's language."),
                        query("saved", "Client id of a call just recorded.")], operation_id="callList")},
        "/console/calls/{token}/{prompt}": {"post": form(
            "Record a call's outcome on this prompt (as POST /api/call-prompts/{id}/outcome does): a `no-answer` "
            "may schedule a follow-up, the last one or a `wrong-number` makes the client unreachable",
            {"outcome": string(enum=["reached", "no-answer", "wrong-number", "rescheduled"]),
             "note": string("Optional, up to 2000 characters.")}, "404", "409",
            parameters=[call_list_token, path_id("The call prompt's id.", "prompt"), query("lang", "fi or sv.")],
            operation_id="recordCallOnCallList")},
    }


def webhooks_out() -> dict[str, Schema]:
    """Status callbacks: what the case system's NOTIFIER_STATUS_CALLBACK_URL receives."""
    signed = ("Signed per Standard Webhooks with NOTIFIER_STATUS_CALLBACK_SECRET (`webhook-id`, `webhook-timestamp`, "
              "`webhook-signature`); `webhook-id` is the same on every retry. Answer 2xx to take it; 429, 5xx and "
              "timeouts are retried with backoff, in order per subject; any other answer drops the event.")
    answers = {"2XX": {"description": "Taken."}, "429": {"description": "Retried later."},
               "5XX": {"description": "Retried later."}}

    def hook(summary: str, schema: str) -> Schema:
        return {"post": {"tags": ["callbacks out"], "summary": summary, "description": signed,
                         "requestBody": json_body(ref(schema)), "responses": answers}}

    return {
        cb.MESSAGE_STATUS: hook("A message was sent, delivered or failed", "MessageStatusCallback"),
        cb.CALL_PROMPT_OUTCOME: hook("Staff recorded how a call to a no-show client went", "CallPromptOutcomeCallback"),
        cb.PRACTICE_CHANGE_ACKNOWLEDGED: hook("A staff member read a practice change", "PracticeChangeAcknowledgedCallback"),
        cb.CLIENT_UNREACHABLE: hook("A client who missed their kickoff could not be reached by phone",
                                    "ClientUnreachableCallback"),
        cb.CLIENT_REBOOKED: hook("A client who missed their kickoff chose a new session", "ClientRebookedCallback"),
    }


def document(public_url: str = "") -> Schema:
    """The whole OpenAPI document (with `public_url` as the server, when given)."""
    doc: Schema = {
        "openapi": OPENAPI,
        "info": {
            "title": "notifier",
            "version": "1",
            "summary": "Messages and notifications for Finnish public-private employment pilots.",
            "description": "Case systems post signed events and follow what happened to each message; coordinators "
                           "keep the staff directory, post practice changes and announcements; staff use the pages "
                           "linked from their e-mails. Times are in Europe/Helsinki. See the README for the prose.",
            "license": {"name": "EUPL-1.2", "identifier": "EUPL-1.2"},
        },
        "tags": [{"name": t} for t in ("webhooks in", "messages", "call prompts", "contact log", "staff",
                                       "practice changes", "digest", "announcements", "pages", "console", "service",
                                       "callbacks out")],
        "paths": {**paths(), **console_paths()},
        "webhooks": webhooks_out(),
        "components": {
            "schemas": schemas(),
            "securitySchemes": {
                CASE: {"type": "http", "scheme": "bearer",
                       "description": "NOTIFIER_API_TOKEN (the coordinators' token works too)."},
                COORD: {"type": "http", "scheme": "bearer",
                        "description": "NOTIFIER_COORDINATOR_TOKEN (NOTIFIER_API_TOKEN when no coordinator token is set)."},
            },
        },
    }
    if public_url:
        doc["servers"] = [{"url": public_url}]
    return doc
