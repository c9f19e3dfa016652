/*
 * Lotwise scanner app: router, status bar, verdict feedback and the context every view gets.
 *
 * VIEW CONTRACT (views/*.js; keep it stable, the views are written against it)
 * ---------------------------------------------------------------------------------------------------------
 * Routes are hashes: #/login  #/tasks  #/pick/<taskId>  #/receive  #/move  #/count  #/lookup  #/queue
 *                    #/supervisor  #/devices   (and any #/<name>/<a>/<b> for a views/<name>.js module)
 * For route <name> the app lazy-imports ./views/<name>.js and calls
 *
 *     export async function show(root, ctx, params) -> undefined | { onScan(text, source), leave() }
 *
 *   root    the emptied <main> element the view owns until it is left
 *   params  the route's segments after the name (strings; "#/pick/17" -> ["17"])
 *   onScan  receives every scan while the view is shown: text is the raw scan string, source is
 *           "wedge" (hardware scanner / keyboard + Enter), "camera" or "manual"
 *   leave   called before the next view replaces this one (stop timers, cameras, listeners)
 *
 * ctx (one object for the whole session; getters are live):
 *   ctx.user        {username, role}           role: "worker" | "supervisor" | "admin"
 *   ctx.device      the device name this token is bound to
 *   ctx.site        {timezone, gs_substitute, currency}   from the last pull (defaults before the first)
 *   ctx.online      boolean: the browser is online and the server answered the last call
 *   ctx.api(method, path, body)  -> parsed JSON. Adds the bearer token. Throws an Error with .status (0 when the
 *                   server could not be reached), .code (the API's machine code, "network") and .body.
 *   ctx.data        read-only lookups in the pulled cache (IndexedDB), all async:
 *                   items() item(id) itemByGtin(gtin) itemBySku(sku) locations() location(code) lot(id)
 *                   lotsByCode(code) lotsOfItem(itemId) lots() tasks() task(id) site()
 *   ctx.enqueue(type, args, verdict, options?) -> the stored outbox record. type is a sync mutation type
 *                   ("receive" "move" "pick" "consume" "produce" "count"), args its wire args, verdict the
 *                   local {status, reason, message, lot?} shown to the worker. Adds id (UUID), seq, at (now,
 *                   with offset), device and user; applies the local effect on the cached stock/task when the
 *                   verdict is not "rejected" (so the next scan is judged on it) and kicks the sync loop.
 *                   options.summary: a short line for the queue screen (default from type and args).
 *   ctx.feedback(verdict)   the unmistakable answer: full-width banner (green applied / amber flagged /
 *                   red rejected; blue "info") with verdict.message, a beep pattern and a vibration pattern.
 *                   verdict: {status: "applied"|"flagged"|"rejected"|"info", message, reason?}
 *   ctx.clearFeedback()     back to the neutral banner.
 *   ctx.scanInput({label, placeholder}) -> element: the big scan field (hardware-scanner wedge ending with
 *                   Enter, GS substitute from site settings, Camera button, manual typing); its scans go
 *                   to the current view's onScan. Focus is kept in it. element.focusInput() refocuses.
 *   ctx.scan(text, source)  hand a scan typed into another field (e.g. a quantity field the wedge typed into)
 *                   to the current view's onScan, through the same de-bounce as the scan field.
 *   ctx.navigate(hash)      go to another route ("#/tasks").
 *   ctx.sync()              sync now (push, then pull); resolves when done.
 *   ctx.prefetch(scan)      interpret a scan with gs1.js and the site's substitute -> gs1.interpret's result.
 *   ctx.escape(text)        HTML-escape a string for innerHTML templates.
 *   ctx.formatTime(iso)     a short local time for display.
 * ---------------------------------------------------------------------------------------------------------
 */
import * as db from "./db.js";
import * as outbox from "./outbox.js";
import * as sync from "./sync.js";
import * as api from "./api.js";
import { escapeHtml } from "./html.js";
import { isRepeat, scanField, WEDGE_REPEAT_MS } from "./scanner.js";

const DEFAULT_SITE = { timezone: "UTC", gs_substitute: "|", currency: "EUR" };
const PUBLIC_ROUTES = new Set(["login"]);

const $ = (selector) => document.querySelector(selector);
export const escape = escapeHtml;

let site = { ...DEFAULT_SITE };
let current = null; // {name, handlers}
let routeToken = 0;

// --- data lookups ----------------------------------------------------------------------------------------

