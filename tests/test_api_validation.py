"""Bad input through the REST API gets a 4xx JSON error in the one error shape and writes nothing."""
from __future__ import annotations

import json
import secrets
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from backend.domain.auth import hash_token
from backend.models import ApiToken, Partner, PartnerKind, db, utcnow

ERROR_KEYS = {"code", "error", "message", "errors"}
LOT = object()  # stands for the id of the `lot` fixture's lot in a request body
RECEIPT = {"item": "FLOUR", "qty": "5", "location": "RCV-1"}


def row_counts() -> dict[str, int]:
    """Rows in every table, as the session sees them (pending flushes included)."""
    return {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in db.metadata.sorted_tables}


def assert_error(response, status: int, error: str, field: str | None = None) -> dict:
    """The response is the JSON error shape with this status and machine code (naming `field`)."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == ERROR_KEYS
    assert body["code"] == status and body["error"] == error
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["errors"], dict)
    if field is not None:
        assert field in body["errors"], body
    return body


def post_refused(client, path, body, headers, status, error, field=None) -> dict:
    """POST `body` (JSON) and check it is refused as described and that no table changed."""
    before = row_counts()
    body = assert_error(client.post(path, json=body, headers=headers), status, error, field)
    assert row_counts() == before
    return body


@pytest.fixture
def lot(client, headers, world) -> int:
    """A FLOUR lot with 10 KGM at A-01-01, received through the API; its id."""
    response = client.post("/api/receipts", headers=headers["worker"],
                           json={"item": "FLOUR", "lot": "L1", "qty": "10", "location": "A-01-01"})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["lot"]["id"]


BAD_BODIES = [
    # (path, role, body, status, error, field)
    ("/api/receipts", "worker", {**RECEIPT, "colour": "red"}, 422, "invalid", "colour"),
    ("/api/receipts", "worker", {"qty": "5", "location": "RCV-1"}, 422, "invalid", "item"),
    ("/api/receipts", "worker", {**RECEIPT, "item": 7}, 422, "invalid", "item"),
    ("/api/receipts", "worker", {**RECEIPT, "lot": "L" * 21}, 422, "invalid", "lot"),
    ("/api/receipts", "worker", {**RECEIPT, "lot": ""}, 422, "invalid", "lot"),
    ("/api/receipts", "worker", {**RECEIPT, "lot": "LOT#1"}, 422, "invalid", "lot"),
    ("/api/receipts", "worker", {**RECEIPT, "lot": "LOT 1"}, 422, "invalid", "lot"),
    ("/api/receipts", "worker", {**RECEIPT, "lot": "ÄBC"}, 422, "invalid", "lot"),
    ("/api/receipts", "worker", {**RECEIPT, "lot": "L1\n"}, 422, "invalid", "lot"),
    ("/api/receipts", "worker", {**RECEIPT, "expires_on": "2026-02-30"}, 422, "invalid", "expires_on"),
    ("/api/receipts", "worker", {**RECEIPT, "expires_on": "2026-13-01"}, 422, "invalid", "expires_on"),
    ("/api/receipts", "worker", {**RECEIPT, "at": "2026-01-05T10:00:00"}, 422, "invalid", "at"),
    ("/api/receipts", "worker", {**RECEIPT, "at": "yesterday"}, 422, "invalid", "at"),
    ("/api/receipts", "worker", {**RECEIPT, "item": "EGGS", "qty": "1.5"}, 422, "invalid", "qty"),
    ("/api/receipts", "worker", {**RECEIPT, "item": "NOPE"}, 422, "unknown_item", None),
    ("/api/receipts", "worker", {**RECEIPT, "location": "Z-99"}, 422, "unknown_location", None),
    ("/api/receipts", "worker", {**RECEIPT, "supplier": "SUP-NONE"}, 422, "unknown_supplier", None),
    ("/api/receipts", "worker", {**RECEIPT, "supplier": "CUS-SHOP"}, 422, "unknown_supplier", None),
    ("/api/receipts", "worker", {**RECEIPT, "expires_on": "2000-01-01"}, 422, "lot_expired", "expires_on"),
    ("/api/items", "admin", {"sku": "X", "name": "X", "uom": "EA", "gtin": "09506000134353"}, 422, "invalid", "gtin"),
    ("/api/items", "admin", {"sku": "X", "name": "X", "uom": "EA", "gtin": "123"}, 422, "invalid", "gtin"),
    ("/api/items", "admin", {"sku": "X", "name": "X", "uom": "BOX"}, 422, "invalid", "uom"),
    ("/api/items", "admin", {"sku": "X", "name": "X", "uom": "EA", "shelf_life_days": 0}, 422, "invalid",
     "shelf_life_days"),
    ("/api/locations", "admin", {"code": "L-1", "kind": "attic"}, 422, "invalid", "kind"),
    ("/api/locations", "admin", {"code": "", "kind": "storage"}, 422, "invalid", "code"),
    ("/api/partners", "admin", {"code": "P", "name": "P", "kind": "supplier", "email": "nope"}, 422, "invalid",
     "email"),
    ("/api/moves", "worker", {"lot": LOT, "from": "A-01-01", "to": "B-02-01", "qty": "-1"}, 422, "invalid", "qty"),
    ("/api/moves", "worker", {"lot": LOT, "from": "A-01-01", "to": "B-02-01", "qty": "11"}, 409,
     "insufficient_stock", None),
    ("/api/moves", "worker", {"lot": LOT, "from": "A-01-01", "to": "A-01-01", "qty": "1"}, 422, "invalid", "to"),
    ("/api/moves", "worker", {"lot": LOT, "from": "A-01-01", "to": "Z-99", "qty": "1"}, 422, "unknown_location",
     None),
    ("/api/moves", "worker", {"lot": 999999, "from": "A-01-01", "to": "B-02-01", "qty": "1"}, 422, "unknown_lot",
     None),
    ("/api/moves", "worker", {"lot": "L1", "from": "A-01-01", "to": "B-02-01", "qty": "1"}, 422, "invalid", "lot"),
    ("/api/counts", "worker", {"lot": LOT, "location": "A-01-01", "counted": "-1"}, 422, "invalid", "counted"),
    ("/api/counts", "worker", {"lot": LOT, "location": "A-01-01", "counted": "x"}, 422, "invalid", "counted"),
    ("/api/counts", "worker", {"lot": LOT, "location": "Z-99", "counted": "3"}, 422, "unknown_location", None),
    ("/api/adjustments", "supervisor", {"lot": LOT, "location": "A-01-01", "delta": "0", "reason": "x"}, 422,
     "invalid", "delta"),
    ("/api/adjustments", "supervisor", {"lot": LOT, "location": "A-01-01", "delta": "-11", "reason": "x"}, 409,
     "insufficient_stock", None),
    ("/api/adjustments", "supervisor", {"lot": LOT, "location": "A-01-01", "delta": "1"}, 422, "invalid", "reason"),
    ("/api/scraps", "supervisor", {"lot": LOT, "location": "A-01-01", "qty": "0", "reason": "x"}, 422, "invalid",
     "qty"),
    ("/api/scraps", "supervisor", {"lot": LOT, "location": "A-01-01", "qty": "1", "reason": "x", "extra": 1}, 422,
     "invalid", "extra"),
    ("/api/items", "worker", {"sku": "X", "name": "X", "uom": "EA"}, 403, "forbidden", None),
    ("/api/locations", "supervisor", {"code": "L-1", "kind": "storage"}, 403, "forbidden", None),
    ("/api/partners", "worker", {"code": "P", "name": "P", "kind": "supplier"}, 403, "forbidden", None),
    ("/api/users", "supervisor", {"username": "x", "password": "long-enough", "role": "admin"}, 403, "forbidden",
     None),
    ("/api/adjustments", "worker", {"lot": LOT, "location": "A-01-01", "delta": "1", "reason": "x"}, 403,
     "forbidden", None),
    ("/api/scraps", "worker", {"lot": LOT, "location": "A-01-01", "qty": "1", "reason": "x"}, 403, "forbidden",
     None),
]


@pytest.mark.parametrize("path, role, body, status, error, field", BAD_BODIES,
                         ids=[f"{c[0]}-{c[4]}-{c[5]}-{i}" for i, c in enumerate(BAD_BODIES)])
def test_bad_body_is_refused_and_writes_nothing(client, headers, lot, path, role, body, status, error, field):
    """Each bad request gets its 4xx error code, names the bad field, and changes no table."""
    body = {key: lot if value is LOT else value for key, value in body.items()}
    post_refused(client, path, body, headers[role], status, error, field)


BAD_QUANTITIES = [0, "0", "-0", -1, "-0.5", "", " ", "abc", "1,5", "0x10", "NaN", "nan", "Infinity", "-Infinity",
                  "1e400", "1e13", True, False, None, [], {}, ["5"], "0.0000001", 1e-7, "1.0000005",
                  "9" * 41]


@pytest.mark.parametrize("qty", BAD_QUANTITIES, ids=repr)
def test_bad_quantity_is_refused(client, headers, world, qty):
    """A quantity that is not a positive exact number with at most six places is 422 on qty."""
    post_refused(client, "/api/receipts", {**RECEIPT, "qty": qty}, headers["worker"], 422, "invalid", "qty")


def test_quantity_with_too_many_digits_is_422_not_500(client, headers, world):
    """A long quantity with seven decimal places is a 422 on qty, not a server error."""
    post_refused(client, "/api/receipts", {**RECEIPT, "qty": "12345678901234567890123.1234567"},
                 headers["worker"], 422, "invalid", "qty")


@pytest.mark.parametrize("qty", ["1_000", "\uff15", "\u0661\u0662"], ids=["underscore", "fullwidth-5", "arabic-12"])
def test_quantity_in_python_only_syntax_is_refused(client, headers, world, qty):
    """Only plain or exponent notation with ASCII digits is a quantity; "1_000" or "\uff15" is 422 on qty."""
    post_refused(client, "/api/receipts", {**RECEIPT, "qty": qty}, headers["worker"], 422, "invalid", "qty")


@pytest.mark.parametrize("cost", ["-5", "1e30"])
def test_unit_cost_out_of_range_is_refused(client, headers, world, cost):
    """A negative unit cost, or one too large to store, is 422 on unit_cost."""
    post_refused(client, "/api/receipts", {**RECEIPT, "unit_cost": cost}, headers["worker"], 422, "invalid",
                 "unit_cost")


def test_at_beyond_the_calendar_is_refused(client, headers, world):
    """An `at` that cannot be expressed in UTC (0001-01-01T00:00+01:00) is 422 on at."""
    post_refused(client, "/api/receipts", {**RECEIPT, "at": "0001-01-01T00:00:00+01:00"}, headers["worker"],
                 422, "invalid", "at")


@pytest.mark.parametrize("method, path, body", [
    ("get", "/api/items/99999999999999999999", None),
    ("get", "/api/lots/99999999999999999999", None),
    ("get", "/api/items?page=99999999999999999999", None),
    ("get", "/api/stock?lot=99999999999999999999", None),
    ("post", "/api/moves", {"lot": 10**20, "from": "A-01-01", "to": "B-02-01", "qty": "1"}),
], ids=["item-id", "lot-id", "page", "stock-lot", "move-lot"])
def test_huge_integer_is_4xx_not_500(client, headers, world, method, path, body):
    """An id or page number beyond 64 bits is a 4xx JSON error (404/422), never a server error."""
    before = row_counts()
    response = getattr(client, method)(path, json=body, headers=headers["worker"])
    assert 400 <= response.status_code < 500, response.get_json()
    assert_error(response, response.status_code, response.get_json()["error"])
    assert row_counts() == before


@pytest.mark.parametrize("qty, stored", [("1e3", "1000"), ("1E3", "1000"), (1000, "1000"), (2.5, "2.5"),
                                         ("0.000001", "0.000001"), ("3.50000000", "3.5"), (" 7 ", "7")])
def test_exact_quantity_forms_are_accepted(client, headers, world, qty, stored):
    """Exponent notation, JSON numbers and trailing zeros are valid exact quantities."""
    response = client.post("/api/receipts", json={**RECEIPT, "qty": qty}, headers=headers["worker"])
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["qty"] == stored


def test_whole_number_of_counted_unit_in_exponent_form_is_accepted(client, headers, world):
    """1e3 eggs is a whole number of EA: accepted."""
    response = client.post("/api/receipts", json={**RECEIPT, "item": "EGGS", "qty": "1e3"}, headers=headers["worker"])
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["qty"] == "1000"


@pytest.mark.parametrize("code", ["A" * 20, "L-1/2026.(x)_y:z", "a%&'*+,;<=>?!\""])
def test_lot_codes_from_the_ai10_set_are_accepted(client, headers, world, code):
    """Lot codes of 1-20 characters from the GS1 AI(10) set are taken as given."""
    response = client.post("/api/receipts", json={**RECEIPT, "lot": code}, headers=headers["worker"])
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["lot"]["code"] == code


def test_at_with_offset_is_accepted(client, headers, world):
    """An `at` with an offset is accepted and stored in UTC."""
    response = client.post("/api/receipts", json={**RECEIPT, "at": "2026-01-05T10:00:00+01:00"},
                           headers=headers["worker"])
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["happened_at"].startswith("2026-01-05T09:00:00")


@pytest.mark.parametrize("data, content_type, status, error", [
    ("item=FLOUR&qty=5", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    ("item: FLOUR", "text/plain", 415, "unsupported_media_type"),
    ('{"item": "FLOUR", "qty": ', "application/json", 400, "invalid_json"),
    ("not json", "application/json", 400, "invalid_json"),
    ('["FLOUR", 5]', "application/json", 400, "invalid_json"),
    ('"FLOUR"', "application/json", 400, "invalid_json"),
    ("null", "application/json", 400, "invalid_json"),
    (b"\xff\xfe{}", "application/json", 400, "invalid_json"),
])
def test_body_that_is_not_a_json_object_is_refused(client, headers, world, data, content_type, status, error):
    """A body that is not JSON (415) or not a JSON object (400) is refused before any view runs."""
    before = row_counts()
    response = client.post("/api/receipts", data=data, content_type=content_type, headers=headers["worker"])
    assert_error(response, status, error)
    assert row_counts() == before


def test_empty_body_names_the_required_fields(client, headers, world):
    """A POST without a body is 422 naming the required fields."""
    body = post_refused(client, "/api/receipts", None, headers["worker"], 422, "invalid")
    assert {"item", "qty", "location"} <= set(body["errors"])


def test_body_over_the_size_limit_is_413(client, app, headers, world):
    """A JSON body larger than MAX_CONTENT_LENGTH is 413 JSON and nothing is written."""
    data = json.dumps({**RECEIPT, "reference": "x" * app.config["MAX_CONTENT_LENGTH"]})
    before = row_counts()
    response = client.post("/api/receipts", data=data, content_type="application/json", headers=headers["worker"])
    assert_error(response, 413, "request_entity_too_large")
    assert row_counts() == before


def _token(user, **fields) -> dict:
    """A stored token for `user` (with overrides), as an Authorization header."""
    token = secrets.token_urlsafe(32)
    values = {"device": "HH-T", "expires_at": utcnow() + timedelta(hours=1), **fields}
    db.session.add(ApiToken(user=user, token_hash=hash_token(token), **values))
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("kind", ["none", "empty", "garbage", "no_scheme", "basic", "expired", "revoked"])
def test_without_a_live_token_it_is_401(client, users, world, kind):
    """No, malformed, unknown, expired or revoked tokens get 401 unauthorized and write nothing."""
    live = _token(users["admin"])["Authorization"].split()[1]
    auth = {
        "none": {}, "empty": {"Authorization": "Bearer "}, "garbage": {"Authorization": "Bearer nonsense"},
        "no_scheme": {"Authorization": live}, "basic": {"Authorization": f"Basic {live}"},
        "expired": _token(users["admin"], expires_at=utcnow() - timedelta(seconds=1)),
        "revoked": _token(users["admin"], revoked_at=utcnow()),
    }[kind]
    post_refused(client, "/api/receipts", RECEIPT, auth, 401, "unauthorized")
    post_refused(client, "/api/items", {"sku": "X", "name": "X", "uom": "EA"}, auth, 401, "unauthorized")
    assert_error(client.get("/api/items", headers=auth), 401, "unauthorized")


def test_unknown_route_is_404_json(client, headers):
    """An unknown URL is a 404 in the JSON error shape."""
    assert_error(client.get("/api/nothing-here", headers=headers["worker"]), 404, "not_found")
    assert_error(client.post("/api/nothing-here", json={}), 404, "not_found")


def test_unknown_id_is_404_json(client, headers, world):
    """A URL naming a row that does not exist is a 404 unknown_* error."""
    assert_error(client.get("/api/items/999999", headers=headers["worker"]), 404, "unknown_item")
    assert_error(client.get("/api/lots/999999", headers=headers["worker"]), 404, "unknown_lot")


@pytest.mark.parametrize("method, path", [("delete", "/api/receipts"), ("get", "/api/moves"),
                                          ("put", "/api/items"), ("delete", "/api/auth/me")])
def test_wrong_method_is_405_json(client, headers, world, method, path):
    """A method a route does not have is a 405 in the JSON error shape, and writes nothing."""
    before = row_counts()
    response = getattr(client, method)(path, headers=headers["admin"])
    assert_error(response, 405, "method_not_allowed")
    assert row_counts() == before


@pytest.mark.parametrize("query", ["per_page=0", "per_page=501", "page=0", "page=x", "active=maybe"])
def test_bad_paging_or_filter_is_422(client, headers, world, query):
    """Bad paging or filter values in the query string are 422 naming the parameter."""
    assert_error(client.get(f"/api/items?{query}", headers=headers["worker"]), 422, "invalid",
                 query.split("=")[0])


def test_unexpected_exception_is_500_json_without_trace(app, client, headers, world):
    """An unexpected exception is a 500 JSON error with no stack trace, and its writes are rolled back."""
    def boom():
        db.session.add(Partner(code="GHOST", name="Ghost", kind=PartnerKind.supplier))
        db.session.flush()
        raise RuntimeError("secret internals /etc/passwd")

    app.add_url_rule("/api/test-boom", "test_boom", boom, methods=["POST"])
    before = row_counts()
    response = client.post("/api/test-boom", json={})
    assert_error(response, 500, "internal_error")
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and "secret internals" not in text and "RuntimeError" not in text
    assert row_counts() == before
