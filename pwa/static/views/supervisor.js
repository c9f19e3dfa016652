// Supervisor: picks awaiting confirmation (grouped by pick list: "Confirm all" per list, "Confirm" per pick) and
// the exceptions queue (reason, what the worker was told, expected vs scanned lot and location) with Approve /
// Reject, each with a reason. Online only: decisions are made on the server, never from an offline copy.
import { errorText, esc, isBoss, offlinePanel, supervisorsOnly } from "./common.js";

const TITLE = "Supervisor";

const REASONS = {
  substitute_lot: "OTHER LOT (SUBSTITUTE)",
  fefo_violation: "WRONG LOT ORDER (FEFO/FIFO)",
  wrong_location: "WRONG LOCATION",
  stock_taken: "STOCK TAKEN — NOTHING PICKED",
};

const PRESETS = {
  approve: ["Substitute is fine", "Same quality, use it", "Expected lot not reachable"],
  reject: ["Put it back, pick the expected lot", "Wrong lot order (FEFO)", "Damaged / not acceptable"],
};

function groupByList(tasks) {
  const groups = new Map();
  for (const t of tasks) {
    if (!groups.has(t.pick_list)) groups.set(t.pick_list, []);
    groups.get(t.pick_list).push(t);
  }
  return [...groups.entries()].map(([list, rows]) => ({ list, rows }))
    .sort((a, b) => String(a.list).localeCompare(String(b.list)));
}

