"""The scanner PWA's supervisor side and its receive, move, count and lookup screens, in real Chromium (Playwright)
against a real `lotwise serve` with the demo data (issue 6; the worker's offline shift is tests/test_pwa.py).

- A worker picks in the app by wedge typing: two picks as expected and two with another lot (a substitute that
  expires earlier, and one that expires later), and syncs. A supervisor, in another browser profile, confirms one
  pick, then "Confirm all" for the rest of the list, rejects one exception and approves the other, each with a
  reason. After the worker's next "Sync now" the worker's app shows both decisions. The devices screen counts the
  worker's mutations by outcome; offline, the supervisor screens say they need a connection.
- Receive a supplier's GS1 label offline, then online: the lot exists on the server with the label's expiry, and
  its label is fetched with the token and printed from a blob: URL.
- Move and count produce the expected movements on the server; lookup shows the demo's quarantined lot as
  ON HOLD (offline from the device's copy, online from the server with its history); workers get no supervisor
  screens.
- Screenshots at 360x740 of the supervisor screen and the receive screen (tests/artifacts/).

One server for the module (seeding the demo costs seconds); each test works on its own lots and tasks.
"""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from tests.conftest import save_artifact, start_live_server

GS = "\x1d"
COLOURS = {"applied": "rgb(10, 122, 47)", "flagged": "rgb(242, 180, 0)", "rejected": "rgb(196, 0, 15)"}


@pytest.fixture(scope="module")
def server(tmp_path_factory, playwright_instance):
    """One `lotwise serve` with the demo data for this module's tests."""
    live = start_live_server(tmp_path_factory.mktemp("pwa-supervisor"))
    yield live
    live.stop()


@pytest.fixture(scope="module")
def boss_headers(server):
    return server.login("supervisor", device="TEST-BOSS-API")


# --- helpers ---------------------------------------------------------------------------------------------

def api(server, headers, method: str, path: str, status: int = 200, **kwargs):
    answer = requests.request(method, server.url + path, headers=headers, timeout=30, **kwargs)
    assert answer.status_code == status, (path, answer.status_code, answer.text)
    return answer.json()


def page_of(context):
    """The context's page, its console errors kept (printed when a test fails)."""
    page = context.pages[0] if context.pages else context.new_page()
    page.on("console", lambda m: m.type in ("error", "warning") and print(f"[console {m.type}] {m.text}"))
    page.on("pageerror", lambda e: print(f"[page error] {e}"))
    return page


def sign_in(page, server, username: str, device: str) -> None:
    page.goto(server.url + "/")
    page.wait_for_selector("#login-form")
    page.fill("#username", username)
    page.fill("#password", username)
    page.fill("#device", device)
    page.click("#login-submit")
    page.wait_for_function("location.hash === '#/tasks' || location.hash === '#/supervisor'", timeout=30_000)
    page.wait_for_selector("#view[data-ready=yes]")
    page.wait_for_function("document.querySelector('#last-sync').dataset.at !== ''", timeout=30_000)  # first pull


def go(page, route: str, selector: str) -> None:
    page.evaluate("h => { location.hash = h; }", route)
    page.wait_for_selector(f"#view[data-view='{route.split('/')[1]}'][data-ready=yes] {selector}")


def wedge(page, text: str) -> None:
    """Type like a keyboard-wedge scanner into the focused field, ending with Enter."""
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def serial(page) -> int:
    return int(page.get_attribute("#verdict", "data-serial") or 0)


def wait_verdict(page, after: int) -> dict:
    page.wait_for_function("s => Number(document.querySelector('#verdict').dataset.serial || 0) > s", arg=after,
                           timeout=10_000)
    return page.evaluate("""() => { const v = document.querySelector('#verdict');
        return {status: v.dataset.status, reason: v.dataset.reason, text: v.innerText,
                colour: getComputedStyle(v).backgroundColor}; }""")


def pending(page) -> int:
    return int(page.get_attribute("#pending", "data-count"))


def wait_pending(page, n: int, timeout: int = 30_000) -> None:
    page.wait_for_function("n => Number(document.querySelector('#pending').dataset.count) === n", arg=n,
                           timeout=timeout)


