// Small UI helpers shared by the receive, move, count, lookup, supervisor and devices screens.
// No rules here: every verdict comes from rules.js (and gs1.js), every server call through ctx.api.
import { currentSession } from "../api.js";
import { escapeHtml as esc } from "../html.js";

export { esc };

/** True for the roles that may use the supervisor screens. */
export function isBoss(ctx) {
  const role = ctx.user?.role;
  return role === "supervisor" || role === "admin";
}

/** Parse an HTML string into one element. */
export function el(html) {
  const t = document.createElement("template");
  t.innerHTML = html.trim();
  return t.content.firstElementChild;
}

/** The panel workers see on a supervisor screen. */
export function supervisorsOnly(root, title) {
  root.innerHTML = `
    <section class="panel lw-denied" data-denied="role">
      <h1>${esc(title)}</h1>
      <p class="lw-big-word lw-red">SUPERVISORS ONLY</p>
      <p>This screen is for supervisors. Ask a supervisor to sign in on this device, or go back to your work.</p>
      <p><a class="btn btn-block" href="#/tasks">My tasks</a></p>
    </section>`;
}

/** The panel shown when a screen needs the server and there is no connection. `retry()` re-renders. */
export function offlinePanel(root, title, error, retry) {
  const reason = error && error.status !== 0 ? `The server answered: ${error.message}` :
    navigator.onLine ? "The server cannot be reached." : "This device is offline.";
  root.innerHTML = `
    <section class="panel lw-offline" data-offline="yes">
      <h1>${esc(title)}</h1>
      <p class="lw-big-word lw-amber">NEEDS A CONNECTION</p>
      <p>${esc(reason)} This screen works online only: decisions are made on the server, never from a copy.</p>
      <p class="hint">Scanning, picking, receiving, moving and counting keep working offline.</p>
      <div class="actions"><button type="button" class="btn" data-action="retry">Try again</button></div>
    </section>`;
  root.querySelector("[data-action=retry]").addEventListener("click", retry);
}

/** "5 min ago" style age plus the time itself, for last-sync columns. */
export function age(iso, formatTime) {
  if (!iso) return "never";
  const ms = Date.now() - new Date(iso).getTime();
  const mins = Math.round(ms / 60000);
  const rel = mins < 1 ? "just now" : mins < 60 ? `${mins} min ago` : mins < 48 * 60 ?
    `${Math.round(mins / 60)} h ago` : `${Math.round(mins / 1440)} days ago`;
  return `${rel} (${formatTime ? formatTime(iso) : new Date(iso).toLocaleString()})`;
}

/** Minutes since `iso` (Infinity when never). */
export function minutesSince(iso) {
  return iso ? (Date.now() - new Date(iso).getTime()) / 60000 : Infinity;
}

/** A lot's status in big words: {word, tone} (tone red / amber / green). `expired` comes from rules.js. */
export function statusWord(lot, expired) {
  if (!lot) return { word: "UNKNOWN", tone: "amber" };
  if (lot.status === "recalled") return { word: "RECALLED", tone: "red" };
  if (lot.status === "quarantine") return { word: "ON HOLD", tone: "red" };
  if (expired) return { word: "EXPIRED", tone: "red" };
  return { word: "AVAILABLE", tone: "green" };
}

// --- labels: fetched with the bearer header, shown and printed from a blob: URL -----------------------------

/** GET a label resource with the session's token; a Blob. Errors carry .status like ctx.api's. */
export async function fetchLabel(path) {
  const token = currentSession()?.token;
  let response;
  try {
    response = await fetch(path, { headers: token ? { Authorization: `Bearer ${token}` } : {}, cache: "no-store" });
  } catch {
    const error = new Error(navigator.onLine ? "The server cannot be reached" : "Offline");
    error.status = 0;
    throw error;
  }
  if (!response.ok) {
    let body = null;
    try { body = await response.json(); } catch { /* not JSON */ }
    const error = new Error(body?.message || `${response.status} ${response.statusText}`);
    error.status = response.status;
    error.code = body?.error;
    throw error;
  }
  return response.blob();
}

