// The sync loop: push the outbox in chunks, then pull what changed since the cursor.
// Triggered on start, on the browser's `online` event, every minute while mutations are pending, by the
// "Sync now" button, and by Background Sync where the browser has it (the service worker wakes the app).
// It never decides anything: the server's results are stored on each mutation, and where the server judged
// differently from the device the app is told (onDiffer) so it can tell the worker.
import * as db from "./db.js";
import * as outbox from "./outbox.js";
import { ApiError, currentSession, request } from "./api.js";

const MAX_BYTES = 1_900_000; // below the server's 2 MiB body limit
const PENDING_EVERY = 60_000; // while mutations wait
const PULL_EVERY = 5 * 60_000; // otherwise, to bring supervisors' decisions and new tasks

export const state = {
  syncing: false,
  lastSync: null, // Date of the last sync that pushed and pulled without error
  lastError: null, // {code, message} of the last failure
  reachable: true, // the server answered the last call
  lastTiming: null, // {push, store, chunks}: ms waiting for the server and storing results, in the last round
};

const listeners = new Set();
export function subscribe(fn) { listeners.add(fn); return () => listeners.delete(fn); }
function emit() { for (const fn of listeners) { try { fn(state); } catch (e) { console.error(e); } } }

let running = null;
let again = false;
let hooks = { onDiffer: () => {}, onPulled: () => {} };

/** Who may push a mutation with the current session: its own device and user (supervisors: any). */
function mayPush(record, session) {
  const boss = session.user.role === "supervisor" || session.user.role === "admin";
  return boss || (record.device === session.device && record.user === session.user.username);
}

const encoder = new TextEncoder();

function chunks(rows) {
  const out = [];
  let current = [], bytes = 0;
  for (const row of rows) {
    const size = encoder.encode(JSON.stringify(outbox.wire(row))).length + 1;
    if (current.length && (current.length >= outbox.CHUNK || bytes + size > MAX_BYTES)) {
      out.push(current); current = []; bytes = 0;
    }
    current.push(row); bytes += size;
  }
  if (current.length) out.push(current);
  return out;
}

/** Push every pending mutation this session may push; returns {pushed, differ}. */
export async function pushPending({ onProgress } = {}) {
  const session = currentSession();
  if (!session) return { pushed: 0, differ: [] };
  const rows = (await outbox.pending()).filter((r) => mayPush(r, session));
  const byDevice = new Map();
  for (const r of rows) byDevice.set(r.device, [...(byDevice.get(r.device) || []), r]);
  let pushed = 0;
  const differ = [];
  const timing = { push: 0, store: 0, chunks: 0 };
  // The results of one push are stored while the next push is on its way (the server is the slow part).
  let storing = Promise.resolve();
  try {
    for (const [device, list] of byDevice) {
      for (const chunk of chunks(list)) {
        const sent = performance.now();
        const answer = await request("POST", "/api/sync/push", { device, mutations: chunk.map(outbox.wire) },
          { timeout: 120_000 });
        timing.push += performance.now() - sent;
        timing.chunks += 1;
        await storing;
        storing = (async () => {
          const started = performance.now();
          differ.push(...await outbox.recordResults(answer.results || []));
          timing.store += performance.now() - started;
          pushed += chunk.length;
          if (onProgress) onProgress(pushed, rows.length);
        })();
      }
    }
  } finally {
    await storing;
    state.lastTiming = timing;
  }
  return { pushed, differ, timing };
}

/** Pull the changes since the cursor (all of it without one) into the local cache. */
export async function pull() {
  const cursor = await db.getMeta("cursor");
  let body;
  try {
    body = await request("GET", "/api/sync/pull" + (cursor ? `?cursor=${encodeURIComponent(cursor)}` : ""),
      undefined, { timeout: 120_000 });
  } catch (error) {
    if (error instanceof ApiError && error.code === "invalid_cursor") {
      await db.deleteMeta("cursor");
      body = await request("GET", "/api/sync/pull", undefined, { timeout: 120_000 });
    } else {
      throw error;
    }
  }
  await db.applyPull(body);
  return body;
}

/** One sync round (push, then pull). Concurrent calls share the running round and queue one more. */
export function syncNow(reason = "manual") {
  if (running) { again = true; return running; }
  running = (async () => {
    let result = null;
    do {
      again = false;
      result = await round(reason);
    } while (again);
    return result;
  })().finally(() => { running = null; });
  return running;
}

async function round(reason) {
  const session = currentSession();
  if (!session) return { ok: false, reason: "signed_out" };
  // The device knows it has no network: keep the queue, try again on `online` (timers and Background Sync
  // may fire before that).
  if (!navigator.onLine) return { ok: false, reason: "offline" };
  state.syncing = true; emit();
  try {
    const { pushed, differ } = await pushPending();
    if (pushed) { state.reachable = true; emit(); } // the server answered: say so before the pull ends
    const pulled = await pull();
    state.lastSync = new Date();
    state.lastError = null;
    state.reachable = true;
    await db.setMeta("last_sync", state.lastSync.toISOString());
    if (differ.length) hooks.onDiffer(differ);
    hooks.onPulled(pulled);
    return { ok: true, pushed, differ, reason };
  } catch (error) {
    state.lastError = { code: error.code || "error", message: error.message };
    state.reachable = !(error instanceof ApiError && error.status === 0);
    if (error instanceof ApiError && error.status === 401) { /* api.js fired lotwise:unauthorized */ }
    else if (!(error instanceof ApiError)) console.error(error);
    return { ok: false, error };
  } finally {
    state.syncing = false; emit();
    outbox.changed();
  }
}

/** Ask the browser for a Background Sync (Chromium); elsewhere the timer and `online` do the work. */
export async function requestBackgroundSync() {
  try {
    const registration = await navigator.serviceWorker?.ready;
    if (registration && "sync" in registration) await registration.sync.register("lotwise-sync");
  } catch { /* not allowed or not supported: the timer covers it */ }
}

let started = false;
/** Start the loop: now, on `online`, every minute while pending, every few minutes anyway, on a SW message. */
export async function start(options = {}) {
  hooks = { ...hooks, ...options };
  const stamp = await db.getMeta("last_sync");
  if (stamp) state.lastSync = new Date(stamp);
  emit();
  if (started) { syncNow("start"); return; }
  started = true;
  window.addEventListener("online", () => syncNow("online"));
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && navigator.onLine) syncNow("visible");
  });
  navigator.serviceWorker?.addEventListener("message", (event) => {
    if (event.data?.type === "lotwise-sync") {
      syncNow("background").then(() => event.source?.postMessage?.({ type: "lotwise-sync-done" }));
    }
  });
  let lastRound = Date.now();
  setInterval(async () => {
    if (!currentSession() || running) return;
    const waiting = await outbox.pendingCount();
    if ((waiting > 0 && Date.now() - lastRound >= PENDING_EVERY - 1000) || Date.now() - lastRound >= PULL_EVERY) {
      lastRound = Date.now();
      syncNow("timer");
    }
  }, 15_000);
  subscribe(() => { if (state.syncing) lastRound = Date.now(); });
  syncNow("start");
}