def focused(page, selector: str) -> None:
    page.wait_for_function("s => document.activeElement && document.activeElement.matches(s)", arg=selector)


def sync_now(page) -> None:
    """Press "Sync now" and wait for the round (push, then pull) to finish."""
    before = page.get_attribute("#last-sync", "data-at")
    page.click("#sync-now")
    page.wait_for_function("b => document.querySelector('#last-sync').dataset.at !== b", arg=before, timeout=30_000)


def pick(page, task: dict, scan: str, expect: str, reason: str | None) -> dict:
    """Pick one task in the app: scan its location, then the lot, then Enter on the quantity (all of it)."""
    go(page, f"#/pick/{task['id']}", f".pick[data-task='{task['id']}'][data-step='location']")
    focused(page, ".scan-input")
    wedge(page, task["from_location"])
    page.wait_for_selector(f".pick[data-task='{task['id']}'][data-step='lot']")
    before = serial(page)
    wedge(page, scan)
    assert wait_verdict(page, before)["status"] == expect
    page.wait_for_selector(f".pick[data-task='{task['id']}'][data-step='qty']")
    focused(page, "#qty")
    before = serial(page)
    page.keyboard.press("Enter")
    shown = wait_verdict(page, before)
    assert (shown["status"], shown["reason"] or None) == (expect, reason), shown
    assert shown["colour"] == COLOURS[expect]
    # Queued, the app goes on to the next task by itself: let it, before going anywhere else.
    page.wait_for_function("h => location.hash !== h", arg=f"#/pick/{task['id']}")
    page.wait_for_selector("#view[data-ready=yes]")
    return shown


def gtin_scan(gtin: str, lot: str, expiry: str | None = None) -> str:
    """A GS1 DataMatrix as a wedge types it: ]d2 (01) [(17)] (10)."""
    return f"]d201{gtin}" + (f"17{expiry}" if expiry else "") + f"10{lot}"