/** The label of a lot as an <img> (SVG from a blob: URL); resolves with the element. */
export async function labelPreview(lotId, { qty, size = "4x6" } = {}) {
  const query = new URLSearchParams({ size });
  if (qty) query.set("qty", qty);
  const blob = await fetchLabel(`/api/labels/lots/${lotId}.svg?${query}`);
  const img = document.createElement("img");
  img.className = "lw-label-preview";
  img.alt = "Lot label";
  img.src = URL.createObjectURL(blob);
  img.addEventListener("load", () => setTimeout(() => URL.revokeObjectURL(img.src), 1000), { once: true });
  return img;
}

/**
 * Print a lot's label: fetch the self-contained print page with the token, load it from a blob: URL into a
 * hidden frame and call its print(). Resolves once the print dialog was asked for.
 */
export async function printLabels(query) {
  const blob = await fetchLabel(`/api/labels/print?${new URLSearchParams(query)}`);
  const url = URL.createObjectURL(new Blob([blob], { type: "text/html" }));
  document.querySelectorAll("iframe.lw-print-frame").forEach((f) => f.remove());
  const frame = document.createElement("iframe");
  frame.className = "lw-print-frame";
  frame.title = "Label to print";
  frame.setAttribute("aria-hidden", "true");
  document.body.append(frame);
  await new Promise((resolve, reject) => {
    frame.addEventListener("load", resolve, { once: true });
    frame.addEventListener("error", reject, { once: true });
    frame.src = url;
  });
  frame.dataset.loaded = "yes";
  try {
    frame.contentWindow.focus();
    frame.contentWindow.print();
  } catch {
    window.open(url, "_blank"); // a browser that cannot print a frame: the page itself, printed from there
  }
  setTimeout(() => { URL.revokeObjectURL(url); }, 60_000);
  return frame;
}

/** Error words for a failed server call. */
export function errorText(error) {
  if (!error) return "";
  if (error.status === 0) return navigator.onLine ? "The server cannot be reached." : "Offline.";
  const fields = error.body?.errors ? Object.entries(error.body.errors)
    .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(" ") : JSON.stringify(v)}`).join("; ") : "";
  return `${error.message}${fields ? ` (${fields})` : ""}`;
}

/** A location list with the given kinds first, then by code. */
export function sortLocations(locations, firstKinds = []) {
  const rank = (l) => { const i = firstKinds.indexOf(l.kind); return i < 0 ? firstKinds.length : i; };
  return [...locations].sort((a, b) => rank(a) - rank(b) || a.code.localeCompare(b.code));
}

/** Wait until outbox record `id` is decided by the server (or `timeout` ms); the record or null. */
export async function waitForOutcome(id, { timeout = 15_000, signal } = {}) {
  const db = await import("../db.js");
  const end = Date.now() + timeout;
  while (Date.now() < end && !signal?.aborted) {
    const row = await db.get("outbox", id);
    if (row && row.status !== "pending") return row;
    await new Promise((r) => setTimeout(r, 250));
  }
  return null;
}

/** The step indicator of a multi-step screen: `steps` maps each step to its words ("1 Lot"). */
export function stepsHtml(steps) {
  return `<div class="steps" aria-hidden="true">${Object.entries(steps).map(([k, w]) =>
    `<span class="step" data-step="${k}">${w}</span>`).join("")}</div>`;
}

/** Mark the steps before `now` done, `now` current and the rest to do. */
export function markSteps(root, steps, now) {
  const order = Object.keys(steps);
  root.querySelectorAll(".step").forEach((el) => {
    const i = order.indexOf(el.dataset.step), j = order.indexOf(now);
    el.dataset.state = i < j ? "done" : i === j ? "now" : "todo";
  });
}
