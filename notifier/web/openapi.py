"""The OpenAPI 3.1 document of every HTTP endpoint: webhooks in, the API, the pages, and the
status callbacks out (as OpenAPI `webhooks`). Served at `/api/openapi.json`, rendered at `/api/docs`.

Written by hand next to the code it describes (the README is the prose; this is the contract):
`tests/test_openapi.py` fails when a route of the app is missing here, and runs schemathesis
against the real app to check that every answer matches what is written.
"""

from __future__ import annotations

from typing import Any

from notifier.messages import callbacks as cb
from notifier.messages import contact_log as contacts
from notifier.messages import status as st

OPENAPI = "3.1.0"
PROBLEM_JSON = "application/problem+json"
JSON = "application/json"
HTML = "text/html"

Schema = dict[str, Any]


# -- building blocks ------------------------------------------------------------------------------


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


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


def json_body(schema: Schema, description: str = "", required: bool = True) -> Schema:
    out: Schema = {"required": required, "content": {JSON: {"schema": schema}}}
    if description:
        out["description"] = description
    return out


def form_body(schema: Schema) -> Schema:
    return {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": schema}}}


def answer(description: str, schema: Schema | None = None, media: str = JSON) -> Schema:
    out: Schema = {"description": description}
    if schema is not None:
        out["content"] = {media: {"schema": schema}}
    return out


def html(description: str) -> Schema:
    return answer(description, string(), HTML)


def problems(*codes: int) -> dict[str, Schema]:
    """Error answers: RFC 9457 problem details."""
    why = {
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
    return {str(c): answer(why[c], ref("Problem"), PROBLEM_JSON) for c in codes}


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

LOCAL_TIME = "Aware date and time in NOTIFIER_TIMEZONE (Europe/Helsinki), ISO 8601."
LANGUAGE = string("Finnish or Swedish.", enum=["fi", "sv"])
ID = string("1-128 letters, digits, `. _ : -`, starting with a letter or digit.",
            pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
CODE = string("Lower-case code: letters, digits, `-`, `_`.", pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
STATUSES = sorted(st.ALL)


def bilingual(max_length: int = 200) -> Schema:
    """A name a client reads: one string (both languages), or its Finnish and/or Swedish form."""
    text = string(minLength=1, maxLength=max_length)
    return {"oneOf": [text, obj({"fi": text, "sv": text}, description="At least one of the two.", minProperties=1)],
            "description": "A string (the same in both languages) or `{\"fi\": …, \"sv\": …}`; a client gets "
                           "their language's form, else the other one (recorded in the message's `name_fallback`)."}


def schemas() -> dict[str, Schema]:
    party = obj({"name": bilingual(), "phone": string(maxLength=40),
                 "email": string(format="email")}, ["name"])
    address = obj({"street": string("Up to 3 lines.", minLength=1), "postal_code": string(minLength=1, maxLength=20),
                   "city": string(minLength=1), "country": string("ISO 3166 code, default FI.", pattern="^[A-Z]{2}$")},
                  ["street", "postal_code", "city"])
    client = obj({
        "id": ID, "first_name": string(minLength=1, maxLength=200), "last_name": string(minLength=1, maxLength=200),
        "language": LANGUAGE, "email": string(format="email"), "phone": string(maxLength=40),
        "personal_id": string("Finnish personal identity code (henkilötunnus), checksum checked."),
        "address": ref("PostalAddress"),
    }, ["id", "first_name", "last_name", "language"], "A client; everything but `id` and `language` is personal data.")
    staff_in_event = obj({"id": ID, "name": string(minLength=1), "email": string(format="email"), "language": LANGUAGE,
                          "phone": string(maxLength=40)}, ["id", "name", "email", "language"])
    session = obj({
        "id": ID, "starts_at": string("In the future.", format="date-time"),
        "ends_at": string("After `starts_at`.", format="date-time"), "site": CODE,
        "location": obj({"name": bilingual(), "street": bilingual(), "postal_code": string(maxLength=10),
                         "city": bilingual(100)}, ["name"]),
        "staff": staff_in_event,
        "provider": ref("Party"),
    }, ["id", "starts_at", "ends_at", "site", "location", "staff"])

    def event(type_: str, data: Schema, description: str) -> Schema:
        return obj({"type": {"const": type_}, "data": data}, ["type", "data"], description)

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
    }, ["id", "session_id", "client_id", "staff_id", "name", "phone", "language", "status", "script", "created_at",
        "outcome", "outcomes"])
    staff_member = obj({
        "id": string(), "name": string(), "email": string(), "phone": nullable(string()), "language": LANGUAGE,
        "organisation": string(), "site": string(), "digest": {"type": "boolean"},
    }, ["id", "name", "email", "phone", "language", "organisation", "site", "digest"])
    texts = obj({"fi": string(minLength=1), "sv": string(minLength=1)}, ["fi"], "Finnish required, Swedish optional.")
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
    }
    return {
        "Problem": obj({
            "type": string(), "title": string(), "status": {"type": "integer"}, "detail": string(),
            "errors": array(obj({"field": string(), "detail": string()}, ["field", "detail"])),
        }, ["type", "title", "status", "detail"], "RFC 9457 problem details."),
        "Party": party,
        "PostalAddress": address,
        "Client": client,
        "ClientReferred": event("client.referred", obj({
            "client": ref("Client"), "referred_at": string(format="date-time"),
            "office": ref("Party"), "provider": ref("Party"),
        }, ["client", "referred_at"]), "Sends the referral info letter."),
        "KickoffScheduled": event("kickoff.scheduled", obj({
            "session": session, "invitees": array(ref("Client"), minItems=1),
        }, ["session", "invitees"]), "Sends binding invitations (and plans reminder SMS)."),
        "KickoffAttendance": event("kickoff.attendance", obj({
            "session_id": ID, "attended": array(ID),
            "next_session": obj({"starts_at": string(format="date-time")}, ["starts_at"]),
        }, ["session_id", "attended"]), "No-show SMS and a call prompt for every absent invitee."),
        "KickoffCancelled": event("kickoff.cancelled", obj({"session_id": ID}, ["session_id"]),
                                  "Tells every invitee; pending reminders are cancelled."),
        "Accepted": obj({
            "messages": array(string()), "session_id": string(), "call_prompts": array(string()),
        }, ["messages"], "The ids of the messages stored and queued (and of the call prompts created)."),
        "Message": message,
        "CallPrompt": call_prompt,
        "StaffMember": staff_member,
        "StaffInput": obj({
            "name": string(minLength=1, maxLength=200), "email": string(format="email"), "phone": string(maxLength=40),
            "language": LANGUAGE, "organisation": CODE, "site": CODE, "digest": {"type": "boolean"},
        }, ["name", "email", "language", "organisation", "site"]),
        "Texts": texts,
        "PracticeChangeInput": obj({
            "title": texts, "body": texts, "effective_from": string(format="date"),
            "sites": array(CODE), "organisations": array(CODE),
        }, ["title", "body", "effective_from"]),
        "PracticeChange": change,
        "DigestRun": run,
        "AnnouncementInput": obj({
            "subject": texts, "body": texts,
            "audience": obj({"sites": array(CODE), "organisations": array(CODE), "staff_ids": array(ID)}),
            "channels": array(string(enum=["email", "sms"]), minItems=1, maxItems=2),
            "send_at": string(format="date-time"),
        }, ["subject", "body", "audience", "channels"]),
        "Contact": contact,
        "MessageStatusCallback": callback[cb.MESSAGE_STATUS],
        "CallPromptOutcomeCallback": callback[cb.CALL_PROMPT_OUTCOME],
        "PracticeChangeAcknowledgedCallback": callback[cb.PRACTICE_CHANGE_ACKNOWLEDGED],
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
            **problems(503),
        }, description="Counters live in Redis, so every web process answers with the same totals (README \"Metrics\").",
            operation_id="metrics")},
        "/api/openapi.json": {"get": op("service", "This document", {"200": answer("OpenAPI 3.1.", {"type": "object"})},
                                        operation_id="openapi")},
        "/api/docs": {"get": op("service", "This document as a web page", {"200": html("Rendered on the server.")},
                                operation_id="docs")},

        "/webhooks/case-events": {"post": op("webhooks in", "A case-system event", {
            "202": answer("Accepted: every listed message is stored and its send queued.", ref("Accepted")),
            **problems(400, 401, 409, 413, 415, 422, 503),
        }, description="Signed per Standard Webhooks. Checks in order: size, signature and timestamp, content type, "
                       "JSON, contract, then handling; nothing is stored unless the answer is 202.",
            parameters=signature_headers(),
            body=json_body({"oneOf": [ref("ClientReferred"), ref("KickoffScheduled"), ref("KickoffAttendance"),
                                      ref("KickoffCancelled")], "discriminator": {"propertyName": "type"}}),
            operation_id="caseEvent")},
        "/webhooks/sms-status": {"post": op("webhooks in", "SMS delivery reports (GatewayAPI)", {
            "200": answer("What each report did.", obj({"results": array(obj({
                "userref": nullable(string()), "result": string(enum=["moved", "kept", "in-transit", "ignored"]),
                "status": nullable(string()),
            }, ["userref", "result"]))}, ["results"])),
            **problems(400, 401, 413, 415),
        }, parameters=[query("token", "NOTIFIER_SMS_CALLBACK_TOKEN, as given in the callback URL.", required=True)],
            body=json_body({"oneOf": [{"type": "object"}, array({"type": "object"}, maxItems=1000)]},
                           "`{\"id\", \"msisdn\", \"time\", \"status\", \"userref\", …}` or a list of them."),
            operation_id="smsStatus")},

        "/api/messages/{id}": {"get": op("messages", "One message with its history", {
            "200": answer("The message.", ref("Message")), **problems(401, 404),
        }, security=CASE, parameters=[path_id("Message id.")], operation_id="getMessage")},
        "/api/messages": {"get": op("messages", "A client's, staff member's or session's messages", {
            "200": answer("Oldest first.", obj({"messages": array(ref("Message"))}, ["messages"])),
            **problems(401, 422),
        }, description="Give exactly one of the three.", security=CASE, parameters=[
            query("client_id", "Client id."), query("staff_id", "Staff id."), query("session_id", "Kickoff session id."),
        ], operation_id="listMessages")},
        "/api/call-prompts": {"get": op("call prompts", "A kickoff session's call prompts", {
            "200": answer("With names, phones and scripts.", obj({"session_id": string(), "call_prompts": array(ref("CallPrompt"))},
                                                                  ["session_id", "call_prompts"])),
            **problems(401, 404, 422),
        }, security=CASE, parameters=[query("session_id", "Kickoff session id.", required=True)],
            operation_id="listCallPrompts")},
        "/api/call-prompts/{id}/outcome": {"post": op("call prompts", "Record how a call went", {
            "200": answer("The prompt with every call recorded.", ref("CallPrompt")),
            **problems(400, 401, 404, 413, 415, 422),
        }, security=CASE, parameters=[path_id("Call prompt id.")], body=json_body(obj({
            "outcome": string(enum=["reached", "no-answer", "wrong-number", "rescheduled"]),
            "note": string("Free text for staff; never sent to case systems.", maxLength=2000),
        }, ["outcome"])), operation_id="recordCallOutcome")},
        "/api/clients/{id}/contacts": {"get": op("contact log", "Every message and call to one client", {
            "200": answer("Oldest first; no content, no personal details.", obj({
                "client_id": string(), "contacts": array(ref("Contact"))}, ["client_id", "contacts"])),
            **problems(401, 404),
        }, security=CASE, parameters=[path_id("Client id.")], operation_id="clientContacts")},
        "/api/contacts.csv": {"get": op("contact log", "Everyone's contacts over a range of days, as CSV", {
            "200": answer(f"UTF-8 CSV with a header row: {', '.join(contacts.COLUMNS)}.", string(), "text/csv"),
            **problems(401, 422),
        }, description="Days in NOTIFIER_TIMEZONE, both inclusive; messages by when they were due, calls by when "
                       "they were recorded.", security=CASE, parameters=[
            query("from", "First day, YYYY-MM-DD.", required=True, format="date"),
            query("to", "Last day, YYYY-MM-DD.", required=True, format="date"),
        ], operation_id="contactsCsv")},

        "/api/staff": {"get": op("staff", "The staff directory", {
            "200": answer("Everyone, or those of a site and/or organisation.", obj({"staff": array(ref("StaffMember"))}, ["staff"])),
            **problems(401, 403),
        }, security=COORD, parameters=[query("site", "Site code."), query("organisation", "Organisation code.")],
            operation_id="listStaff")},
        "/api/staff/{id}": {
            "get": op("staff", "One staff member", {"200": answer("The record.", ref("StaffMember")), **problems(401, 403, 404)},
                      security=COORD, parameters=[staff_id], operation_id="getStaff"),
            "put": op("staff", "Create or update a staff member", {
                "200": answer("Updated.", ref("StaffMember")), "201": answer("Created.", ref("StaffMember")),
                **problems(400, 401, 403, 409, 413, 415, 422),
            }, description="`digest` left out on an update keeps what the person chose.", security=COORD,
                parameters=[staff_id], body=json_body(ref("StaffInput")), operation_id="putStaff"),
            "delete": op("staff", "Remove a staff member", {"204": answer("Removed; their links stop working."),
                                                             **problems(401, 403, 404)},
                         security=COORD, parameters=[staff_id], operation_id="deleteStaff"),
        },
        "/api/practice-changes": {
            "post": op("practice changes", "Post a practice change", {
                "201": answer("Stored; it goes into the next digests.", ref("PracticeChange")),
                **problems(400, 401, 403, 413, 415, 422),
            }, security=COORD, body=json_body(ref("PracticeChangeInput")), operation_id="postPracticeChange"),
            "get": op("practice changes", "Practice changes, oldest first", {
                "200": answer("The changes.", obj({"practice_changes": array(ref("PracticeChange"))}, ["practice_changes"])),
                **problems(401, 403, 422),
            }, security=COORD, parameters=[query("since", "A date (from its start) or a date and time with an offset; inclusive.")],
                operation_id="listPracticeChanges"),
        },
        "/api/practice-changes/{id}": {"get": op("practice changes", "One practice change", {
            "200": answer("The change.", ref("PracticeChange")), **problems(401, 403, 404),
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
            **problems(401, 403, 404),
        }, security=COORD, parameters=[path_id("Practice change id.")], operation_id="getAcknowledgements")},
        "/api/digests/run": {"post": op("digest", "Run the weekly digest now", {
            "202": answer("Started; follow it at /api/digests/runs/{id}.", ref("DigestRun")),
            **problems(400, 401, 403, 413, 422, 503),
        }, security=COORD, body=json_body(obj({"week": string("ISO week, e.g. 2026-W49; not in the future.",
                                                             pattern="^[0-9]{4}-W[0-9]{2}$")}), required=False),
            operation_id="runDigest")},
        "/api/digests/runs": {"get": op("digest", "The latest 20 digest runs", {
            "200": answer("Newest first.", obj({"runs": array(ref("DigestRun"))}, ["runs"])), **problems(401, 403),
        }, security=COORD, operation_id="listDigestRuns")},
        "/api/digests/runs/{id}": {"get": op("digest", "How a digest run went", {
            "200": answer("The report.", ref("DigestRun")), **problems(401, 403, 404),
        }, security=COORD, parameters=[path_id("Run id.")], operation_id="getDigestRun")},
        "/api/announcements": {"post": op("announcements", "Send an announcement to staff", {
            "202": answer("Stored and queued.", obj({"id": string(), "recipients": {"type": "integer"},
                                                      "messages": array(string())}, ["id", "recipients", "messages"])),
            **problems(400, 401, 403, 409, 413, 415, 422),
        }, security=COORD, parameters=[{"name": "Idempotency-Key", "in": "header", "required": False,
                                        "schema": string(maxLength=200),
                                        "description": "A repeat with the same key gets the first answer (7 days)."}],
            body=json_body(ref("AnnouncementInput")), operation_id="postAnnouncement")},
        "/api/announcements/{id}": {"get": op("announcements", "An announcement and how its messages fared", {
            "200": answer("With counts per status and every message.", obj({
                "id": string(), "subject": {"type": "object"}, "channels": array(string()), "audience": {"type": "object"},
                "send_at": nullable(string(format="date-time")), "created_at": string(format="date-time"),
                "recipients": {"type": "integer"}, "statuses": {"type": "object", "additionalProperties": {"type": "integer"}},
                "messages": array(obj({"message_id": string(), "staff_id": nullable(string()), "channel": string(),
                                       "language": LANGUAGE, "status": string(enum=STATUSES), "reason": nullable(string())},
                                      ["message_id", "staff_id", "channel", "language", "status", "reason"])),
            }, ["id", "subject", "channels", "audience", "send_at", "created_at", "recipients", "statuses", "messages"])),
            **problems(401, 403, 404),
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
            }, parameters=[page_language], body=form_body(obj({"email": string(), "language": LANGUAGE}, ["email"])),
                operation_id="subscribe"),
        },
        "/subscribe/confirm/{token}": {
            "get": op("pages", "Confirm a subscription (shows a button)", page_answers,
                      parameters=[page_token, page_language], operation_id="confirmForm"),
            "post": op("pages", "Confirm a subscription", form_answers, parameters=[page_token, page_language],
                       body=form_body(obj({"name": string(), "organisation": string(), "site": string()})),
                       operation_id="confirm"),
        },
        "/preferences/{token}": {
            "get": op("pages", "A staff member's language and digest choice", page_answers,
                      parameters=[page_token, page_language], operation_id="preferencesForm"),
            "post": op("pages", "Save the choices", form_answers, parameters=[page_token, page_language],
                       body=form_body(obj({"language": LANGUAGE, "digest": string(enum=["on"])}, ["language"])),
                       operation_id="savePreferences"),
        },
        "/unsubscribe/{token}": {
            "get": op("pages", "Unsubscribe (shows a button)", page_answers, parameters=[page_token, page_language],
                      operation_id="unsubscribeForm"),
            "post": op("pages", "Unsubscribe (RFC 8058 one-click)", {**page_answers, **problems(413)},
                       parameters=[page_token, page_language], operation_id="unsubscribe"),
        },
        "/acknowledge/{token}": {
            "get": op("pages", "A practice change with an \"I have read this\" button", page_answers,
                      parameters=[page_token, page_language], operation_id="acknowledgeForm"),
            "post": op("pages", "Acknowledge a practice change (the first time counts)", {**page_answers, **problems(413)},
                       parameters=[page_token, page_language], operation_id="acknowledge"),
        },
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
        extra = {"403": refused, "404": html("No such thing, or the link is not valid.")}
        answers.update({c: extra[c] for c in codes})
        return op("console", summary, answers, parameters=parameters, operation_id=operation_id)

    def form(summary: str, fields: dict[str, Schema], *codes: str, parameters: list[Schema] | None = None,
             operation_id: str) -> Schema:
        answers = {"200": html("The page (e.g. \"sent\")."), "303": redirect, "400": bad_form, "403": refused,
                   "503": unavailable, **problems(413)}
        extra = {"404": html("No such thing, or the link is not valid."),
                 "409": html("The form again: the address is someone else's, or it changed meanwhile.")}
        answers.update({c: extra[c] for c in codes})
        body = form_body(obj({"csrf": string("The token from the page the form came from."), **fields}, ["csrf"]))
        return op("console", summary, answers, parameters=parameters, body=body, operation_id=operation_id)

    identifier = path_id("Id.")
    token = path_id("The token from the sign-in e-mail.", "token")
    texts = {f"{k}_{lang}": string() for k in ("title", "body", "subject") for lang in ("fi", "sv")}
    return {
        "/console": {"get": page("The console: to the practice changes, or to sign in", operation_id="consoleHome")},
        "/console/": {"get": page("The same as /console", operation_id="consoleHomeSlash")},
        "/console/console.js": {"get": op("console", "The console's one script (the pages work without it)", {
            "200": answer("JavaScript.", string(), "text/javascript")}, operation_id="consoleScript")},
        "/console/sign-in": {
            "get": page("Form for a coordinator's work e-mail", parameters=[query("lang", "Page language.")],
                        operation_id="consoleSignInForm"),
            "post": form("Send a sign-in link (the same answer for any address)",
                         {"email": string(), "language": LANGUAGE}, operation_id="consoleSignIn"),
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
        "/console/practice-changes/new": {
            "get": page("Form for a new practice change", operation_id="consoleNewChange"),
            "post": form("Post a practice change", {**{k: v for k, v in texts.items() if not k.startswith("subject")},
                                                    "effective_from": string(), "sites": string(), "organisations": string()},
                         operation_id="consolePostChange"),
        },
        "/console/practice-changes/{id}": {"get": page("A practice change: who has and has not read it", "404",
                                                       parameters=[identifier], operation_id="consoleChange")},
        "/console/practice-changes/{id}/remind": {"post": form("Remind those who have not read it", {}, "404",
                                                               parameters=[identifier], operation_id="consoleRemind")},
        "/console/announcements": {"get": page("Announcements sent", operation_id="consoleAnnouncements")},
        "/console/announcements/new": {
            "get": page("Form for an announcement", operation_id="consoleNewAnnouncement"),
            "post": form("Send an announcement", {**{k: v for k, v in texts.items() if not k.startswith("title")},
                                                 "sites": string(), "organisations": string(), "staff_ids": string(),
                                                 "channels": string(), "send_at": string(), "request_id": string()},
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
            "post": form("Add a staff member", {"id": string(), "name": string(), "email": string(), "phone": string(),
                                                "language": string(), "organisation": string(), "site": string()},
                         "409", operation_id="consoleAddStaff"),
        },
        "/console/staff/{id}/edit": {
            "get": page("Form to edit a staff member", "404", parameters=[identifier], operation_id="consoleEditStaff"),
            "post": form("Save a staff member", {"name": string(), "email": string(), "phone": string(),
                                                 "language": string(), "organisation": string(), "site": string()},
                         "404", "409", parameters=[identifier], operation_id="consoleSaveStaff"),
        },
        "/console/staff/{id}/digest": {"post": form("Turn a staff member's digest on or off", {"digest": string()}, "404",
                                                    parameters=[identifier], operation_id="consoleStaffDigest")},
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
