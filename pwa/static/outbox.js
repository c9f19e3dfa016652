// The outbox: every mutation made on this device, from the moment it is scanned until the worker has seen
// the server's outcome. Nothing is ever dropped silently: pending ones wait for a push, decided ones keep
// both verdicts, rejected ones (and those where the server decided differently) stay until acknowledged.
//
// A record:
//   {id, seq, type, at, args, device, user,                   — what is pushed (args.actor = user on the wire)
//    status: "pending" | "applied" | "flagged" | "rejected",   — the server's status once decided
//    local: {status, reason, message},                         — the verdict shown on the floor
//    server: {status, reason, message, …} | null,              — the push result (duplicate: original_status)
//    differs: bool, acknowledged: bool, attention?: 1 (indexed: rejected or differs, not yet acknowledged),
//    pushed_at, decided_at, summary, local_task?}
import * as db from "./db.js";

export const CHUNK = 500; // mutations a push (the server takes ≤ 1000 and ≤ 2 MiB)

/** ISO 8601 with the device's UTC offset and milliseconds: 2026-11-24T10:15:03.120+01:00. */
export function isoWithOffset(date = new Date()) {
  const pad = (n, w = 2) => String(Math.abs(n)).padStart(w, "0");
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:` +
    `${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}` +
    `${sign}${pad(Math.trunc(offset / 60))}:${pad(offset % 60)}`;
}

function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const listeners = new Set();
/** Call `fn()` after every change of the outbox (status bar, queue view). */
export function subscribe(fn) { listeners.add(fn); return () => listeners.delete(fn); }
export function changed() { for (const fn of listeners) { try { fn(); } catch (e) { console.error(e); } } }

/**
 * Queue a mutation with the verdict the device gave it. `effects` ({lots: [...], tasks: [...]}) are rows of the
 * pulled cache as the mutation leaves them (stock moved, task picked), stored in the same transaction.
 */
export async function enqueue(type, args, verdict, { device, user, summary = "", effects, localTask } = {}) {
  const record = {
    id: uuid(), seq: 0, type, at: isoWithOffset(), args: { ...args }, device, user,
    status: "pending",
    local: verdict ? { status: verdict.status, reason: verdict.reason ?? null, message: verdict.message ?? "" } : null,
    server: null, differs: false, acknowledged: false, summary,
    created_at: Date.now(), pushed_at: null, decided_at: null,
  };
  if (localTask) record.local_task = localTask;
  await db.addMutation(record, effects);
  changed();
  return record;
}

/** Pending mutations in seq order (at most `limit`). */
export async function pending(limit = Infinity) {
  const rows = await db.all("outbox", { index: "status", query: "pending",
    count: Number.isFinite(limit) ? limit : undefined });
  return rows.sort((a, b) => a.seq - b.seq);
}

export async function pendingCount() {
  return db.count("outbox", { index: "status", query: "pending" });
}

/** The newest mutations first (at most `limit`), for the queue screen. */
export async function recent(limit = 300) {
  return db.page("outbox", { index: "seq", reverse: true, limit });
}

/** Decided mutations the worker still has to look at: rejected or judged differently, not acknowledged. */
export async function needingAttention() {
  const rows = await db.byIndex("outbox", "attention", 1);
  return rows.sort((a, b) => a.seq - b.seq);
}

export async function attentionCount() {
  return db.count("outbox", { index: "attention", query: 1 });
}

export async function counts() {
  const [total, pendingN, rejected, flagged, applied] = await Promise.all([
    db.count("outbox"), pendingCount(),
    db.count("outbox", { index: "status", query: "rejected" }),
    db.count("outbox", { index: "status", query: "flagged" }),
    db.count("outbox", { index: "status", query: "applied" }),
  ]);
  return { total, pending: pendingN, rejected, flagged, applied };
}

/** The server's status for a result (a duplicate counts as what it was the first time). */
export function serverStatus(result) {
  return result.status === "duplicate" ? (result.original_status || "applied") : result.status;
}

/** Store the server's results on their mutations; returns those whose server verdict differs from the local. */
export async function recordResults(results) {
  const byId = new Map(results.filter((r) => r && r.id).map((r) => [r.id, r]));
  const now = Date.now();
  const stored = await db.updateMutations([...byId.keys()], (row) => {
    if (row.status !== "pending") return null; // decided already (an earlier push's answer)
    const result = byId.get(row.id);
    const status = serverStatus(result);
    row.status = status;
    row.server = result;
    row.decided_at = now;
    row.pushed_at = row.pushed_at || now;
    const local = row.local || {};
    row.differs = Boolean(row.local) && (local.status !== status || (local.reason || null) !== (result.reason || null));
    if (status === "rejected" || row.differs) row.attention = 1;
    delete row.local_task;
    return row;
  });
  changed();
  return stored.filter((row) => row.differs);
}

/** The worker has seen this outcome: it leaves the list of things to look at (the record stays). */
export async function acknowledge(ids) {
  await db.updateMutations(Array.isArray(ids) ? ids : [ids], (row) => {
    if (row.status === "pending") return null;
    row.acknowledged = true;
    delete row.attention;
    return row;
  });
  changed();
}

/** What a push sends for a mutation (the recording user as args.actor, so a supervisor may upload it). */
export function wire(record) {
  const args = { ...record.args };
  if (record.user && args.actor === undefined) args.actor = record.user;
  return { id: record.id, seq: record.seq, type: record.type, at: record.at, args };
}

/** The pending queue of one device as a push body {"device", "mutations"} — what `lotwise push FILE` uploads. */
export async function exportBody(device) {
  const rows = (await pending()).filter((r) => device === undefined || r.device === device);
  return { device: device ?? rows[0]?.device ?? null, mutations: rows.map(wire) };
}

/** Download the pending queue, one file per device it holds. Returns the bodies. */
export async function exportFiles() {
  const devices = [...new Set((await pending()).map((r) => r.device))];
  const bodies = [];
  for (const device of devices) {
    const body = await exportBody(device);
    const blob = new Blob([JSON.stringify(body, null, 1)], { type: "application/json" });
    const stamp = isoWithOffset().slice(0, 19).replace(/[:T]/g, "-");
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = `lotwise-queue-${device || "device"}-${stamp}.json`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
    bodies.push(body);
  }
  return bodies;
}
