// Pick one task: the expected location, lot and quantity big; scan the location, then the lot (judged at once
// by rules.judgePick from the pulled data), then confirm the quantity (default: all of the task). Every pick
// attempt is queued with its local verdict — rejected ones too, so nothing scanned is ever lost — and the
// server's verdict at push is the one that counts.
import * as rules from "../rules.js";
import { markSteps, stepsHtml } from "./common.js";
import { nextTask } from "./tasks.js";

const STEP_WORDS = { location: "1 Location", lot: "2 Lot", qty: "3 Quantity" };

export async function show(root, ctx, params) {
  const taskId = Number(params[0]);
  const task = await ctx.data.task(taskId);
  const e = ctx.escape;
  if (!task) {
    root.innerHTML = `<section class="panel"><h1>Task ${e(params[0] ?? "")} not found</h1>
      <p>It may have been picked, re-allocated or cancelled. The list shows what is open now.</p>
      <p><a class="btn btn-block" href="#/tasks">My tasks</a></p></section>`;
    return {};
  }
  const item = (await ctx.data.item(task.item)) || { sku: `item ${task.item}`, name: "", uom: "" };
  const state = { step: "location", location: null, scan: null, verdict: null, busy: false };

  root.innerHTML = `
    <section class="panel pick" data-task="${task.id}">
      <div class="expect" aria-label="What to pick">
        <dl>
          <dt>Location</dt><dd id="exp-location">${e(task.from)}</dd>
          <dt>Lot</dt><dd id="exp-lot">${e(task.lot_code)}</dd>
          <dt>Qty</dt><dd id="exp-qty">${e(task.qty)} ${e(item.uom)}</dd>
        </dl>
        <p class="expect-item">${e(item.sku)} — ${e(item.name)}<br>to <b>${e(task.to)}</b> · list ${e(task.pick_list)} · task ${task.id}</p>
      </div>
      ${stepsHtml(STEP_WORDS)}
      <div id="scan-slot"></div>
      <form id="qty-form" class="qty-form" novalidate>
        <label for="qty">Quantity (${e(item.uom)})</label>
        <div class="qty-row">
          <input id="qty" name="qty" inputmode="decimal" autocomplete="off" value="${e(task.qty)}" disabled>
          <button class="btn btn-good" id="confirm" type="submit" disabled>Confirm pick</button>
        </div>
      </form>
      <div class="actions">
        <a class="btn btn-secondary" href="#/tasks">All tasks</a>
        <button class="btn btn-secondary" type="button" id="restart">Start over</button>
      </div>
    </section>`;

  if (task.status !== "open") {
    root.querySelector("#scan-slot").innerHTML = `<p class="form-error">This task is ${e(task.status)}${task.local ?
      " on this device (not sent yet)" : ""}: nothing to pick.</p>`;
    root.querySelectorAll(".step").forEach((s) => { s.dataset.state = "done"; });
    ctx.feedback({ status: "info", message: `Task ${task.id} is already ${task.status}` });
    return {};
  }

  const field = ctx.scanInput({ label: "Scan the location label", placeholder: `Location ${task.from}` });
  root.querySelector("#scan-slot").append(field);
  const label = field.querySelector("label");
  const qtyInput = root.querySelector("#qty");
  const confirmButton = root.querySelector("#confirm");

  const setStep = (step) => {
    state.step = step;
    markSteps(root, STEP_WORDS, step);
    root.querySelector(".pick").dataset.step = step;
    label.textContent = step === "location" ? "Scan the location label" : step === "lot" ? "Scan the lot label"
      : "Scan again to change the lot";
    field.input.placeholder = step === "location" ? `Location ${task.from}` : step === "lot" ? `Lot ${task.lot_code}` : "";
    qtyInput.disabled = confirmButton.disabled = step !== "qty";
    root.querySelector("#exp-location").classList.toggle("ok", Boolean(state.location) && state.location === task.from);
    root.querySelector("#exp-lot").classList.toggle("ok", step === "qty" && state.verdict?.lot?.id === task.lot);
    if (step === "qty") {
      qtyInput.value = task.qty;
      requestAnimationFrame(() => { qtyInput.focus(); qtyInput.select(); });
    } else {
      field.focusInput();
    }
  };
  setStep("location");

  const judge = async (scanText, qty) => {
    const site = ctx.site;
    const data = await rules.loadData(ctx.data, { scan: scanText, substitute: site.gs_substitute, task: task.id,
      locations: [state.location] });
    return rules.judgePick({ task: task.id, scan: scanText, location: state.location, qty, at: new Date(), site, data });
  };

  const record = async (verdict, qty) => {
    await ctx.enqueue("pick", { task: task.id, scan: state.scan, location: state.location, qty }, verdict, {
      summary: `Pick task ${task.id}: ${verdict.lot?.code || state.scan} × ${qty} ${item.uom} from ${state.location}`,
    });
  };

  // A location label is a plain Code 128: its text without the symbology identifier a camera adds (]C0).
  const plain = async (text) => {
    const scan = await ctx.prefetch(text);
    return { scan, code: scan.kind === "text" && scan.text ? scan.text : text };
  };

  const onLocation = async (text) => {
    const { scan, code } = await plain(text);
    const location = await ctx.data.location(code);
    if (!location) {
      const looksLikeLot = scan.kind === "gs1" || (await ctx.data.lotsByCode(code)).length > 0;
      ctx.feedback({ status: "rejected", reason: looksLikeLot ? "location_first" : "unknown_location",
        message: looksLikeLot ? `Scan the location first: ${task.from}` : `Unknown location ${code}: scan ${task.from}` });
      return;
    }
    state.location = location.code;
    if (location.code !== task.from) {
      ctx.feedback({ status: "flagged", reason: "wrong_location",
        message: `Wrong location: this task is at ${task.from}, not ${location.code}. Go to ${task.from} or scan ` +
          "the lot here (a supervisor decides)" });
    } else {
      ctx.feedback({ status: "info", message: `At ${location.code}: now scan lot ${task.lot_code}` });
    }
    setStep("lot");
  };

  const onLot = async (text) => {
    // A location label scanned instead of a lot: the worker moved on to another place.
    const { code } = await plain(text);
    const location = await ctx.data.location(code);
    if (location && (await ctx.data.lotsByCode(code)).length === 0) return onLocation(text);
    state.scan = text;
    const verdict = await judge(text, task.qty);
    state.verdict = verdict;
    if (verdict.status === "rejected" && verdict.reason !== "over_pick" && verdict.reason !== "insufficient_stock") {
      ctx.feedback(verdict);
      await record(verdict, task.qty);
      state.scan = null;
      setStep("lot");
      return;
    }
    ctx.feedback(verdict);
    setStep("qty");
  };

  const confirm = async () => {
    if (state.step !== "qty" || state.busy) return;
    const typed = qtyInput.value.trim().replace(",", ".");
    const micros = rules.parseQty(typed);
    const qty = micros === null ? null : rules.formatQty(micros);
    if (!qty || micros === 0n) {
      ctx.feedback({ status: "rejected", reason: "invalid", message: `Enter a quantity up to ${task.qty} ${item.uom}` });
      qtyInput.select();
      return;
    }
    state.busy = true;
    try {
      const verdict = await judge(state.scan, qty);
      ctx.feedback(verdict);
      await record(verdict, qty);
      if (verdict.status === "rejected") {
        state.scan = null;
        setStep("lot");
        return;
      }
      const next = await nextTask(ctx, task.id);
      ctx.navigate(next ? `#/pick/${next.id}` : "#/tasks");
    } finally {
      state.busy = false;
    }
  };

  root.querySelector("#qty-form").addEventListener("submit", (event) => { event.preventDefault(); confirm(); });
  qtyInput.addEventListener("keydown", (event) => {
    // A scanner typing into the quantity field: not a number, so it is a scan (a lot, or a location).
    if (event.key === "Enter" && !/^\s*[0-9]*[.,]?[0-9]*\s*$/.test(qtyInput.value)) {
      event.preventDefault();
      const text = qtyInput.value.trim();
      qtyInput.value = task.qty;
      ctx.scan(text, "wedge");
    }
  });
  root.querySelector("#restart").addEventListener("click", () => {
    state.location = state.scan = state.verdict = null;
    ctx.clearFeedback(`Scan location ${task.from}`);
    setStep("location");
  });

  const handlers = {
    async onScan(text) {
      if (state.busy) return;
      if (state.step === "location") return onLocation(text);
      return onLot(text); // in the lot and quantity steps a scan is (another) lot, or a location
    },
    leave() {},
  };
  return handlers;
}
