"""The scanner PWA in real Chromium (Playwright) against a real `lotwise serve` with the demo data
(issue 6, "Must hold", the worker's side; the supervisor's side is tests/test_pwa_supervisor.py).

- The blueprint serves the shell, the service worker (no-cache, versioned), the manifest and the self-hosted
  zxing-wasm files with the right types.
- Installable: Chrome's own installability check (DevTools `Page.getInstallabilityErrors`) finds nothing
  missing; the manifest's icons load at their sizes; the service worker controls the page.
- A shift offline: sign in, pull, go offline, reload (the app comes from the cache), pick 20 tasks by typing
  into the scan field as a wedge scanner does — among them a wrong lot, an expired lot and a wrong item —
  each verdict shown (words and colour) and queued; close the browser, reopen the same profile: the queue is
  intact; go online: it syncs by itself, the outcomes appear, and the server's ledger holds exactly those
  movements.
- Camera: Chromium's fake camera plays a Y4M made here from a zxing-cpp GS1 DataMatrix of a demo lot; the
  app reads it offline (zxing-wasm from the app's own cache).
- Screenshots at 360x740 of the pick screen and the queue (test output dir and tests/artifacts/).
"""
from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from pathlib import Path

import numpy as np
import requests
from sqlalchemy import text

from backend.types import from_scaled
from tests.conftest import make_app, save_artifact

DEVICE = "HH-PWA-1"
GS = "\x1d"
COLOURS = {"applied": "rgb(10, 122, 47)", "flagged": "rgb(242, 180, 0)", "rejected": "rgb(196, 0, 15)"}
# Vibration patterns the app plays (spied on in the page): one per verdict.
VIBRATIONS = {"applied": [60], "flagged": [120, 80, 120], "rejected": [350, 120, 350, 120, 500]}
SPY = """
window.__vibrations = [];
Object.defineProperty(navigator, 'vibrate', {value: (p) => { window.__vibrations.push(p); return true; }});
"""


# --- the blueprint, without a browser ----------------------------------------------------------------------

def test_blueprint_serves_the_app_with_the_right_types(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'x.db'}", tmp_path)
    client = app.test_client()

    shell = client.get("/")
    assert shell.status_code == 200 and shell.mimetype == "text/html"
    assert b'<script type="module" src="/app/app.js">' in shell.data
    assert b'rel="manifest" href="/manifest.webmanifest"' in shell.data

    worker = client.get("/sw.js")
    assert worker.status_code == 200 and worker.mimetype == "text/javascript"
    assert worker.headers["Cache-Control"] == "no-cache"
    source = worker.get_data(as_text=True)
    assert "__VERSION__" not in source and "__PRECACHE__" not in source
    precache = json.loads(source.split("const PRECACHE = ", 1)[1].split(";\n", 1)[0])
    assert {"/", "/manifest.webmanifest", "/app/app.js", "/app/db.js", "/app/outbox.js", "/app/sync.js",
            "/app/scanner.js", "/app/views/pick.js", "/app/views/queue.js", "/app/icons/icon-512.png",
            "/app/vendor/zxing-wasm/reader/zxing_reader.wasm"} <= set(precache)
    for url in precache:  # everything precached exists (an install fails on one 404)
        assert client.get(url).status_code == 200, url

    manifest = client.get("/manifest.webmanifest")
    assert manifest.mimetype == "application/manifest+json"
    assert client.get("/app/vendor/zxing-wasm/reader/zxing_reader.wasm").mimetype == "application/wasm"
    assert client.get("/app/app.js").mimetype == "text/javascript"
    assert client.get("/app/vendor/zxing-wasm/es/reader/index.js").mimetype == "text/javascript"
    # Only the app's files: no way out of pwa/static, nothing else of node_modules, and the API stays JSON.
    assert client.get("/app/../__init__.py").status_code == 404
    assert client.get("/app/vendor/zxing-wasm/../package.json").status_code == 404
    assert client.get("/app/vendor/zxing-wasm/full/zxing_full.wasm").status_code == 404
    assert client.get("/api/nothing-here").get_json()["error"] == "not_found"