export async function show(root, ctx, params = []) {
  if (!isBoss(ctx)) { supervisorsOnly(root, TITLE); return {}; }
  let tab = params[0] === "exceptions" ? "exceptions" : params[0] === "confirm" ? "confirm" : null;
  let alive = true;
  let note = null; // {tone, text}: the last action's outcome, shown above the lists

  async function load() {
    const [picked, exceptions] = await Promise.all([
      ctx.api("GET", "/api/tasks?status=picked&per_page=500"),
      ctx.api("GET", "/api/exceptions"),
    ]);
    return { picked: picked.data || [], exceptions: exceptions || [], total: picked.total };
  }

  async function render() {
    if (!alive) return;
    let data;
    try {
      data = await load();
    } catch (error) {
      if (error.status === 401 || error.status === 403) {
        root.innerHTML = `<section class="panel"><h1>${TITLE}</h1><p class="form-error">${esc(error.message)}</p></section>`;
        return;
      }
      offlinePanel(root, TITLE, error, render);
      return;
    }
    if (!alive) return;
    if (!tab) tab = data.exceptions.length && !data.picked.length ? "exceptions" : "confirm";
    const groups = groupByList(data.picked);
    root.innerHTML = `
      <section class="panel lw-supervisor" data-tab="${tab}">
        <h1>${TITLE}</h1>
        <div class="lw-tabs" role="tablist">
          <button type="button" role="tab" class="lw-tab" data-tab="confirm" aria-selected="${tab === "confirm"}">
            To confirm <span class="lw-count" data-count="${data.picked.length}">${data.picked.length}</span></button>
          <button type="button" role="tab" class="lw-tab" data-tab="exceptions" aria-selected="${tab === "exceptions"}">
            Exceptions <span class="lw-count lw-count-alert" data-count="${data.exceptions.length}">${data.exceptions.length}</span></button>
        </div>
        <p class="lw-note" role="status" ${note ? `data-tone="${note.tone}"` : "hidden"}>${esc(note?.text || "")}</p>
        <div class="lw-tabpanel" id="lw-confirm" ${tab === "confirm" ? "" : "hidden"}>
          ${groups.length ? "" : '<p class="lw-empty">No picks waiting for confirmation.</p>'}
          ${data.total > data.picked.length ? `<p class="hint">Showing ${data.picked.length} of ${data.total}.</p>` : ""}
          ${groups.map(({ list, rows }) => `
            <section class="lw-group" data-list="${esc(list)}">
              <div class="lw-group-head">
                <h2>${esc(list)} <span class="hint">→ ${esc(rows[0].to_location)} · ${rows.length} picked</span></h2>
                <button type="button" class="btn btn-good btn-block" data-action="confirm-list" data-list="${esc(list)}"
                  data-list-id="${rows[0].pick_list_id}">
                  Confirm all ${rows.length}</button>
              </div>
              <ul class="lw-rows">${rows.map((t) => `
                <li class="lw-row" data-task="${t.id}">
                  <div class="lw-row-main">
                    <span class="lw-mono lw-strong">${esc(t.picked_lot || t.lot.code)}</span>
                    <span class="lw-strong">${esc(t.picked_qty ?? t.qty)} ${esc(t.uom)}</span>
                  </div>
                  <div class="lw-row-sub">${esc(t.item)} · ${esc(t.picked_from || t.from_location)} → ${esc(t.to_location)}
                    · ${esc(t.picked_by || "")} ${t.picked_at ? esc(ctx.formatTime(t.picked_at)) : ""}</div>
                  <button type="button" class="btn btn-secondary" data-action="confirm" data-task="${t.id}">Confirm</button>
                </li>`).join("")}
              </ul>
            </section>`).join("")}
        </div>
        <div class="lw-tabpanel" id="lw-exceptions" ${tab === "exceptions" ? "" : "hidden"}>
          ${data.exceptions.length ? "" : '<p class="lw-empty">No exceptions waiting for a decision.</p>'}
          <ul class="lw-rows">${data.exceptions.map(exceptionCard).join("")}</ul>
        </div>
      </section>`;
    wire();
    root.dataset.ready = "yes";
  }

  function exceptionCard(t) {
    const nothing = t.exception_reason === "stock_taken";
    const lotDiffers = t.picked_lot && t.picked_lot !== t.lot.code;
    const placeDiffers = t.picked_from && t.picked_from !== t.from_location;
    return `
      <li class="lw-exception" data-task="${t.id}" data-reason="${esc(t.exception_reason)}">
        <p class="lw-reason">${esc(REASONS[t.exception_reason] || t.exception_reason)}
          <span class="lw-reason-code">${esc(t.exception_reason)}</span></p>
        <p class="lw-said">“${esc(t.exception_message || t.exception_reason || "")}”</p>
        <dl class="lw-compare">
          <dt>Item</dt><dd>${esc(t.item)} · ${esc(t.picked_qty ?? t.qty)} ${esc(t.uom)} → ${esc(t.to_location)}</dd>
          <dt>Expected</dt><dd><span class="lw-mono">${esc(t.lot.code)}</span> @ <span class="lw-mono">${esc(t.from_location)}</span></dd>
          ${nothing ? "" : `<dt>Scanned</dt><dd><span class="lw-mono ${lotDiffers ? "lw-diff" : ""}">${esc(t.picked_lot)}</span>
            @ <span class="lw-mono ${placeDiffers ? "lw-diff" : ""}">${esc(t.picked_from)}</span></dd>`}
          <dt>Worker</dt><dd>${esc(t.picked_by || "—")} ${t.picked_at ? esc(ctx.formatTime(t.picked_at)) : ""} · ${esc(t.pick_list)}</dd>
        </dl>
        <div class="actions lw-decide">
          <button type="button" class="btn btn-good" data-action="ask" data-decision="approve" data-task="${t.id}">
            ${nothing ? "Approve: drop it" : "Approve"}</button>
          ${nothing ? "" : `<button type="button" class="btn btn-danger" data-action="ask" data-decision="reject" data-task="${t.id}">Reject</button>`}
        </div>
        <form class="lw-reason-form" data-task="${t.id}" novalidate hidden></form>
      </li>`;
  }

  function wire() {
    root.querySelectorAll(".lw-tab").forEach((b) => b.addEventListener("click", () => {
      tab = b.dataset.tab;
      note = null;
      render();
    }));
    root.querySelectorAll("[data-action=confirm]").forEach((b) => b.addEventListener("click", () =>
      act(b, () => ctx.api("POST", `/api/tasks/${b.dataset.task}/confirm`),
        (r) => `Confirmed task ${b.dataset.task} (${r.confirmed.length} pick)`)));
    root.querySelectorAll("[data-action=confirm-list]").forEach((b) => b.addEventListener("click", () =>
      act(b, () => ctx.api("POST", `/api/pick-lists/${b.dataset.listId}/confirm`),
        (r) => `Confirmed ${r.confirmed.length} pick(s) of ${b.dataset.list}`)));
    root.querySelectorAll("[data-action=ask]").forEach((b) => b.addEventListener("click", () => ask(b)));
  }

  /** Open the reason form under an exception for approve or reject. */
  function ask(button) {
    const { task, decision } = button.dataset;
    const form = root.querySelector(`.lw-reason-form[data-task="${task}"]`);
    const card = form.closest(".lw-exception");
    card.querySelectorAll("[data-action=ask]").forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
    const words = decision === "approve" ? "Approve" : "Reject";
    form.dataset.decision = decision;
    form.innerHTML = `
      <label for="reason-${task}">Reason to ${decision} (required)</label>
      <input id="reason-${task}" name="reason" maxlength="200" autocomplete="off" required
             placeholder="Why? The worker sees this">
      <div class="lw-chips">${PRESETS[decision].map((p) =>
        `<button type="button" class="lw-chip" data-preset="${esc(p)}">${esc(p)}</button>`).join("")}</div>
      <p class="form-error" role="alert"></p>
      <div class="actions">
        <button type="submit" class="btn ${decision === "approve" ? "btn-good" : "btn-danger"}" data-action="decide">
          ${words} with this reason</button>
        <button type="button" class="btn btn-secondary" data-action="cancel">Cancel</button>
      </div>`;
    form.hidden = false;
    const input = form.querySelector("input");
    form.querySelectorAll(".lw-chip").forEach((c) => c.addEventListener("click", () => {
      input.value = c.dataset.preset;
      input.focus();
    }));
    form.querySelector("[data-action=cancel]").addEventListener("click", () => {
      form.hidden = true;
      form.replaceChildren();
      card.querySelectorAll("[data-action=ask]").forEach((b) => b.removeAttribute("aria-pressed"));
    });
    form.onsubmit = async (event) => {
      event.preventDefault();
      const reason = input.value.trim();
      const error = form.querySelector(".form-error");
      if (!reason) { error.textContent = "Give a reason: the worker and the records see it."; input.focus(); return; }
      const submit = form.querySelector("[data-action=decide]");
      await act(submit, () => ctx.api("POST", `/api/tasks/${task}/${decision}`, { reason }),
        () => `${decision === "approve" ? "Approved" : "Rejected"} task ${task}: ${reason}`, error);
    };
    input.focus();
    form.scrollIntoView({ block: "nearest" });
  }

  /** Run one server action from a button; then refresh the lists (also after a failure: state may have moved). */
  async function act(button, call, describe, errorBox) {
    if (!ctx.online && !navigator.onLine) {
      note = { tone: "bad", text: "Offline: nothing was sent. Try again when connected." };
      ctx.feedback({ status: "rejected", reason: "offline", message: note.text });
      render();
      return;
    }
    button.disabled = true;
    const label = button.textContent;
    button.textContent = "Sending…";
    try {
      const result = await call();
      note = { tone: "good", text: describe(result) };
      ctx.feedback({ status: "applied", message: note.text });
    } catch (error) {
      const text = errorText(error);
      if (errorBox && error.status && error.status !== 409) {
        errorBox.textContent = text;
        button.disabled = false;
        button.textContent = label;
        return;
      }
      note = { tone: "bad", text: `Not done: ${text}` };
      ctx.feedback({ status: "rejected", reason: error.code || "error", message: note.text });
    }
    await render();
  }

  await render();
  const onPulled = () => { if (!root.querySelector(".lw-reason-form:not([hidden])")) render(); };
  const onOnline = () => render();
  window.addEventListener("lotwise:pulled", onPulled);
  window.addEventListener("online", onOnline);
  // New picks and exceptions arrive while the screen is open: refresh now and then, never under a form or a click.
  const timer = setInterval(() => {
    if (!root.querySelector(".lw-reason-form:not([hidden]), button:disabled")) render();
  }, 30_000);
  return {
    onScan(text) {
      ctx.feedback({ status: "info", message: `Scanned ${text}: use Lot lookup to check a lot` });
    },
    leave() {
      alive = false;
      clearInterval(timer);
      window.removeEventListener("lotwise:pulled", onPulled);
      window.removeEventListener("online", onOnline);
    },
  };
}