def screenshot(page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    page.screenshot(path=str(path))
    save_artifact(path)
    return path


def open_task(server, headers, sku: str, lot: str) -> dict:
    rows = api(server, headers, "GET", "/api/tasks?status=open&per_page=500")["data"]
    return next(t for t in rows if t["item"] == sku and t["lot"]["code"] == lot)


def lot_by_code(server, headers, sku: str, code: str) -> dict:
    rows = api(server, headers, "GET", f"/api/lots?item={sku}&q={code}&per_page=100")["data"]
    return next(r for r in rows if r["code"] == code)


def item_gtin(server, headers, sku: str) -> str:
    rows = api(server, headers, "GET", "/api/items?per_page=500")["data"]
    return next(i["gtin"] for i in rows if i["sku"] == sku)


# --- supervisor: confirm picks, decide exceptions; the worker sees the decision ---------------------------

def test_supervisor_confirms_picks_and_decides_exceptions_the_worker_sees_it(server, boss_headers, profiles,
                                                                            tmp_path):
    boss = boss_headers
    flour = open_task(server, boss, "RM-FLOUR", "VM-24117")
    cocoa = open_task(server, boss, "RM-COCOA", "HZ-K3304")
    sugar = open_task(server, boss, "RM-SUGAR", "HZ-7781")
    butter = open_task(server, boss, "RM-BUTTER", "LH-B552")
    assert len({flour["pick_list"], cocoa["pick_list"], sugar["pick_list"], butter["pick_list"]}) == 1
    # A sugar lot expiring a day before the expected one, at the same place: a substitute no worse by FEFO.
    expected_expiry = date.fromisoformat(sugar["lot"]["expires_on"])
    api(server, boss, "POST", "/api/receipts", 201, json={
        "item": "RM-SUGAR", "lot": "SUB-7790", "qty": "100", "location": sugar["from_location"],
        "expires_on": (expected_expiry - timedelta(days=1)).isoformat(), "supplier": "SUP-SUGAR"})
    gtins = {sku: item_gtin(server, boss, sku) for sku in ("RM-FLOUR", "RM-COCOA", "RM-SUGAR", "RM-BUTTER")}

    worker_context = profiles.open("worker")
    worker = page_of(worker_context)
    sign_in(worker, server, "worker", "HH-SUP-W")
    pick(worker, flour, gtin_scan(gtins["RM-FLOUR"], "VM-24117"), "applied", None)
    pick(worker, cocoa, gtin_scan(gtins["RM-COCOA"], "HZ-K3304"), "applied", None)
    substitute = pick(worker, sugar, gtin_scan(gtins["RM-SUGAR"], "SUB-7790"), "flagged", "substitute_lot")
    assert "Other lot: expected HZ-7781" in substitute["text"]
    later = pick(worker, butter, gtin_scan(gtins["RM-BUTTER"], "LH-B561"), "flagged", "fefo_violation")
    assert "Wrong lot: expected LH-B552" in later["text"]
    sync_now(worker)
    wait_pending(worker, 0)
    picked = {t["id"]: t for t in api(server, boss, "GET", "/api/tasks?status=picked&per_page=500")["data"]}
    assert {flour["id"], cocoa["id"]} <= set(picked)
    exceptions = {t["id"]: t for t in api(server, boss, "GET", "/api/exceptions")}
    assert exceptions[sugar["id"]]["exception_reason"] == "substitute_lot"
    assert exceptions[butter["id"]]["exception_reason"] == "fefo_violation"

    # The supervisor, on another device (its own browser profile).
    boss_context = profiles.open("supervisor")
    page = page_of(boss_context)
    sign_in(page, server, "supervisor", "PC-SUP")
    go(page, "#/supervisor/confirm", ".lw-supervisor[data-tab=confirm]")
    group = page.locator(f".lw-group[data-list='{flour['pick_list']}']")
    assert group.locator(f".lw-row[data-task='{flour['id']}']").count() == 1
    assert group.locator(f".lw-row[data-task='{cocoa['id']}']").count() == 1
    assert "2" in page.inner_text(".lw-tab[data-tab=exceptions] .lw-count")
    screenshot(page, tmp_path, "pwa-supervisor-confirm-360x740.png")

    # Confirm one pick, then the rest of the list with "Confirm all".
    page.click(f"[data-action=confirm][data-task='{flour['id']}']")
    page.wait_for_selector(".lw-note[data-tone=good]")
    page.wait_for_selector(f".lw-row[data-task='{flour['id']}']", state="detached")
    assert api(server, boss, "GET", "/api/tasks?status=confirmed&per_page=500")["total"] >= 1
    page.click(f"[data-action=confirm-list][data-list='{flour['pick_list']}']")
    page.wait_for_selector(f".lw-row[data-task='{cocoa['id']}']", state="detached")
    assert "Confirmed 1 pick(s)" in page.inner_text(".lw-note")
    confirmed = {t["id"]: t for t in api(server, boss, "GET", "/api/tasks?status=confirmed&per_page=500")["data"]}
    assert confirmed[flour["id"]]["confirmed_by"] == "supervisor"
    assert confirmed[cocoa["id"]]["confirmed_by"] == "supervisor"

    # The exceptions: reason, the worker's words, expected against scanned.
    page.click(".lw-tab[data-tab=exceptions]")
    card = page.locator(f".lw-exception[data-task='{sugar['id']}']")
    card.wait_for()
    assert card.get_attribute("data-reason") == "substitute_lot"
    words = card.inner_text()
    assert "HZ-7781" in words and "SUB-7790" in words and sugar["from_location"] in words
    assert "taken as a substitute" in words
    assert page.locator(f".lw-exception[data-task='{butter['id']}'][data-reason=fefo_violation]").count() == 1
    screenshot(page, tmp_path, "pwa-supervisor-360x740.png")

    # Reject the substitute: a reason is required.
    card.locator("[data-action=ask][data-decision=reject]").click()
    card.locator("[data-action=decide]").click()
    assert "reason" in card.locator(".form-error").inner_text().lower()
    assert api(server, boss, "GET", "/api/exceptions")[0]["status"] == "exception"
    card.locator("input[name=reason]").fill("Wrong lot order: put SUB-7790 back, pick HZ-7781")
    card.locator("[data-action=decide]").click()
    page.wait_for_selector(f".lw-exception[data-task='{sugar['id']}']", state="detached")
    # Approve the later-expiring butter with a preset reason.
    other = page.locator(f".lw-exception[data-task='{butter['id']}']")
    other.locator("[data-action=ask][data-decision=approve]").click()
    other.locator(".lw-chip").first.click()
    reason = other.locator("input[name=reason]").input_value()
    assert reason
    other.locator("[data-action=decide]").click()
    page.wait_for_selector("#lw-exceptions .lw-empty")
    assert page.inner_text(".lw-tab[data-tab=exceptions] .lw-count").strip() == "0"
    assert api(server, boss, "GET", "/api/exceptions") == []

    decided = {t["id"]: t for t in api(server, boss, "GET", "/api/tasks?per_page=500")["data"]}
    assert decided[sugar["id"]]["status"] == "open" and decided[sugar["id"]]["decision"] == "rejected"
    assert decided[sugar["id"]]["decision_reason"] == "Wrong lot order: put SUB-7790 back, pick HZ-7781"
    assert decided[butter["id"]]["status"] == "confirmed" and decided[butter["id"]]["decision"] == "approved"
    assert decided[butter["id"]]["decision_reason"] == reason
    # The rejection put the substitute back where it was taken from.
    sub = api(server, boss, "GET", f"/api/lots/{lot_by_code(server, boss, 'RM-SUGAR', 'SUB-7790')['id']}")
    assert {b["location"]: Decimal(b["on_hand"]) for b in sub["balances"] if Decimal(b["on_hand"])} == {
        sugar["from_location"]: Decimal(100)}

    # The worker's app shows both decisions after its next pull.
    go(worker, "#/tasks", ".tasks")
    sync_now(worker)
    worker.wait_for_function("id => { const c = document.querySelector(`.card[data-task='${id}']`);"
                             " return c && c.innerText.includes('rejected'); }", arg=sugar["id"], timeout=15_000)
    rejected_card = worker.inner_text(f".card[data-task='{sugar['id']}']")
    assert "Wrong lot order: put SUB-7790 back" in rejected_card
    assert worker.get_attribute(f".card[data-task='{sugar['id']}']", "data-status") == "open"
    approved = worker.locator(f".card[data-task='{butter['id']}']")
    assert approved.get_attribute("data-decision") == "approved"
    assert reason in approved.inner_text()

    # Devices: the worker's handheld with its last syncs and its mutations by outcome.
    go(page, "#/devices", ".lw-devices")
    row = page.locator(".lw-device[data-device='HH-SUP-W']")
    assert row.locator("[data-field=last_user]").inner_text() == "worker"
    assert "never" not in row.locator("[data-field=last_push]").inner_text()
    assert "never" not in row.locator("[data-field=last_pull]").inner_text()
    assert row.locator("[data-outcome=applied]").get_attribute("data-count") == "2"
    assert row.locator("[data-outcome=flagged]").get_attribute("data-count") == "2"
    assert row.locator("[data-outcome=rejected]").get_attribute("data-count") == "0"

    # Offline, the supervisor screens say so instead of showing stale decisions.
    boss_context.set_offline(True)
    page.click("[data-action=refresh]")
    page.wait_for_selector(".lw-offline[data-offline=yes]")
    assert "NEEDS A CONNECTION" in page.inner_text("#view")
    boss_context.set_offline(False)  # back online: the screen comes back by itself
    page.wait_for_selector(".lw-devices .lw-device[data-device='HH-SUP-W']")


# --- receive: a supplier's GS1 label, offline then online, then its label printed --------------------------

def test_receive_a_supplier_label_offline_then_online_then_print(server, boss_headers, profiles, tmp_path):
    boss = boss_headers
    gtin = item_gtin(server, boss, "RM-FLOUR")
    expiry = date.today() + timedelta(days=300)
    label = f"]C101{gtin}17{expiry:%y%m%d}10SUPLOT-9{GS}"  # (01) (17) (10) with a trailing FNC1 as some print it

    context = profiles.open("receiver")
    page = page_of(context)
    sign_in(page, server, "worker", "HH-RCV")
    go(page, "#/receive", ".lw-receive")
    page.wait_for_selector("#lw-supplier option[value='SUP-MILL']", state="attached")  # fetched while online
    context.set_offline(True)
    page.wait_for_function("document.querySelector('#net').dataset.state === 'offline'")

    focused(page, ".scan-input")
    before = serial(page)
    wedge(page, label.replace(GS, "|"))
    assert wait_verdict(page, before)["status"] == "info"
    assert page.input_value("#lw-item") == "RM-FLOUR"
    assert page.input_value("#lw-lot") == "SUPLOT-9"
    assert page.input_value("#lw-expiry") == expiry.isoformat()
    focused(page, "#lw-qty")
    page.keyboard.type("250.5")
    page.select_option("#lw-supplier", "SUP-MILL")
    page.fill("#lw-reference", "DN-4711")
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, tmp_path, "pwa-receive-360x740.png")  # the form as the label filled it, offline
    before = serial(page)
    page.click("#lw-submit")
    shown = wait_verdict(page, before)
    assert shown["status"] == "applied" and "SUPLOT-9" in shown["text"], shown
    wait_pending(page, 1)
    row = page.locator(".lw-received").first
    assert row.get_attribute("data-status") == "pending"
    assert "after the sync" in row.inner_text()
    assert page.input_value("#lw-lot") == ""  # ready for the next pallet
    with pytest.raises(StopIteration):
        lot_by_code(server, boss, "RM-FLOUR", "SUPLOT-9")

    # Online: the queue goes by itself; the server made the lot with the label's expiry.
    context.set_offline(False)
    wait_pending(page, 0, timeout=60_000)
    page.wait_for_selector(".lw-received[data-status=applied] [data-action=print]")
    lot = lot_by_code(server, boss, "RM-FLOUR", "SUPLOT-9")
    assert lot["expires_on"] == expiry.isoformat()
    detail = api(server, boss, "GET", f"/api/lots/{lot['id']}")
    receipt = next(m for m in detail["movements"] if m["type"] == "receive")
    assert Decimal(receipt["qty"]) == Decimal("250.5") and receipt["to_location"] == page.input_value("#lw-location")
    assert receipt["partner"] == "SUP-MILL" and receipt["ref_number"] == "DN-4711" and receipt["device"] == "HH-RCV" and receipt["actor"] == "worker"
    assert page.locator(f".lw-received[data-lot='{lot['id']}']").count() == 1

    # Print: the label page fetched with the bearer token, shown from a blob: URL, print() called.
    page.click(f".lw-received[data-lot='{lot['id']}'] [data-action=print]")
    frame = page.wait_for_selector("iframe.lw-print-frame[data-loaded=yes]", state="attached")
    assert frame.get_attribute("src").startswith("blob:")
    content = frame.content_frame()
    assert "SUPLOT-9" in content.content() and "<svg" in content.content()
    page.click(f".lw-received[data-lot='{lot['id']}'] [data-action=preview]")
    page.wait_for_function("() => { const i = document.querySelector('.lw-label-preview');"
                           " return i && i.complete && i.naturalWidth > 0; }")
    assert page.get_attribute(".lw-label-preview", "src").startswith("blob:")
    page.evaluate("""() => { const row = document.querySelector('#lw-received');  // below the sticky bars
        window.scrollTo(0, row.getBoundingClientRect().top + window.scrollY - 220); }""")
    screenshot(page, tmp_path, "pwa-receive-printed-360x740.png")

    # A form that contradicts nothing but has no label: explicit item, new lot code made by the server.
    page.fill("#lw-qty", "10")
    page.select_option("#lw-item", "RM-SUGAR")
    before = serial(page)
    page.click("#lw-submit")
    shown = wait_verdict(page, before)
    assert shown["status"] == "applied" and "new lot" in shown["text"]
    page.wait_for_function("() => { const r = document.querySelector('.lw-received');"
                           " return r && r.dataset.status === 'applied' && r.dataset.lot; }", timeout=30_000)
    made = api(server, boss, "GET", f"/api/lots/{page.get_attribute('.lw-received', 'data-lot')}")
    assert made["lot"]["item"]["sku"] == "RM-SUGAR" and made["lot"]["code"]