/** A store key from an id (number or numeric string); undefined when it cannot be one. */
const idKey = (id) => (id === null || id === undefined || id === "" || !Number.isFinite(Number(id)) ? undefined : Number(id));
const byId = (store, id) => (idKey(id) === undefined ? Promise.resolve(undefined) : db.get(store, idKey(id)));

const data = Object.freeze({
  items: () => db.all("items"),
  item: (id) => byId("items", id),
  itemByGtin: (gtin) => db.firstByIndex("items", "gtin", gtin),
  itemBySku: (sku) => db.firstByIndex("items", "sku", sku),
  locations: () => db.all("locations"),
  location: (code) => db.firstByIndex("locations", "code", code),
  lot: (id) => byId("lots", id),
  lots: () => db.all("lots"),
  lotsByCode: (code) => db.byIndex("lots", "code", code),
  lotsOfItem: (itemId) => db.byIndex("lots", "item", idKey(itemId)),
  tasks: () => db.all("tasks"),
  task: (id) => byId("tasks", id),
  site: () => ({ ...site }),
});

// --- feedback: colour, words, sound, vibration --------------------------------------------------------------

let audio = null;
function audioContext() {
  if (!audio) {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return null;
    audio = new Context();
  }
  if (audio.state === "suspended") audio.resume().catch(() => {});
  return audio;
}
// Unlock audio on the first touch or key (browsers allow sound only after a gesture).
for (const type of ["pointerdown", "keydown"]) {
  window.addEventListener(type, () => audioContext(), { once: true, capture: true });
}

const SOUNDS = {
  // [frequency Hz, duration ms, pause ms after] — applied: one short high beep; flagged: two rising;
  // rejected: three long low buzzes. Distinct by rhythm and pitch, so they work without looking.
  applied: { wave: "sine", notes: [[1320, 110, 0]] },
  flagged: { wave: "triangle", notes: [[660, 140, 90], [880, 220, 0]] },
  rejected: { wave: "square", notes: [[196, 280, 90], [196, 280, 90], [147, 450, 0]] },
  info: { wave: "sine", notes: [[990, 60, 0]] },
};
const VIBRATIONS = { applied: [60], flagged: [120, 80, 120], rejected: [350, 120, 350, 120, 500], info: [] };
const WORDS = { applied: "OK", flagged: "CHECK", rejected: "STOP", info: "" };

function beep(status) {
  const ctx = audioContext();
  const sound = SOUNDS[status];
  if (!ctx || !sound || ctx.state !== "running") return;
  let t = ctx.currentTime + 0.01;
  for (const [freq, ms, pause] of sound.notes) {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = sound.wave;
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, t);
    gain.gain.exponentialRampToValueAtTime(0.35, t + 0.01);
    gain.gain.setValueAtTime(0.35, t + ms / 1000 - 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + ms / 1000);
    osc.connect(gain).connect(ctx.destination);
    osc.start(t);
    osc.stop(t + ms / 1000 + 0.02);
    t += (ms + pause) / 1000;
  }
}

let feedbackSerial = 0;
function feedback(verdict) {
  const status = ["applied", "flagged", "rejected", "info"].includes(verdict?.status) ? verdict.status : "info";
  const banner = $("#verdict");
  banner.className = `verdict verdict-${status}`;
  banner.dataset.status = status;
  banner.dataset.reason = verdict?.reason || "";
  banner.dataset.serial = String(++feedbackSerial);
  banner.querySelector(".verdict-word").textContent = WORDS[status];
  banner.querySelector(".verdict-text").textContent = verdict?.message || "";
  try { beep(status); } catch { /* no sound */ }
  try { if (VIBRATIONS[status].length) navigator.vibrate?.(VIBRATIONS[status]); } catch { /* no vibration */ }
}

function clearFeedback(message = "Ready to scan") {
  const banner = $("#verdict");
  banner.className = "verdict verdict-idle";
  banner.dataset.status = "idle";
  banner.dataset.reason = "";
  banner.querySelector(".verdict-word").textContent = "";
  banner.querySelector(".verdict-text").textContent = message;
}

// --- the context ---------------------------------------------------------------------------------------------

function session() { return api.currentSession(); }

