"""Master data, users and sign-in through the REST API: items, locations, partners, /api/users, /api/auth."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from backend.models import db
from tests.conftest import PASSWORD

ERROR_KEYS = {"code", "error", "message", "errors"}
NEW = {  # a valid new row per resource
    "items": {"sku": "SUGAR", "name": "Cane sugar", "uom": "KGM"},
    "locations": {"code": "C-03-01", "name": "Aisle C", "kind": "storage"},
    "partners": {"code": "SUP-FARM", "name": "Green Farm", "kind": "supplier", "city": "Lyon",
                 "phone": "+33 1 00", "phone_after_hours": "+33 6 00"},
}
WORLD_ROW = {"items": "flour", "locations": "a", "partners": "supplier"}
KEY = {"items": "sku", "locations": "code", "partners": "code"}
REQUIRED = {  # what an update has to repeat while PATCH is not partial (see test_patch_changes_only_given_fields)
    "items": {"name": "Wheat flour", "uom": "KGM"},
    "locations": {"kind": "storage"},
    "partners": {"name": "Mill & Co", "kind": "supplier"},
}


def row_counts() -> dict[str, int]:
    """Rows in every table, as the session sees them."""
    return {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in db.metadata.sorted_tables}


def assert_error(response, status: int, error: str, field: str | None = None) -> dict:
    """The response is the JSON error shape with this status and machine code (naming `field`)."""
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == ERROR_KEYS and body["code"] == status and body["error"] == error, body
    if field is not None:
        assert field in body["errors"], body
    return body


def ok(response, status: int = 200):
    """The JSON body of a response that must have `status`."""
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def listing(client, headers, path: str) -> list[str]:
    """The keys (sku or code) of one page of a list."""
    resource = path.split("?")[0].rsplit("/", 1)[-1]
    return [row[KEY[resource]] for row in ok(client.get(path, headers=headers["worker"]))["data"]]


def receive(client, headers, **body):
    """POST a receipt as the worker (FLOUR, 5, A-01-01 unless overridden)."""
    return client.post("/api/receipts", headers=headers["worker"],
                       json={"item": "FLOUR", "qty": "5", "location": "A-01-01", **body})


# --- create, get, permissions -----------------------------------------------------------------

@pytest.mark.parametrize("resource", NEW)
def test_admin_creates_and_gets_a_row(client, headers, world, resource):
    """An admin creates a row (201, active) and anyone signed in can get it by id."""
    created = ok(client.post(f"/api/{resource}", json=NEW[resource], headers=headers["admin"]), 201)
    assert created.items() >= NEW[resource].items() and created["active"] is True
    assert ok(client.get(f"/api/{resource}/{created['id']}", headers=headers["worker"])) == created


@pytest.mark.parametrize("role", ["worker", "supervisor"])
@pytest.mark.parametrize("resource", NEW)
def test_only_admins_change_master_data(client, headers, world, resource, role):
    """Workers and supervisors get 403 on create, update and deactivate, and nothing is written."""
    row_id = world[WORLD_ROW[resource]].id
    before = ok(client.get(f"/api/{resource}/{row_id}", headers=headers[role]))
    counts = row_counts()
    assert_error(client.post(f"/api/{resource}", json=NEW[resource], headers=headers[role]), 403, "forbidden")
    assert_error(client.patch(f"/api/{resource}/{row_id}", json={"name": "X"}, headers=headers[role]),
                 403, "forbidden")
    assert_error(client.delete(f"/api/{resource}/{row_id}", headers=headers[role]), 403, "forbidden")
    assert row_counts() == counts
    assert ok(client.get(f"/api/{resource}/{row_id}", headers=headers[role])) == before


@pytest.mark.parametrize("resource, error", [("items", "unknown_item"), ("locations", "unknown_location"),
                                             ("partners", "unknown_partner")])
def test_unknown_id_is_404(client, headers, world, resource, error):
    """Get, update and deactivate of an id that does not exist are 404 unknown_*."""
    assert_error(client.get(f"/api/{resource}/999999", headers=headers["admin"]), 404, error)
    assert_error(client.patch(f"/api/{resource}/999999", json=REQUIRED[resource], headers=headers["admin"]), 404, error)
    assert_error(client.delete(f"/api/{resource}/999999", headers=headers["admin"]), 404, error)


@pytest.mark.parametrize("resource", NEW)
def test_duplicate_key_is_409(client, headers, world, resource):
    """A second row with an existing sku/code is 409 already_exists and nothing is written."""
    taken = {"items": "FLOUR", "locations": "A-01-01", "partners": "CUS-SHOP"}[resource]
    counts = row_counts()
    response = client.post(f"/api/{resource}", json={**NEW[resource], KEY[resource]: taken},
                           headers=headers["admin"])
    assert_error(response, 409, "already_exists")
    assert row_counts() == counts


# --- lists: paging and filters ----------------------------------------------------------------

def test_items_list_pages(client, headers, world):
    """page/per_page cut the SKU-ordered list; total counts every match."""
    for sku in ("APPLE", "BUTTER", "MILK"):
        ok(client.post("/api/items", json={"sku": sku, "name": sku.title(), "uom": "EA"}, headers=headers["admin"]),
           201)
    pages = [ok(client.get(f"/api/items?per_page=2&page={n}", headers=headers["worker"])) for n in (1, 2, 3, 4)]
    assert [p["total"] for p in pages] == [5] * 4
    assert [(p["page"], p["per_page"]) for p in pages] == [(1, 2), (2, 2), (3, 2), (4, 2)]
    assert [[row["sku"] for row in p["data"]] for p in pages] == [
        ["APPLE", "BUTTER"], ["EGGS", "FLOUR"], ["MILK"], []]
    default = ok(client.get("/api/items", headers=headers["worker"]))
    assert (default["page"], default["per_page"], default["total"]) == (1, 50, 5)


@pytest.mark.parametrize("query, expected", [
    ("q=flo", ["FLOUR"]), ("q=WHEAT", ["FLOUR"]), ("q=gg", ["EGGS"]), ("q=nothing", []),
    ("gtin=9506000134352", ["FLOUR"]), ("gtin=09506000134352", ["FLOUR"]), ("gtin=4006381333931", []),
    ("active=true", ["EGGS", "FLOUR"]), ("active=false", []), ("q=e&active=true", ["EGGS", "FLOUR"]),
])
def test_items_list_filters(client, headers, world, query, expected):
    """Items filter by part of SKU or name (any case), by GTIN in any length, and by active."""
    assert listing(client, headers, f"/api/items?{query}") == expected


@pytest.mark.parametrize("query, expected", [
    ("kind=storage", ["A-01-01", "B-02-01"]), ("kind=quarantine", ["QRT-1"]), ("kind=production", []),
    ("q=-1", ["QRT-1", "RCV-1", "STAGE-1"]), ("q=stage", ["STAGE-1"]),
    ("active=true&kind=receiving", ["RCV-1"]), ("active=false", []),
])
def test_locations_list_filters(client, headers, world, query, expected):
    """Locations filter by kind, part of code or name, and active; ordered by code."""
    assert listing(client, headers, f"/api/locations?{query}") == expected


@pytest.mark.parametrize("query, expected", [
    ("kind=supplier", ["SUP-FARM", "SUP-MILL"]), ("kind=customer", ["CUS-SHOP"]),
    ("q=lyon", ["SUP-FARM"]), ("q=corner", ["CUS-SHOP"]), ("q=SUP", ["SUP-FARM", "SUP-MILL"]),
    ("active=true", ["CUS-SHOP", "SUP-FARM", "SUP-MILL"]), ("active=false", []),
])
def test_partners_list_filters(client, headers, world, query, expected):
    """Partners filter by kind, part of code, name or city, and active; ordered by code."""
    ok(client.post("/api/partners", json=NEW["partners"], headers=headers["admin"]), 201)
    assert listing(client, headers, f"/api/partners?{query}") == expected


@pytest.mark.parametrize("query", ["kind=attic", "active=perhaps", "per_page=0", "page=-1"])
def test_bad_list_parameter_is_422(client, headers, world, query):
    """A filter or paging value of the wrong kind is 422 naming it."""
    assert_error(client.get(f"/api/locations?{query}", headers=headers["worker"]), 422, "invalid",
                 query.split("=")[0])


@pytest.mark.parametrize("q", ["%", "_"])
def test_search_treats_wildcards_literally(client, headers, world, q):
    """`q` is a literal part of SKU or name: % or _ match no item that lacks them."""
    assert listing(client, headers, f"/api/items?q={q}") == []


# --- updates ---------------------------------------------------------------------------------

@pytest.mark.parametrize("resource", NEW)
def test_patch_changes_only_given_fields(client, headers, world, resource):
    """PATCH with just a new name changes the name and keeps everything else."""
    row_id = world[WORLD_ROW[resource]].id
    before = ok(client.get(f"/api/{resource}/{row_id}", headers=headers["admin"]))
    after = ok(client.patch(f"/api/{resource}/{row_id}", json={"name": "Renamed"}, headers=headers["admin"]))
    assert after == {**before, "name": "Renamed"}


@pytest.mark.parametrize("resource, changes", [
    ("items", {"name": "Flour T55", "uom": "KGM", "shelf_life_days": 90, "pick_policy": "fifo"}),
    ("locations", {"name": "Aisle A, bay 1", "kind": "storage", "gln": "4006381333931"}),
    ("partners", {"name": "Mill & Sons", "kind": "supplier", "phone_after_hours": "+49 170 1"}),
])
def test_admin_updates_a_row(client, headers, world, resource, changes):
    """PATCH by an admin changes the given fields, and a later GET shows them."""
    row_id = world[WORLD_ROW[resource]].id
    updated = ok(client.patch(f"/api/{resource}/{row_id}", json=changes, headers=headers["admin"]))
    assert updated.items() >= changes.items()
    assert ok(client.get(f"/api/{resource}/{row_id}", headers=headers["worker"])) == updated


@pytest.mark.parametrize("resource", NEW)
def test_key_cannot_be_changed(client, headers, world, resource):
    """The sku/code is on printed labels: sending it in a PATCH is 422 unknown field, nothing changes."""
    row_id = world[WORLD_ROW[resource]].id
    before = ok(client.get(f"/api/{resource}/{row_id}", headers=headers["admin"]))
    body = {**REQUIRED[resource], KEY[resource]: "NEW-KEY"}
    assert_error(client.patch(f"/api/{resource}/{row_id}", json=body, headers=headers["admin"]), 422, "invalid",
                 KEY[resource])
    assert ok(client.get(f"/api/{resource}/{row_id}", headers=headers["admin"])) == before


# --- deactivation ----------------------------------------------------------------------------

@pytest.mark.parametrize("resource", NEW)
def test_delete_deactivates_and_patch_reactivates(client, headers, world, resource):
    """DELETE sets active false (the row stays, listed under active=false); PATCH active true undoes it."""
    row = world[WORLD_ROW[resource]]
    key = getattr(row, KEY[resource])
    gone = ok(client.delete(f"/api/{resource}/{row.id}", headers=headers["admin"]))
    assert gone["active"] is False and gone[KEY[resource]] == key
    assert key in listing(client, headers, f"/api/{resource}?active=false")
    assert key not in listing(client, headers, f"/api/{resource}?active=true")
    assert key in listing(client, headers, f"/api/{resource}")
    back = ok(client.patch(f"/api/{resource}/{row.id}", json={**REQUIRED[resource], "active": True},
                           headers=headers["admin"]))
    assert back["active"] is True


@pytest.mark.parametrize("resource, field", [("items", "item"), ("locations", "location"),
                                             ("partners", "supplier")])
def test_receiving_with_a_deactivated_row_is_refused(client, headers, world, resource, field):
    """A receipt for a deactivated item, into a deactivated location or from a deactivated supplier is 422."""
    row = world[WORLD_ROW[resource]]
    ok(client.delete(f"/api/{resource}/{row.id}", headers=headers["admin"]))
    counts = row_counts()
    value = getattr(row, KEY[resource])
    assert_error(receive(client, headers, **{field: value}), 422, "inactive")
    assert row_counts() == counts


def test_location_holding_stock_cannot_be_deactivated(client, headers, world):
    """A location with stock refuses DELETE and PATCH active=false (409); emptied, it can be deactivated."""
    lot = ok(receive(client, headers, lot="L1"), 201)["lot"]["id"]
    location = world["a"].id
    assert_error(client.delete(f"/api/locations/{location}", headers=headers["admin"]), 409, "location_not_empty")
    assert_error(client.patch(f"/api/locations/{location}", json={"kind": "storage", "active": False},
                              headers=headers["admin"]), 409, "location_not_empty")
    assert ok(client.get(f"/api/locations/{location}", headers=headers["admin"]))["active"] is True
    ok(client.post("/api/moves", json={"lot": lot, "from": "A-01-01", "to": "B-02-01", "qty": "5"},
                   headers=headers["worker"]), 201)
    assert ok(client.delete(f"/api/locations/{location}", headers=headers["admin"]))["active"] is False


# --- item rules ------------------------------------------------------------------------------

@pytest.mark.parametrize("gtin, stored", [
    ("96385074", "00000096385074"), ("614141000036", "00614141000036"),
    ("4006381333931", "04006381333931"), ("04006381333931", "04006381333931"),
])
def test_gtin_is_stored_as_14_digits(client, headers, world, gtin, stored):
    """GTIN-8, -12, -13 and -14 are stored as 14 digits and found by the form they were given in."""
    item = ok(client.post("/api/items", json={**NEW["items"], "gtin": gtin}, headers=headers["admin"]), 201)
    assert item["gtin"] == stored
    assert listing(client, headers, f"/api/items?gtin={gtin}") == ["SUGAR"]


@pytest.mark.parametrize("gtin", ["4006381333932", "96385075", "09506000134353", "123456789", "ABCDEFGH",
                                  "400638133393X", "123456789012345"])
def test_bad_gtin_is_422(client, headers, world, gtin):
    """A GTIN with a wrong check digit, length or characters is 422 on gtin, on create and on update."""
    counts = row_counts()
    assert_error(client.post("/api/items", json={**NEW["items"], "gtin": gtin}, headers=headers["admin"]),
                 422, "invalid", "gtin")
    assert_error(client.patch(f"/api/items/{world['eggs'].id}", json={"name": "Eggs", "uom": "EA", "gtin": gtin},
                              headers=headers["admin"]), 422, "invalid", "gtin")
    assert row_counts() == counts
    assert ok(client.get(f"/api/items/{world['eggs'].id}", headers=headers["admin"]))["gtin"] is None


@pytest.mark.parametrize("gtin", ["09506000134352", "9506000134352"])
def test_duplicate_gtin_is_409_in_any_length(client, headers, world, gtin):
    """A GTIN that another item has, in 13 or 14 digits, is 409 on create and on update."""
    assert_error(client.post("/api/items", json={**NEW["items"], "gtin": gtin}, headers=headers["admin"]),
                 409, "already_exists")
    assert_error(client.patch(f"/api/items/{world['eggs'].id}", json={"name": "Eggs", "uom": "EA", "gtin": gtin},
                              headers=headers["admin"]), 409, "already_exists")


def test_empty_gtin_means_none(client, headers, world):
    """gtin "" (a cleared form field) means no GTIN: stored as null, any number of items may have none."""
    for sku in ("SUGAR", "SALT"):
        item = ok(client.post("/api/items", json={**NEW["items"], "sku": sku, "gtin": ""}, headers=headers["admin"]),
                  201)
        assert item["gtin"] is None


def test_gtin_can_be_cleared(client, headers, world):
    """PATCH gtin null removes an item's GTIN; it can then be given to another item."""
    flour, eggs = world["flour"].id, world["eggs"].id
    assert ok(client.patch(f"/api/items/{flour}", json={**REQUIRED["items"], "gtin": None},
                           headers=headers["admin"]))["gtin"] is None
    changed = ok(client.patch(f"/api/items/{eggs}", json={"name": "Eggs", "uom": "EA", "gtin": "9506000134352"},
                              headers=headers["admin"]))
    assert changed["gtin"] == "09506000134352"