def test_receive_screen_refuses_what_the_server_would_refuse(server, profiles):
    context = profiles.open("receiver-bad")
    page = page_of(context)
    sign_in(page, server, "worker", "HH-RCV-2")
    go(page, "#/receive", ".lw-receive")
    gtin_bad = "04012345000017"  # RM-FLOUR's GTIN with a wrong check digit
    before = serial(page)
    wedge(page, f"]C101{gtin_bad}10X1")
    shown = wait_verdict(page, before)
    assert (shown["status"], shown["reason"]) == ("rejected", "bad_barcode")
    # An expired label: refused at once with the server's reason, nothing queued.
    page.select_option("#lw-item", "RM-EGGS")
    page.fill("#lw-lot", "OLD-1")
    page.fill("#lw-expiry", (date.today() - timedelta(days=2)).isoformat())
    page.fill("#lw-qty", "12")
    before = serial(page)
    page.click("#lw-submit")
    shown = wait_verdict(page, before)
    assert (shown["status"], shown["reason"]) == ("rejected", "lot_expired")
    assert "expired" in page.inner_text("#lw-error").lower()
    assert pending(page) == 0 and page.locator(".lw-received").count() == 0


# --- move, count, lookup ---------------------------------------------------------------------------------

def test_move_count_and_lookup(server, boss_headers, profiles, tmp_path):
    boss = boss_headers
    flour_gtin = item_gtin(server, boss, "RM-FLOUR")
    cocoa_gtin = item_gtin(server, boss, "RM-COCOA")
    moved = lot_by_code(server, boss, "RM-FLOUR", "VM-24163")
    counted = lot_by_code(server, boss, "RM-FLOUR", "VM-24198")
    before_count = {b["location"]: Decimal(b["on_hand"])
                    for b in api(server, boss, "GET", f"/api/lots/{counted['id']}")["balances"]}
    assert before_count == {"DOCK-1": Decimal(500)}

    context = profiles.open("mover")
    page = page_of(context)
    sign_in(page, server, "worker", "HH-MOVE")

    # Workers get no supervisor screens.
    go(page, "#/supervisor", "[data-denied=role]")
    assert "SUPERVISORS ONLY" in page.inner_text("#view")

    # Move: the lot first (it is in one place, so that is "from"), then where to, then the quantity.
    go(page, "#/move", ".lw-move[data-step=lot]")
    focused(page, ".scan-input")
    wedge(page, gtin_scan(flour_gtin, "VM-24163"))
    page.wait_for_selector(".lw-move[data-step=to]")
    assert page.inner_text("#lw-from") == "A-02-01"
    wedge(page, "A-03-01")
    page.wait_for_selector(".lw-move[data-step=qty]")
    focused(page, "#lw-qty")
    assert page.input_value("#lw-qty") == "1000"  # all of it there, by default
    page.keyboard.type("125.25")  # replaces the selected default
    before = serial(page)
    page.keyboard.press("Enter")
    shown = wait_verdict(page, before)
    assert (shown["status"], shown["text"].split("\n")[-1]) == ("applied", "Moved lot VM-24163"), shown
    page.wait_for_selector(".lw-move[data-step=lot]")

    # Too much for what the device knows is there: refused at once, not queued.
    wedge(page, "A-02-01")  # the location first, then the lot
    wedge(page, gtin_scan(flour_gtin, "VM-24163"))
    page.wait_for_selector(".lw-move[data-step=to]")
    page.select_option("#lw-to-select", "A-03-02")
    page.wait_for_selector(".lw-move[data-step=qty]")
    page.fill("#lw-qty", "5000")
    before = serial(page)
    page.click("#lw-submit")
    shown = wait_verdict(page, before)
    assert (shown["status"], shown["reason"]) == ("rejected", "insufficient_stock"), shown
    page.wait_for_selector("#lw-anyway:not([hidden])")  # the worker may still queue it: the server decides
    page.click("#lw-restart")

    # Count: location, lot, what is there (blind), at the receiving dock.
    go(page, "#/count", ".lw-count-view[data-step=location]")
    focused(page, ".scan-input")
    before = serial(page)
    wedge(page, gtin_scan(flour_gtin, "VM-24198"))  # a lot before the location: told to scan the location
    assert wait_verdict(page, before)["reason"] == "location_first"
    assert page.get_attribute(".lw-count-view", "data-step") == "location"
    wedge(page, "DOCK-1")
    page.wait_for_selector(".lw-count-view[data-step=lot]")
    assert page.locator(f".lw-ticks li[data-lot='{counted['id']}']").count() == 1
    wedge(page, gtin_scan(flour_gtin, "VM-24198"))
    page.wait_for_selector(".lw-count-view[data-step=qty]")
    focused(page, "#lw-qty")
    page.keyboard.type("487.5")
    before = serial(page)
    page.keyboard.press("Enter")
    shown = wait_verdict(page, before)
    assert shown["status"] == "applied" and "−12.5" in shown["text"], shown
    assert page.get_attribute(f".lw-ticks li[data-lot='{counted['id']}']", "data-counted") == "true"
    wait_pending(page, 0, timeout=60_000)

    # The server holds exactly the expected movements.
    history = api(server, boss, "GET", f"/api/lots/{moved['id']}")
    moves = [m for m in history["movements"] if m["device"] == "HH-MOVE"]
    assert [(m["type"], Decimal(m["qty"]), m["from_location"], m["to_location"], m["actor"]) for m in moves] == [
        ("move", Decimal("125.25"), "A-02-01", "A-03-01", "worker")]
    stock = {b["location"]: Decimal(b["on_hand"]) for b in history["balances"] if Decimal(b["on_hand"])}
    assert stock == {"A-02-01": Decimal("874.75"), "A-03-01": Decimal("125.25")}
    history = api(server, boss, "GET", f"/api/lots/{counted['id']}")
    adjustments = [m for m in history["movements"] if m["device"] == "HH-MOVE"]
    assert [(m["type"], Decimal(m["qty"]), m["from_location"], m["to_location"], m["reason"]) for m in adjustments] == [
        ("adjust", Decimal("12.5"), "DOCK-1", None, "count")]
    assert [(e["kind"], e["old_value"], e["new_value"], e["location"]) for e in history["events"]
            if e["kind"] == "count"] == [("count", "500", "487.5", "DOCK-1")]

    # Lookup: the demo's quarantined lot is ON HOLD — offline from the device's copy, online from the server.
    go(page, "#/lookup", ".lw-lookup")
    context.set_offline(True)
    page.wait_for_function("document.querySelector('#net').dataset.state === 'offline'")
    focused(page, ".scan-input")
    before = serial(page)
    wedge(page, gtin_scan(cocoa_gtin, "HZ-K3317"))
    shown = wait_verdict(page, before)
    assert shown["status"] == "rejected" and "ON HOLD" in shown["text"], shown
    card = page.locator(".lw-lot[data-source=device]")
    assert card.get_attribute("data-word") == "ON HOLD"
    assert page.inner_text("#lw-status-word") == "ON HOLD"
    assert page.evaluate("getComputedStyle(document.querySelector('#lw-status-word')).backgroundColor") == \
        COLOURS["rejected"]
    assert page.locator("#lw-stock tr[data-location='QRT-1']").count() == 1
    context.set_offline(False)
    page.wait_for_function("document.querySelector('#net').dataset.state === 'online'", timeout=30_000)
    page.wait_for_timeout(400)  # the same label again within 300 ms would be dropped as a trigger bounce
    wedge(page, gtin_scan(cocoa_gtin, "HZ-K3317"))
    page.wait_for_selector(".lw-lot[data-source=server][data-word='ON HOLD'] #lw-history")
    assert "Certificate of analysis missing" in page.inner_text("#lw-why")
    # An expired demo lot, by its bare code.
    wedge(page, "LH-E0931")
    page.wait_for_selector(".lw-lot[data-word=EXPIRED]")
    assert "EXPIRED on" in page.inner_text("#lw-expiry")