def test_the_worker_version_changes_with_any_precached_file(tmp_path, monkeypatch):
    import shutil

    import pwa

    copy = tmp_path / "static"
    shutil.copytree(pwa.STATIC, copy)
    monkeypatch.setattr(pwa, "STATIC", copy)
    before = pwa.cache_version()
    assert pwa.cache_version() == before  # stable while nothing changes
    view = copy / "views" / "queue.js"
    view.write_text(view.read_text() + "\n// changed\n")
    assert pwa.cache_version() != before
    (copy / "views" / "new.js").write_text("export async function show() {}\n")
    assert "/app/views/new.js" in pwa.app_files()


def test_no_cdn_links_anywhere_in_the_app():
    static = Path(__file__).resolve().parents[1] / "pwa" / "static"
    for path in static.rglob("*"):
        if path.suffix in {".js", ".html", ".css", ".webmanifest"}:
            body = path.read_text(encoding="utf-8")
            for cdn in ("jsdelivr", "unpkg", "cdnjs", "googleapis", "esm.sh", "skypack"):
                assert cdn not in body, f"{path.name} mentions {cdn}"


# --- helpers for the browser tests ---------------------------------------------------------------------------

def lot_scan(task: dict, lot_code: str, form: str = "aim") -> str:
    """What a wedge scanner types for a lot label of the task's item, in one of the forms GS1 allows."""
    gtin, sku = task["gtin"], task["sku"]
    if form == "hri":
        return (f"(01){gtin}" if gtin else f"(240){sku}") + f"(10){lot_code}"
    if form == "link" and gtin:
        return f"https://id.gs1.org/01/{gtin}/10/{lot_code}"
    if gtin:
        return f"]d201{gtin}10{lot_code}"
    return f"]d2240{sku}|10{lot_code}"  # the wedge types the GS substitute


def sign_in(page, server, username="worker", password=None, device=DEVICE):
    page.goto(server.url + "/")
    page.wait_for_selector("#login-form")
    page.fill("#username", username)
    page.fill("#password", password or username)
    page.fill("#device", device)
    page.click("#login-submit")
    page.wait_for_function("location.hash === '#/tasks' || location.hash === '#/supervisor'", timeout=30_000)
    page.wait_for_selector("#view[data-ready=yes]")


def wait_until(page, script: str, timeout: float = 30, arg=None):
    """Poll an async page function until it returns a truthy value (Playwright's wait_for_function does not
    await promises)."""
    import time
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(script, arg)
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {script}"
        time.sleep(0.05)


def wait_for_worker(page):
    """The service worker controls the page and has precached the app."""
    page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=30_000)
    wait_until(page, """async () => {
        const keys = await caches.keys();
        const names = keys.filter(k => k.startsWith('lotwise-shell-'));
        if (names.length !== 1) return false;
        const cache = await caches.open(names[0]);
        return Boolean(await cache.match('/app/vendor/zxing-wasm/reader/zxing_reader.wasm'))
            && Boolean(await cache.match('/app/views/pick.js'));
    }""")


def verdict_serial(page) -> int:
    return int(page.get_attribute("#verdict", "data-serial") or 0)


def wait_verdict(page, after: int) -> dict:
    page.wait_for_function("s => Number(document.querySelector('#verdict').dataset.serial || 0) > s", arg=after,
                           timeout=10_000)
    return page.evaluate("""() => { const v = document.querySelector('#verdict');
        const field = document.querySelector('#view .scan-input');
        return {status: v.dataset.status, reason: v.dataset.reason, text: v.innerText,
                colour: getComputedStyle(v).backgroundColor, height: v.getBoundingClientRect().height,
                field: field ? field.getBoundingClientRect().top : null}; }""")