async function enqueue(type, args, verdict, options = {}) {
  const s = session();
  if (!s) throw new Error("Not signed in");
  const effects = verdict && verdict.status !== "rejected" ? await localEffects(type, args, verdict) : {};
  const record = await outbox.enqueue(type, args, verdict, {
    device: s.device, user: s.user.username, summary: options.summary || summarize(type, args, verdict),
    effects, localTask: effects.localTask,
  });
  sync.requestBackgroundSync();
  if (navigator.onLine) sync.syncNow("enqueue");
  return record;
}

function summarize(type, args, verdict) {
  const lot = verdict?.lot?.code || args.lot || "";
  const qty = args.qty ? ` × ${args.qty}` : "";
  switch (type) {
    case "pick": return `Pick task ${args.task}: ${lot || args.scan}${qty} from ${args.location || "?"}`;
    case "move": return `Move ${lot || args.scan}${qty} ${args.from} → ${args.to}`;
    case "count": return `Count ${lot || args.scan} at ${args.location}: ${args.qty}`;
    case "receive": return `Receive ${args.item || args.scan || ""} ${args.lot || ""}${qty} at ${args.location}`;
    default: return `${type} ${JSON.stringify(args).slice(0, 80)}`;
  }
}

/** The cached rows as a queued mutation leaves them: stock moved, task picked. Exact decimal arithmetic. */
async function localEffects(type, args, verdict) {
  const { parseQty, formatQty } = await import("./rules.js");
  const lot = verdict.lot ? await data.lot(verdict.lot.id) : null;
  const effects = { lots: [], tasks: [] };
  const add = (row, location, delta) => {
    const stock = { ...(row.stock || {}) };
    const next = (parseQty(stock[location] ?? "0") ?? 0n) + delta;
    if (next > 0n) stock[location] = formatQty(next); else delete stock[location];
    row.stock = stock;
  };
  if (type === "pick") {
    const task = await data.task(args.task);
    if (!task) return effects;
    const qty = parseQty(String(args.qty)) ?? 0n;
    const local = { status: verdict.status === "applied" ? "picked" : "exception", picked_qty: String(args.qty),
      exception_reason: verdict.status === "flagged" ? verdict.reason : null, local: true,
      picked_lot_code: lot?.code ?? verdict.lot?.code ?? null };
    effects.tasks.push({ ...task, ...local });
    effects.localTask = local;
    if (lot) {
      const row = { ...lot };
      add(row, args.location || task.from, -qty);
      add(row, task.to, qty);
      effects.lots.push(row);
    }
  } else if (type === "move" && lot) {
    const row = { ...lot };
    const qty = parseQty(String(args.qty)) ?? 0n;
    add(row, args.from, -qty);
    add(row, args.to, qty);
    effects.lots.push(row);
  } else if (type === "count" && lot) {
    const row = { ...lot, stock: { ...(lot.stock || {}) } };
    const qty = parseQty(String(args.qty)) ?? 0n;
    if (qty > 0n) row.stock[args.location] = formatQty(qty); else delete row.stock[args.location];
    effects.lots.push(row);
  }
  return effects;
}

let gs1Module = null;
async function prefetch(scan) {
  gs1Module = gs1Module || await import("./gs1.js");
  return gs1Module.interpret(scan, { substitute: site.gs_substitute });
}

function scanInput({ label = "Scan", placeholder } = {}) {
  const field = scanField({
    label, placeholder, substitute: site.gs_substitute || "|",
    onScan: (text, source) => deliverScan(text, source),
  });
  requestAnimationFrame(() => field.focusInput());
  return field;
}

function deliverScan(text, source = "wedge") {
  const handler = current?.handlers?.onScan;
  if (!handler) return;
  // A trigger bounce: the same text again at once. (The camera drops its own repeats over a longer time.)
  if (source !== "camera" && isRepeat(text, WEDGE_REPEAT_MS)) return;
  Promise.resolve().then(() => handler(text, source)).catch((error) => {
    console.error(error);
    feedback({ status: "rejected", reason: "error", message: `Could not handle the scan: ${error.message}` });
  });
}

// A scanner typing while no field has focus (the field lost it, or the view has none): collect the keys and
// deliver them on Enter, so that no scan is lost.
let stray = { text: "", at: 0 };
window.addEventListener("keydown", (event) => {
  const target = event.target;
  if (target instanceof HTMLElement && target.closest("input, textarea, select, [contenteditable]")) return;
  if (event.ctrlKey || event.altKey || event.metaKey) return;
  const now = performance.now();
  if (now - stray.at > 1000) stray.text = "";
  stray.at = now;
  if (event.key === "Enter") {
    if (stray.text.length >= 3) {
      event.preventDefault();
      const text = stray.text;
      stray.text = "";
      const field = document.querySelector("#view .scan-input");
      if (field) field.focus({ preventScroll: true });
      deliverScan(text.replaceAll("\x1d", site.gs_substitute || "|"), "wedge");
    }
    stray.text = "";
  } else if (event.key.length === 1) {
    stray.text += event.key;
  }
});

