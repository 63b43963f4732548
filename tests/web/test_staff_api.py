"""The coordinators' staff directory and practice-change API, against real Redis."""

from __future__ import annotations

from tests.support.staff import GENERAL, SALO_ONLY, TURKU_FI, TURKU_SV, post_change, put_staff, staff_service


async def test_put_get_list_delete_staff_with_digest_on_by_default(start_service):
    svc = await staff_service(start_service, worker=False)
    status, created = await svc.api("PUT", "/api/staff/T-1", json=TURKU_FI)
    assert status == 201
    assert created == {"id": "T-1", "name": "Tiina Turunen", "email": "tiina.turunen@tyollisyysalue.example",
                       "phone": "+358401234567", "language": "fi", "organisation": "te-office", "site": "turku",
                       "digest": True}
    status, updated = await svc.api("PUT", "/api/staff/T-1", json={**TURKU_FI, "site": "Salo"})
    assert status == 200 and updated["site"] == "salo"
    await put_staff(svc, "P-1", {**TURKU_SV, "digest": False})
    status, listing = await svc.api("GET", "/api/staff")
    assert status == 200
    assert [(m["id"], m["digest"]) for m in listing["staff"]] == [("P-1", False), ("T-1", True)]
    status, _ = await svc.api("DELETE", "/api/staff/T-1")
    assert status == 204
    assert (await svc.api("GET", "/api/staff/T-1"))[0] == 404
    assert (await svc.api("DELETE", "/api/staff/T-1"))[0] == 404
    assert [m["id"] for m in (await svc.api("GET", "/api/staff"))[1]["staff"]] == ["P-1"]


async def test_a_resync_without_digest_keeps_the_persons_opt_out(start_service):
    svc = await staff_service(start_service, worker=False)
    await put_staff(svc, "T-1", {**TURKU_FI, "digest": False})
    assert (await put_staff(svc, "T-1", TURKU_FI))["digest"] is False  # e.g. a nightly HR sync
    assert (await put_staff(svc, "T-1", {**TURKU_FI, "digest": True}))["digest"] is True


async def test_personal_fields_are_sealed_in_redis(start_service):
    svc = await staff_service(start_service, worker=False)
    await put_staff(svc, "T-1", TURKU_FI)
    raw = b"".join(k + v for k, v in (await svc.runtime.redis.hgetall("notifier:staff:T-1")).items())
    assert b"Turunen" not in raw and b"tiina" not in raw and b"1234567" not in raw
    assert b"te-office" in raw  # organisation and site are not personal data
    index = await svc.runtime.redis.hgetall("notifier:staff:by-email")
    assert all(b"tiina" not in k for k in index)


async def test_bad_staff_bodies_name_the_field_and_store_nothing(start_service):
    svc = await staff_service(start_service, worker=False)
    status, problem = await svc.api("PUT", "/api/staff/T-1", json={**TURKU_FI, "language": "en", "email": "nope",
                                                                   "phone": "12", "site": "Turku <b>", "digest": "yes"})
    assert status == 422
    assert {e["field"] for e in problem["errors"]} == {"language", "email", "phone", "site", "digest"}
    status, problem = await svc.api("PUT", "/api/staff/bad id!", json=TURKU_FI)
    assert status == 422 and problem["errors"][0]["field"] == "id"
    assert (await svc.api("GET", "/api/staff"))[1]["staff"] == []
    assert (await svc.api("GET", "/api/staff", token="wrong"))[0] == 401
    assert (await svc.api("PUT", "/api/staff/T-1", token=None, json=TURKU_FI))[0] == 401


async def test_one_address_one_person(start_service):
    svc = await staff_service(start_service, worker=False)
    await put_staff(svc, "T-1", TURKU_FI)
    status, problem = await svc.api("PUT", "/api/staff/T-2", json={**TURKU_SV, "email": TURKU_FI["email"].upper()})
    assert status == 409 and problem["errors"][0]["field"] == "email"
    # the person may change their own address, and the old one is free again
    await put_staff(svc, "T-1", {**TURKU_FI, "email": "tiina.t@tyollisyysalue.example"})
    await put_staff(svc, "T-2", {**TURKU_SV, "email": TURKU_FI["email"]})


async def test_practice_changes_posted_and_listed_since(start_service):
    svc = await staff_service(start_service, worker=False)
    first = await post_change(svc, GENERAL)
    status, listing = await svc.api("GET", "/api/practice-changes")
    assert status == 200
    [c] = listing["practice_changes"]
    assert c["id"] == first and c["title"] == GENERAL["title"] and c["sites"] == [] and c["effective_from"] == "2026-12-07"
    assert c["posted_at"].endswith(("+02:00", "+03:00"))  # Helsinki time at the edges
    second = await post_change(svc, SALO_ONLY)
    status, since = await svc.api("GET", "/api/practice-changes", params={"since": c["posted_at"]})
    assert [x["id"] for x in since["practice_changes"]] == [first, second]  # since is inclusive
    status, later = await svc.api("GET", "/api/practice-changes", params={"since": "2999-01-01"})
    assert later["practice_changes"] == []
    status, one = await svc.api("GET", f"/api/practice-changes/{second}")
    assert one["title"] == {"fi": "Salon alkuinfot torstaisin"} and one["sites"] == ["salo"]
    status, problem = await svc.api("GET", "/api/practice-changes", params={"since": "last week"})
    assert status == 422 and problem["errors"][0]["field"] == "since"


async def test_bad_practice_change_names_every_field(start_service):
    svc = await staff_service(start_service, worker=False)
    status, problem = await svc.api("POST", "/api/practice-changes", json={
        "title": {"sv": "Bara svenska"}, "body": "text", "effective_from": "7.12.2026", "sites": ["ok", ""],
    })
    assert status == 422
    assert {e["field"] for e in problem["errors"]} == {"title.fi", "body", "effective_from", "sites[1]"}
    assert (await svc.api("GET", "/api/practice-changes"))[1]["practice_changes"] == []