def field_top(page) -> float:
    return page.evaluate("document.querySelector('#view .scan-input').getBoundingClientRect().top")


def pending_count(page) -> int:
    return int(page.get_attribute("#pending", "data-count"))


def wedge(page, text_: str):
    """Type like a keyboard-wedge scanner into the focused field, ending with Enter."""
    page.keyboard.type(text_)
    page.keyboard.press("Enter")


def pick(page, task: dict, scan: str, expect: str, reason: str | None = None) -> dict:
    """Pick one task through the UI: location, lot (verdict at once), quantity (default: all)."""
    page.evaluate("h => { location.hash = h; }", f"#/pick/{task['id']}")
    page.wait_for_selector(f".pick[data-task='{task['id']}'][data-step='location']")
    page.wait_for_function("document.activeElement && document.activeElement.classList.contains('scan-input')")
    queued = pending_count(page)
    wedge(page, task["from"])
    page.wait_for_selector(f".pick[data-task='{task['id']}'][data-step='lot']")
    before, top = verdict_serial(page), field_top(page)
    wedge(page, scan)
    shown = wait_verdict(page, before)
    assert shown["status"] == expect, (task, scan, shown)
    assert shown["field"] == top, "the scan field moved when the verdict came"
    if expect != "rejected":
        page.wait_for_selector(f".pick[data-task='{task['id']}'][data-step='qty']")
        page.wait_for_function("document.activeElement && document.activeElement.id === 'qty'")
        before = verdict_serial(page)
        page.keyboard.press("Enter")  # the quantity defaults to all of the task
        shown = wait_verdict(page, before)
        assert shown["status"] == expect, (task, scan, shown)
    assert shown["reason"] == (reason or ""), shown
    assert shown["colour"] == COLOURS[expect], shown
    page.wait_for_function("n => Number(document.querySelector('#pending').dataset.count) === n", arg=queued + 1)
    return shown


def open_tasks(server, headers) -> list[dict]:
    """The open tasks in walking order, each with its item's SKU and GTIN, from the REST API."""
    rows = requests.get(server.url + "/api/tasks?status=open&per_page=500", headers=headers, timeout=30).json()["data"]
    items = {i["sku"]: i for i in requests.get(server.url + "/api/items?per_page=500", headers=headers,
                                               timeout=30).json()["data"]}
    return [{"id": row["id"], "sku": row["item"], "gtin": items[row["item"]].get("gtin"), "uom": row["uom"],
             "lot_code": row["lot"]["code"], "from": row["from_location"], "to": row["to_location"],
             "qty": row["qty"]} for row in rows]


def add_work(server, boss) -> None:
    """More sales orders for today, allocated: with the demo's own, more than 20 open tasks."""
    orders = [
        ("CUS-GRUEN", "STAGE-1", [("RM-FLOUR", "10"), ("RM-BUTTER", "5"), ("FG-BUTTER-500", "6")]),
        ("CUS-LINDE", "STAGE-2", [("RM-SUGAR", "5"), ("RM-EGGS", "30"), ("FG-DOUBLE-8", "6")]),
        ("CUS-TANK", "STAGE-1", [("RM-COCOA", "2"), ("RM-FLOUR", "12.5"), ("FG-BUTTER-500", "12")]),
        ("CUS-FRISCH", "STAGE-2", [("RM-EGGS", "60"), ("RM-BUTTER", "2.25"), ("FG-DOUBLE-8", "8")]),
    ]
    for number, (customer, staging, lines) in enumerate(orders):
        made = requests.post(server.url + "/api/orders", headers=boss, timeout=30, json={
            "customer": customer, "reference": f"PWA-{number}",
            "lines": [{"item": sku, "qty": qty} for sku, qty in lines]})
        assert made.status_code == 201, made.text
        allocated = requests.post(server.url + f"/api/orders/{made.json()['id']}/allocate", headers=boss,
                                  timeout=30, json={"staging": staging})
        assert allocated.status_code == 201 and not allocated.json()["shortfalls"], allocated.text