const ctx = {
  get user() { return session()?.user || null; },
  get device() { return session()?.device || localStorage.getItem("lotwise.device") || ""; },
  get site() { return { ...site }; },
  get online() { return navigator.onLine && sync.state.reachable; },
  api: (method, path, body) => api.request(method, path, body),
  data,
  enqueue,
  feedback,
  clearFeedback,
  scanInput,
  scan: (text, source = "wedge") => deliverScan(text, source),
  navigate: (hash) => { if (location.hash === hash) route(); else location.hash = hash; },
  sync: () => sync.syncNow("view"),
  prefetch,
  escape,
  formatTime: (iso) => formatTime(iso),
};
window.lotwise = { ctx, db, outbox, sync }; // for tests and the benchmark

// --- status bar ------------------------------------------------------------------------------------------

function formatTime(iso) {
  if (!iso) return "never";
  const date = iso instanceof Date ? iso : new Date(iso);
  const sameDay = date.toDateString() === new Date().toDateString();
  return sameDay ? date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
    : date.toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

let statusTimer = null;
async function renderStatus() {
  clearTimeout(statusTimer);
  statusTimer = setTimeout(renderStatusNow, 30);
}

async function renderStatusNow() {
  const s = session();
  const online = ctx.online;
  const net = $("#net");
  net.textContent = online ? "Online" : navigator.onLine ? "No server" : "Offline";
  net.dataset.state = online ? "online" : "offline";
  const counts = await outbox.counts().catch(() => null);
  if (counts) {
    const pending = $("#pending");
    pending.textContent = `${counts.pending} pending`;
    pending.dataset.count = String(counts.pending);
  }
  const attention = await outbox.needingAttention().catch(() => []);
  const notice = $("#notice");
  if (attention.length) {
    const rejected = attention.filter((m) => m.status === "rejected").length;
    const differ = attention.filter((m) => m.differs).length;
    notice.hidden = false;
    notice.dataset.count = String(attention.length);
    notice.textContent = [
      differ ? `${differ} decided differently by the server` : "",
      rejected ? `${rejected} rejected` : "",
    ].filter(Boolean).join(" · ") + " — open the queue";
  } else {
    notice.hidden = true;
  }
  $("#last-sync").textContent = sync.state.syncing ? "Syncing…" : `Synced ${formatTime(sync.state.lastSync)}`;
  $("#last-sync").dataset.at = sync.state.lastSync ? sync.state.lastSync.toISOString() : "";
  $("#sync-now").disabled = !s || sync.state.syncing;
  $("#who").textContent = s ? `${s.user.username} · ${s.user.role} · ${s.device}` : "Not signed in";
  document.body.dataset.role = s?.user?.role || "";
  document.body.dataset.signedIn = s ? "yes" : "no";
}

// --- routing ---------------------------------------------------------------------------------------------

function parseHash() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  return { name: parts[0] || "", params: parts.slice(1) };
}

async function route() {
  const token = ++routeToken;
  let { name, params } = parseHash();
  if (!session() && !PUBLIC_ROUTES.has(name)) { location.replace("#/login"); return; }
  if (!name) { location.replace(session() ? "#/tasks" : "#/login"); return; }
  if (!/^[a-z][a-z0-9-]*$/.test(name)) { location.replace("#/tasks"); return; }
  if (updateReady && CALM_VIEWS.has(name)) { location.reload(); return; }
  if (current?.handlers?.leave) {
    try { current.handlers.leave(); } catch (e) { console.error(e); }
  }
  current = null;
  const root = $("#view");
  root.replaceChildren();
  delete root.dataset.ready; // set again when the new view has drawn itself
  root.dataset.view = name;
  document.body.dataset.view = name;
  for (const link of document.querySelectorAll("#nav a")) {
    link.toggleAttribute("aria-current", link.getAttribute("href") === `#/${name}`);
  }
  closeMenu();
  let module;
  try {
    module = await import(`./views/${name}.js`);
  } catch (error) {
    console.error(error);
    if (token !== routeToken) return;
    root.innerHTML = `<section class="panel"><h1>Not available</h1><p>This screen (${escape(name)}) could not be
      loaded${navigator.onLine ? "" : " offline"}.</p><p><a class="btn" href="#/tasks">My tasks</a></p></section>`;
    return;
  }
  if (token !== routeToken) return;
  try {
    const handlers = await module.show(root, ctx, params);
    if (token !== routeToken) { handlers?.leave?.(); return; }
    current = { name, handlers: handlers || null };
  } catch (error) {
    console.error(error);
    if (token !== routeToken) return;
    root.innerHTML = `<section class="panel"><h1>Something went wrong</h1><p>${escape(error.message)}</p></section>`;
  }
  root.dataset.ready = "yes";
}