def test_null_pick_policy_on_update_is_not_a_conflict(client, headers, world):
    """PATCH pick_policy null either restores the default (fefo with a shelf life) or is 422, never 409."""
    response = client.patch(f"/api/items/{world['flour'].id}", json={**REQUIRED["items"], "pick_policy": None},
                            headers=headers["admin"])
    if response.status_code == 200:
        assert response.get_json()["pick_policy"] == "fefo"
    else:
        assert_error(response, 422, "invalid", "pick_policy")


@pytest.mark.parametrize("uom", ["BOX", "kgm", "", "KILO"])
def test_unknown_unit_is_422(client, headers, world, uom):
    """A unit that is not one of the accepted UN/ECE Rec 20 codes is 422 on uom, on create and update."""
    assert_error(client.post("/api/items", json={**NEW["items"], "uom": uom}, headers=headers["admin"]),
                 422, "invalid", "uom")
    assert_error(client.patch(f"/api/items/{world['eggs'].id}", json={"name": "Eggs", "uom": uom},
                              headers=headers["admin"]), 422, "invalid", "uom")


def test_unit_is_fixed_once_the_item_has_lots(client, headers, world):
    """The unit may change while an item has no lots; after a receipt a change is 409 item_has_lots."""
    flour = f"/api/items/{world['flour'].id}"
    assert ok(client.patch(flour, json={"name": "Wheat flour", "uom": "GRM"}, headers=headers["admin"]))["uom"] == "GRM"
    ok(receive(client, headers), 201)
    assert_error(client.patch(flour, json={"name": "Wheat flour", "uom": "KGM"}, headers=headers["admin"]),
                 409, "item_has_lots")
    assert ok(client.get(flour, headers=headers["admin"]))["uom"] == "GRM"
    assert ok(client.patch(flour, json={"name": "Flour", "uom": "GRM"}, headers=headers["admin"]))["name"] == "Flour"