def lot_codes(server, headers, sku: str) -> dict[str, dict]:
    rows = requests.get(server.url + f"/api/lots?item={sku}&per_page=100", headers=headers, timeout=30).json()["data"]
    return {row["code"]: row for row in rows}


def screenshot(page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    page.screenshot(path=str(path))
    save_artifact(path)
    return path


# --- installable --------------------------------------------------------------------------------------------

def test_manifest_meets_install_criteria_and_the_worker_controls_the_page(live_server, profiles):
    context = profiles.open("install")
    page = context.pages[0] if context.pages else context.new_page()
    # A cache an older version of the app left, and one that is not the app's.
    page.goto(live_server.url + "/healthz")
    page.evaluate("Promise.all([caches.open('lotwise-shell-0ld'), caches.open('someone-else')])")
    page.goto(live_server.url + "/")
    wait_for_worker(page)
    version = page.evaluate("fetch('/sw.js').then(r => r.text()).then(t => t.match(/VERSION = \"(\\w+)\"/)[1])")
    wait_until(page, "async (v) => (await caches.keys()).sort().join() === ['lotwise-shell-' + v, 'someone-else'].join()",
               arg=version)

    manifest = page.evaluate("fetch('/manifest.webmanifest').then(r => r.json())")
    assert manifest["name"] and manifest["short_name"]
    assert manifest["display"] == "standalone" and manifest["start_url"].startswith("/")
    assert manifest["theme_color"] and manifest["background_color"]
    sizes = {icon["sizes"] for icon in manifest["icons"] if "any" in icon.get("purpose", "any")}
    assert {"192x192", "512x512"} <= sizes
    assert any(icon.get("purpose") == "maskable" for icon in manifest["icons"])
    for icon in manifest["icons"]:  # every icon loads, at the size it claims
        width = int(icon["sizes"].split("x")[0])
        loaded = page.evaluate("""src => new Promise((ok, no) => { const i = new Image();
            i.onload = () => ok([i.naturalWidth, i.naturalHeight]); i.onerror = () => no(src); i.src = src; })""",
                               icon["src"])
        assert loaded == [width, width], icon

    # Chrome's own installability check, as the install prompt uses it.
    page.reload()
    page.wait_for_selector("html[data-booted=yes]")
    cdp = context.new_cdp_session(page)
    errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    assert errors == [], errors
    assert cdp.send("Page.getAppManifest")["errors"] == []
    # The worker serves the shell (navigation from the Cache Storage) and has a fetch handler doing it.
    delivery = page.evaluate("performance.getEntriesByType('navigation')[0].deliveryType")
    assert delivery == "cache-storage"
    assert page.evaluate("navigator.serviceWorker.controller.scriptURL").endswith("/sw.js")


# --- a shift offline ----------------------------------------------------------------------------------------

def test_offline_shift_twenty_picks_queued_across_a_restart_then_synced_exactly(live_server, profiles, tmp_path):
    boss = live_server.login("supervisor")
    add_work(live_server, boss)
    tasks = open_tasks(live_server, boss)
    assert len(tasks) >= 20, len(tasks)

    # The three bad picks, on tasks of the demo's materials list.
    sugar_lots, egg_lots = lot_codes(live_server, boss, "RM-SUGAR"), lot_codes(live_server, boss, "RM-EGGS")
    butter_fg = lot_codes(live_server, boss, "FG-BUTTER-500")
    sugar = next(t for t in tasks if t["sku"] == "RM-SUGAR" and t["lot_code"] == "HZ-7781" and t["from"] == "A-02-02")
    eggs = next(t for t in tasks if t["sku"] == "RM-EGGS" and t["lot_code"] == "LH-E1007" and t["from"] == "COLD-01")
    double = next(t for t in tasks if t["sku"] == "FG-DOUBLE-8")
    assert "HZ-7802" in sugar_lots and "LH-E0931" in egg_lots
    fg_butter_lot = next(iter(butter_fg))
    bad = {
        sugar["id"]: (lot_scan(sugar, "HZ-7802"), "flagged", "fefo_violation"),  # a wrong lot, expiring later
        eggs["id"]: (lot_scan(eggs, "LH-E0931"), "rejected", "lot_expired"),  # expired three days ago
        double["id"]: (lot_scan({"gtin": None, "sku": "FG-BUTTER-500"}, fg_butter_lot), "rejected", "wrong_item"),
    }
    good = [t for t in tasks if t["id"] not in bad][:20 - len(bad)]
    chosen = good + [t for t in tasks if t["id"] in bad]
    assert len(chosen) == 20

    context = profiles.open("worker")
    context.add_init_script(SPY)
    page = context.pages[0] if context.pages else context.new_page()
    sign_in(page, live_server)
    wait_for_worker(page)
    page.wait_for_function("n => document.querySelectorAll('#view a.card[data-status=open]').length >= n", arg=20)

    # Offline from here: the reload comes from the service worker's cache.
    context.set_offline(True)
    page.reload()
    page.wait_for_selector("#view[data-ready=yes] .tasks")
    assert page.evaluate("performance.getEntriesByType('navigation')[0].deliveryType") == "cache-storage"
    page.wait_for_selector("#net[data-state=offline]", timeout=5_000)

    forms = ["aim", "hri", "link"]
    expected_moves = Counter()
    verdicts = {}
    for number, task in enumerate(chosen):
        scan, status, reason = bad.get(task["id"], (lot_scan(task, task["lot_code"], forms[number % 3]), "applied",
                                                    None))
        if number == 5:  # the queue survives a reload mid-shift, offline
            page.reload()
            page.wait_for_selector("#view[data-ready=yes]")
        shown = pick(page, task, scan, status, reason)
        verdicts[task["id"]] = shown
        if task["id"] == eggs["id"]:
            screenshot(page, tmp_path, "pwa-pick-expired-360x740.png")  # STOP, and the worker scans again
        if status != "rejected":
            lot = "HZ-7802" if task["id"] == sugar["id"] else task["lot_code"]
            expected_moves[(task["id"], lot, Decimal(task["qty"]), task["from"], task["to"])] += 1
        if number == 0:
            screenshot(page, tmp_path, "pwa-pick-360x740.png")  # the next task's pick screen, with the verdict
            # An on-screen keyboard taking the lower half of the screen moves nothing above it.
            page.wait_for_selector(".pick[data-step='location']")
            top = field_top(page)
            page.set_viewport_size({"width": 360, "height": 400})
            assert field_top(page) == top
            page.set_viewport_size({"width": 360, "height": 740})

    # The words say what to do.
    assert "Wrong lot: expected HZ-7781 in A-02-02" in verdicts[sugar["id"]]["text"]
    assert "LH-E0931" in verdicts[eggs["id"]]["text"] and "expired" in verdicts[eggs["id"]]["text"]
    assert "Wrong item" in verdicts[double["id"]]["text"]
    assert "OK" in verdicts[chosen[0]["id"]]["text"]
    vibrations = page.evaluate("window.__vibrations")
    for pattern in VIBRATIONS.values():
        assert pattern in vibrations
    assert pending_count(page) == 20
    # The minute timer (or Background Sync) firing while the device is offline sends nothing.
    assert page.evaluate("window.lotwise.sync.syncNow('timer')")["reason"] == "offline"
    assert pending_count(page) == 20

    # The verdict banner has a fixed height: the scan field never moves.
    heights = {round(v["height"]) for v in verdicts.values()}
    assert len(heights) == 1, heights

    page.evaluate("location.hash = '#/queue'")
    page.wait_for_selector("#view[data-ready=yes] .queue")
    assert page.locator(".qitem[data-status=pending]").count() == 20
    screenshot(page, tmp_path, "pwa-queue-offline-360x740.png")
    context.close()

    # Nothing reached the server while offline.
    with live_server.engine().connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM movement WHERE device = :d"), {"d": DEVICE}).scalar() == 0

    # Reopen the same profile, still offline: the queue is intact.
    context = profiles.open("worker", offline=True)
    page = context.pages[0] if context.pages else context.new_page()
    page.goto(live_server.url + "/#/queue")
    page.wait_for_selector("#view[data-ready=yes] .queue")
    assert page.locator(".qitem[data-status=pending]").count() == 20
    page.wait_for_function("document.querySelector('#pending').dataset.count === '20'")
    exported = page.evaluate("""async () => { const o = await import('/app/outbox.js');
        return o.exportBody('""" + DEVICE + """'); }""")
    assert exported["device"] == DEVICE and len(exported["mutations"]) == 20
    assert [m["seq"] for m in exported["mutations"]] == sorted(m["seq"] for m in exported["mutations"])

    # Online: it syncs by itself (the `online` event), and the outcomes appear.
    context.set_offline(False)
    page.wait_for_function("document.querySelector('#pending').dataset.count === '0'", timeout=60_000)
    page.wait_for_function("document.querySelectorAll('.qitem[data-status=pending]').length === 0", timeout=30_000)
    statuses = Counter(page.eval_on_selector_all(".qitem", "els => els.map(e => e.dataset.status)"))
    assert statuses == Counter({"applied": 17, "flagged": 1, "rejected": 2}), statuses
    assert page.locator(".qitem[data-differs=yes]").count() == 0  # the device judged as the server did
    screenshot(page, tmp_path, "pwa-queue-synced-360x740.png")

    # The server's ledger holds exactly those movements: one pick per applied or flagged scan, nothing else.
    with live_server.engine().connect() as conn:
        rows = conn.execute(text("""
            SELECT m.task_id, l.code, m.qty, f.code, t.code, m.type, u.username FROM movement m
            JOIN lot l ON l.id = m.lot_id JOIN location f ON f.id = m.from_location_id
            JOIN location t ON t.id = m.to_location_id JOIN "user" u ON u.id = m.actor_id
            WHERE m.device = :d"""), {"d": DEVICE}).all()
        outcomes = conn.execute(text("""SELECT o.status, o.reason FROM sync_outcome o JOIN device d
            ON d.id = o.device_id WHERE d.name = :d"""), {"d": DEVICE}).all()
    assert {row[5] for row in rows} == {"pick"} and {row[6] for row in rows} == {"worker"}
    got = Counter((task_id, code, from_scaled(qty), src, dst) for task_id, code, qty, src, dst, _, _ in rows)
    assert got == expected_moves
    assert Counter(outcomes) == Counter({("applied", None): 17, ("flagged", "fefo_violation"): 1,
                                         ("rejected", "lot_expired"): 1, ("rejected", "wrong_item"): 1})

    # The tasks list shows what happened to each (after the pull that followed the push).
    page.evaluate("location.hash = '#/tasks'")
    page.wait_for_selector("#view[data-ready=yes] .tasks")
    assert page.locator(f".card[data-task='{sugar['id']}'][data-status=exception]").count() == 1
    assert page.locator(f"a.card[data-task='{eggs['id']}'][data-status=open]").count() == 1


# --- camera -----------------------------------------------------------------------------------------------

def y4m_of_datamatrix(path: Path, content: str, width: int = 640, height: int = 480, frames: int = 10) -> None:
    """A Y4M 4:2:0 video whose frames show a GS1 DataMatrix (zxing-cpp) black on white, centred."""
    from backend.labels import datamatrix

    cells = datamatrix(content)
    module = min(width, height) // (cells.shape[0] + 8)
    symbol = np.kron(cells, np.ones((module, module), dtype=bool))
    luma = np.full((height, width), 235, dtype=np.uint8)
    top, left = (height - symbol.shape[0]) // 2, (width - symbol.shape[1]) // 2
    luma[top:top + symbol.shape[0], left:left + symbol.shape[1]][symbol] = 16
    chroma = np.full((height // 2, width // 2), 128, dtype=np.uint8).tobytes()
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + luma.tobytes() + chroma + chroma)


def test_camera_reads_a_gs1_datamatrix_of_a_demo_lot_offline(live_server, profiles, tmp_path):
    boss = live_server.login("supervisor")
    task = next(t for t in open_tasks(live_server, boss) if t["sku"] == "RM-FLOUR")
    item_gtin = task["gtin"]
    content = f"(01){item_gtin}(10){task['lot_code']}"
    video = tmp_path / "datamatrix.y4m"
    y4m_of_datamatrix(video, content)

    context = profiles.open("camera", permissions=["camera"], extra_args=[
        "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={video}"])
    page = context.pages[0] if context.pages else context.new_page()
    sign_in(page, live_server, device="HH-CAM")
    wait_for_worker(page)
    context.set_offline(True)
    page.reload()
    page.wait_for_selector("#view[data-ready=yes] .tasks")

    page.evaluate("h => { location.hash = h; }", f"#/pick/{task['id']}")
    page.wait_for_selector(f".pick[data-task='{task['id']}'][data-step='location']")
    wedge(page, task["from"])
    page.wait_for_selector(".pick[data-step='lot']")
    before = verdict_serial(page)
    page.click("#view .scan-camera")
    shown = wait_verdict(page, before)  # read by zxing-wasm from the fake camera, offline
    assert shown["status"] == "applied", shown
    assert task["lot_code"] in shown["text"]
    page.wait_for_selector(".pick[data-step='qty']")
    assert page.locator(".camera").count() == 0  # the camera closed after the read
    # Desktop Chromium has no BarcodeDetector: zxing-wasm read it, its .wasm from the app's own cache.
    used = page.evaluate("""() => ({native: 'BarcodeDetector' in window, wasm: performance.getEntriesByType('resource')
        .filter(e => e.name.endsWith('/zxing_reader.wasm')).map(e => [e.name, e.deliveryType])})""")
    assert not used["native"]
    assert used["wasm"] == [[live_server.url + "/app/vendor/zxing-wasm/reader/zxing_reader.wasm", "cache-storage"]]


# --- the server's word counts; a lost sign-in keeps the queue ---------------------------------------------

def test_where_the_server_decides_differently_the_queue_shows_it_and_the_worker_is_told(live_server, profiles):
    boss = live_server.login("supervisor")
    task = next(t for t in open_tasks(live_server, boss) if t["sku"] == "RM-FLOUR")
    context = profiles.open("differs")
    page = context.pages[0] if context.pages else context.new_page()
    sign_in(page, live_server, device="HH-DIFF")
    wait_for_worker(page)
    context.set_offline(True)
    pick(page, task, lot_scan(task, task["lot_code"]), "applied")

    # Meanwhile another device picks the same task on the server: the worker's pick comes second.
    other = requests.post(live_server.url + f"/api/tasks/{task['id']}/pick", headers=boss, timeout=30,
                          json={"scan": lot_scan(task, task["lot_code"]), "qty": task["qty"]})
    assert other.status_code == 200, other.text

    before = verdict_serial(page)
    context.set_offline(False)
    shown = wait_verdict(page, before)
    assert shown["status"] == "rejected" and shown["reason"] == "server_differs", shown
    assert "Server decided differently" in shown["text"] and "Task already picked" in shown["text"]
    page.wait_for_selector("#notice:not([hidden])")
    page.click("#notice")
    page.wait_for_selector("#view[data-ready=yes] .queue")
    item = page.locator(".qitem[data-differs=yes]")
    assert item.count() == 1 and item.get_attribute("data-status") == "rejected"
    assert "task_closed" in item.inner_text() and "applied" in item.inner_text().lower()
    item.locator("button.ack").click()
    page.wait_for_selector("#notice", state="hidden")
    page.wait_for_selector(".qitem[data-differs=yes][data-acknowledged=yes]")  # kept, marked as seen


def test_an_expired_sign_in_goes_back_to_login_and_keeps_the_queue(live_server, profiles):
    boss = live_server.login("supervisor")
    admin = live_server.login("admin")
    task = next(t for t in open_tasks(live_server, boss) if t["sku"] == "RM-SUGAR")
    context = profiles.open("revoked")
    page = context.pages[0] if context.pages else context.new_page()
    sign_in(page, live_server, device="HH-401")
    wait_for_worker(page)
    context.set_offline(True)
    pick(page, task, lot_scan(task, task["lot_code"]), "applied")

    users = requests.get(live_server.url + "/api/users?per_page=100", headers=admin, timeout=30).json()["data"]
    worker_id = next(u["id"] for u in users if u["username"] == "worker")
    assert requests.post(live_server.url + f"/api/users/{worker_id}/revoke-tokens", headers=admin,
                         timeout=30).status_code in (200, 204)

    context.set_offline(False)
    page.wait_for_function("location.hash === '#/login'", timeout=30_000)
    page.wait_for_function("document.querySelector('#view').innerText.includes('1 queued scan')")
    page.wait_for_function("document.querySelector('#pending').dataset.count === '1'")
    page.fill("#password", "worker")
    page.click("#login-submit")
    page.wait_for_function("document.querySelector('#pending').dataset.count === '0'", timeout=30_000)
    with live_server.engine().connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM movement WHERE device = 'HH-401' AND task_id = :t"),
                            {"t": task["id"]}).scalar() == 1


def test_exported_queue_uploads_with_lotwise_push_and_the_device_then_gets_duplicates(live_server, profiles,
                                                                                      tmp_path):
    import subprocess

    from tests.conftest import LOTWISE_BIN

    boss = live_server.login("supervisor")
    tasks = [t for t in open_tasks(live_server, boss) if t["sku"].startswith("RM-")][:3]
    context = profiles.open("export", accept_downloads=True)
    page = context.pages[0] if context.pages else context.new_page()
    sign_in(page, live_server, device="HH-EXPORT")
    wait_for_worker(page)
    context.set_offline(True)
    for task in tasks:
        pick(page, task, lot_scan(task, task["lot_code"]), "applied")
    page.evaluate("location.hash = '#/queue'")
    page.wait_for_selector("#view[data-ready=yes] .queue")
    with page.expect_download() as download:
        page.click("#export")
    path = tmp_path / "queue.json"
    download.value.save_as(path)
    body = json.loads(path.read_text())
    assert body["device"] == "HH-EXPORT" and len(body["mutations"]) == 3
    assert all(m["args"]["actor"] == "worker" for m in body["mutations"])

    env = {**live_server.env, "LOTWISE_PASSWORD": "worker"}
    done = subprocess.run([LOTWISE_BIN, "push", str(path), "--server", live_server.url, "--user", "worker"],
                          env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout + done.stderr

    context.set_offline(False)  # the device pushes the same mutations: duplicates, nothing happens twice
    page.wait_for_function("document.querySelector('#pending').dataset.count === '0'", timeout=30_000)
    page.wait_for_function("document.querySelectorAll('.qitem[data-status=applied]').length === 3")
    answers = page.evaluate("import('/app/db.js').then(db => db.all('outbox')).then(rows => rows.map(r => r.server))")
    assert [(a["status"], a["original_status"]) for a in answers] == [("duplicate", "applied")] * 3
    with live_server.engine().connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM movement WHERE device = 'HH-EXPORT'")).scalar() == 3