function closeMenu() {
  const nav = $("#nav");
  nav.hidden = true;
  $("#menu").setAttribute("aria-expanded", "false");
}

// --- boot ------------------------------------------------------------------------------------------------

async function onUnauthorized() {
  if (!session()) return; // told already
  const waiting = await outbox.pendingCount().catch(() => 0);
  await api.clearSession();
  sessionStorage.setItem("lotwise.loginMessage", waiting
    ? `Your sign-in has expired. Sign in again: ${waiting} queued scan(s) are kept and will be sent.`
    : "Your sign-in has expired. Sign in again.");
  renderStatus();
  location.hash = "#/login";
}

function onDiffer(records) {
  const first = records[0];
  const message = records.length === 1
    ? `Server decided differently: ${first.server?.message || first.server?.reason || first.status}`
    : `The server decided ${records.length} scans differently — see the queue`;
  feedback({ status: first.status === "rejected" ? "rejected" : "flagged", reason: "server_differs", message });
}

async function onPulled(body) {
  if (body?.site) site = { ...DEFAULT_SITE, ...body.site };
  window.dispatchEvent(new CustomEvent("lotwise:pulled", { detail: { full: body?.full } }));
}

async function signOut() {
  const waiting = await outbox.pendingCount();
  if (waiting && !confirm(`${waiting} scan(s) are not sent yet. They stay on this device and are sent after the ` +
    "next sign-in. Sign out?")) return;
  await api.signOut();
  renderStatus();
  location.hash = "#/login";
}

// A new version of the app activated (its service worker took over a page it already controlled): reload
// at the next calm moment — a screen without work in progress — so old and new modules never mix.
const CALM_VIEWS = new Set(["tasks", "login", "queue", "lookup", "devices"]);
let updateReady = false;

async function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return;
  const hadController = Boolean(navigator.serviceWorker.controller);
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    if (!hadController) return; // the first install taking control: same files
    updateReady = true;
    if (CALM_VIEWS.has(parseHash().name)) location.reload();
  });
  try {
    await navigator.serviceWorker.register("/sw.js", { scope: "/" });
  } catch (error) {
    console.warn("service worker not registered", error);
  }
}

async function boot() {
  registerServiceWorker();
  await db.open();
  await api.loadSession();
  site = { ...DEFAULT_SITE, ...(await db.getMeta("site", {})) };
  clearFeedback();
  $("#sync-now").addEventListener("click", () => sync.syncNow("button"));
  $("#menu").addEventListener("click", () => {
    const nav = $("#nav");
    nav.hidden = !nav.hidden;
    $("#menu").setAttribute("aria-expanded", String(!nav.hidden));
  });
  $("#logout").addEventListener("click", signOut);
  $("#notice").addEventListener("click", () => ctx.navigate("#/queue"));
  window.addEventListener("hashchange", route);
  window.addEventListener("online", renderStatus);
  window.addEventListener("offline", renderStatus);
  window.addEventListener("lotwise:unauthorized", onUnauthorized);
  window.addEventListener("lotwise:signed-in", () => { renderStatus(); startSync(); });
  outbox.subscribe(renderStatus);
  sync.subscribe(renderStatus);
  setInterval(renderStatus, 30_000);
  renderStatus();
  if (session()) startSync();
  await route();
  performance.mark("lotwise:interactive"); // the first screen is shown and takes scans (bench/pwa.py reads it)
  if (navigator.storage?.persist) navigator.storage.persist().catch(() => {});
  document.documentElement.dataset.booted = "yes";
}

function startSync() {
  sync.start({ onDiffer, onPulled });
}

boot().catch((error) => {
  console.error(error);
  $("#view").innerHTML = `<section class="panel"><h1>The app could not start</h1><p>${escape(error.message)}</p></section>`;
});