@pytest.mark.parametrize("extra, policy", [
    ({"shelf_life_days": 30}, "fefo"), ({}, "fifo"), ({"shelf_life_days": None}, "fifo"),
    ({"shelf_life_days": 30, "pick_policy": "fifo"}, "fifo"), ({"pick_policy": "fefo"}, "fefo"),
    ({"shelf_life_days": 30, "pick_policy": None}, "fefo"),
])
def test_pick_policy_defaults_by_shelf_life(client, headers, world, extra, policy):
    """pick_policy defaults to fefo for an item with a shelf life and fifo without; a given one is kept."""
    item = ok(client.post("/api/items", json={**NEW["items"], **extra}, headers=headers["admin"]), 201)
    assert item["pick_policy"] == policy


# --- users -----------------------------------------------------------------------------------

def sign_in(client, username: str, password: str = PASSWORD, device: str = "HH-9"):
    """POST /api/auth/token."""
    return client.post("/api/auth/token", json={"username": username, "password": password, "device": device})


def bearer(token: str) -> dict:
    """An Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}


def test_admin_creates_and_lists_users(client, headers):
    """An admin adds a user (no password in any answer), who is listed and can sign in."""
    body = {"username": "maria", "name": "Maria", "role": "supervisor", "password": "long-password"}
    created = ok(client.post("/api/users", json=body, headers=headers["admin"]), 201)
    assert created == {"id": created["id"], "username": "maria", "name": "Maria", "role": "supervisor",
                       "active": True}
    page = ok(client.get("/api/users?per_page=2&page=2", headers=headers["admin"]))
    assert page["total"] == 4 and [u["username"] for u in page["data"]] == ["supervisor", "worker"]
    everyone = ok(client.get("/api/users", headers=headers["admin"]))["data"]
    assert [u["username"] for u in everyone] == ["admin", "maria", "supervisor", "worker"]
    assert not any("password" in key for user in everyone for key in user)
    assert ok(sign_in(client, "maria", "long-password"))["user"]["role"] == "supervisor"


@pytest.mark.parametrize("role", ["worker", "supervisor"])
def test_only_admins_manage_users(client, headers, users, role):
    """Workers and supervisors get 403 on every users route, and nothing is written."""
    counts = row_counts()
    body = {"username": "maria", "role": "admin", "password": "long-password"}
    assert_error(client.get("/api/users", headers=headers[role]), 403, "forbidden")
    assert_error(client.post("/api/users", json=body, headers=headers[role]), 403, "forbidden")
    assert_error(client.patch(f"/api/users/{users[role].id}", json={"role": "admin"}, headers=headers[role]),
                 403, "forbidden")
    assert row_counts() == counts


@pytest.mark.parametrize("body, status, error, field", [
    ({"username": "maria", "role": "worker", "password": "abc"}, 422, "invalid", "password"),
    ({"username": "maria", "role": "worker", "password": ""}, 422, "invalid", "password"),
    ({"username": "maria", "role": "worker"}, 422, "invalid", "password"),
    ({"username": "maria", "role": "root", "password": "long-password"}, 422, "invalid", "role"),
    ({"username": "", "role": "worker", "password": "long-password"}, 422, "invalid", "username"),
    ({"username": "worker", "role": "worker", "password": "long-password"}, 409, "already_exists", None),
])
def test_bad_new_user_is_refused(client, headers, body, status, error, field):
    """A too-short password, unknown role, empty or taken username is refused and nothing is written."""
    counts = row_counts()
    assert_error(client.post("/api/users", json=body, headers=headers["admin"]), status, error, field)
    assert row_counts() == counts


def test_too_short_password_on_update_is_422(client, headers, users):
    """Changing a password to a too-short one is 422 and the old password keeps working."""
    assert_error(client.patch(f"/api/users/{users['worker'].id}", json={"password": "abc"},
                              headers=headers["admin"]), 422, "invalid", "password")
    ok(sign_in(client, "worker"))


def test_deactivated_user_is_signed_out(client, headers, users):
    """Deactivating a user makes their tokens 401 and refuses their sign-in; reactivating lets them sign in."""
    token = ok(sign_in(client, "worker"))["token"]
    ok(client.get("/api/auth/me", headers=headers["worker"]))
    changed = ok(client.patch(f"/api/users/{users['worker'].id}", json={"active": False}, headers=headers["admin"]))
    assert changed["active"] is False
    for auth in (headers["worker"], bearer(token)):
        assert_error(client.get("/api/auth/me", headers=auth), 401, "unauthorized")
    assert_error(sign_in(client, "worker"), 401, "invalid_credentials")
    ok(client.patch(f"/api/users/{users['worker'].id}", json={"active": True}, headers=headers["admin"]))
    ok(client.get("/api/auth/me", headers=bearer(ok(sign_in(client, "worker"))["token"])))
    assert_error(client.get("/api/auth/me", headers=bearer(token)), 401, "unauthorized")


def test_role_change_takes_effect_at_once(client, headers, users):
    """Promoting a worker to admin lets their existing token create items."""
    item = {"sku": "SALT", "name": "Salt", "uom": "KGM"}
    assert_error(client.post("/api/items", json=item, headers=headers["worker"]), 403, "forbidden")
    ok(client.patch(f"/api/users/{users['worker'].id}", json={"role": "admin"}, headers=headers["admin"]))
    ok(client.post("/api/items", json=item, headers=headers["worker"]), 201)


# --- sign-in ---------------------------------------------------------------------------------

def test_sign_in_issues_a_working_token(client, users):
    """The right password gives a token, the user and an expiry with offset; the token works on /me."""
    body = ok(sign_in(client, "supervisor", device="HH-07"))
    assert set(body) >= {"token", "user", "expires_at"}
    assert body["user"]["username"] == "supervisor" and body["user"]["role"] == "supervisor"
    expires = datetime.fromisoformat(body["expires_at"])
    assert expires.tzinfo is not None
    ttl = timedelta(hours=client.application.config["LOTWISE_TOKEN_TTL_HOURS"])
    assert ttl - timedelta(minutes=1) < expires - datetime.now(timezone.utc) <= ttl
    me = ok(client.get("/api/auth/me", headers=bearer(body["token"])))
    assert me["username"] == "supervisor" and "password" not in me
    assert ok(sign_in(client, "supervisor"))["token"] != body["token"]


@pytest.mark.parametrize("username, password", [("worker", "wrong-pw"), ("worker", ""), ("nobody", PASSWORD)])
def test_wrong_credentials_are_401(client, users, username, password):
    """A wrong password or unknown user is 401 invalid_credentials and no token is stored."""
    counts = row_counts()
    assert_error(sign_in(client, username, password), 401, "invalid_credentials")
    assert row_counts() == counts


@pytest.mark.parametrize("body, field", [({"username": "worker", "password": PASSWORD}, "device"),
                                         ({"username": "worker", "device": "HH"}, "password"),
                                         ({"username": "worker", "password": PASSWORD, "device": "HH", "x": 1}, "x")])
def test_incomplete_sign_in_is_422(client, users, body, field):
    """A sign-in without device or password, or with an unknown field, is 422 naming it."""
    assert_error(client.post("/api/auth/token", json=body), 422, "invalid", field)


def test_sign_out_revokes_only_that_token(client, users):
    """DELETE /api/auth/token revokes the token used (204, then 401); other tokens keep working."""
    first, second = (ok(sign_in(client, "worker"))["token"] for _ in range(2))
    response = client.delete("/api/auth/token", headers=bearer(first))
    assert response.status_code == 204
    assert_error(client.get("/api/auth/me", headers=bearer(first)), 401, "unauthorized")
    assert_error(client.delete("/api/auth/token", headers=bearer(first)), 401, "unauthorized")
    assert ok(client.get("/api/auth/me", headers=bearer(second)))["username"] == "worker"
