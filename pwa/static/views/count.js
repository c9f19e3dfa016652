// Count: scan the location, scan a lot, enter what is there (0 allowed) -> rules.judgeCount -> queued `count`.
// A blind count: the device's figure is shown only after the count is recorded. The location stays for the
// next lot, with the lots this device expects there ticked off as they are counted.
import * as rules from "../rules.js";
import { esc, markSteps, statusWord, stepsHtml } from "./common.js";

const STEPS = { location: "1 Location", lot: "2 Lot", qty: "3 Counted" };
const STALE_POSSIBLE = new Set(["unknown_lot", "unknown_location"]);

export async function show(root, ctx) {
  const s = { location: null, lot: null, item: null, scan: null, counted: new Set(), refused: null, busy: false };

  root.innerHTML = `
    <section class="panel lw-count-view" data-step="location">
      <h1>Count stock</h1>
      ${stepsHtml(STEPS)}
      <div id="lw-scan-slot"></div>
      <div class="expect lw-summary">
        <dl>
          <dt>Location</dt><dd id="lw-location">—</dd>
          <dt>Lot</dt><dd id="lw-lot">—</dd>
        </dl>
        <p class="lw-item" id="lw-item"></p>
      </div>
      <form id="lw-qty-form" novalidate>
        <label for="lw-qty">Counted quantity <span id="lw-uom"></span></label>
        <div class="qty-row">
          <input id="lw-qty" inputmode="decimal" autocomplete="off" disabled placeholder="Count">
          <button class="btn btn-good" id="lw-submit" type="submit" disabled>Record count</button>
        </div>
      </form>
      <div class="actions" id="lw-anyway" hidden>
        <button type="button" class="btn btn-secondary" id="lw-queue-anyway">Queue anyway — the server decides</button>
      </div>
      <p class="lw-result" id="lw-last" aria-live="polite"></p>
      <div id="lw-expected"></div>
      <div class="actions">
        <button type="button" class="btn btn-secondary" id="lw-next-location">Other location</button>
      </div>
    </section>`;
  const field = ctx.scanInput({ label: "Scan the location label", placeholder: "Location" });
  root.querySelector("#lw-scan-slot").append(field);
  const $ = (sel) => root.querySelector(sel);
  const qty = $("#lw-qty");

  const step = () => (!s.location ? "location" : !s.lot ? "lot" : "qty");

  async function render() {
    const now = step();
    markSteps(root, STEPS, now);
    $(".lw-count-view").dataset.step = now;
    field.querySelector("label").textContent = { location: "Scan the location label",
      lot: `At ${s.location}: scan a lot label`, qty: "Enter the counted quantity (or scan another lot)" }[now];
    field.input.placeholder = now === "location" ? "Location" : "Lot";
    $("#lw-location").textContent = s.location || "—";
    $("#lw-lot").textContent = s.lot?.code || "—";
    if (s.lot) {
      const expired = rules.isExpired(s.lot.expires_on ?? null, new Date(), ctx.site.timezone || "UTC");
      const { word, tone } = statusWord(s.lot, expired);
      $("#lw-item").innerHTML = `${esc(s.item?.sku || "")} — ${esc(s.item?.name || "")}${tone === "red"
        ? ` <span class="lw-text-red lw-strong">· ${esc(word)}</span>` : ""}`;
    } else {
      $("#lw-item").textContent = "";
    }
    $("#lw-uom").textContent = s.item?.uom ? `(${s.item.uom})` : "";
    qty.disabled = $("#lw-submit").disabled = now !== "qty";
    $("#lw-anyway").hidden = !s.refused;
    if (now === "qty") requestAnimationFrame(() => { qty.focus(); qty.select(); });
    else { qty.value = ""; field.focusInput(); }
    // The lots this device expects here (codes only: the count stays blind).
    if (s.location) {
      const here = (await ctx.data.lots()).filter((l) => l.stock && l.stock[s.location] !== undefined || s.counted.has(l.id));
      $("#lw-expected").innerHTML = here.length ? `<h2>Lots expected at ${esc(s.location)}</h2>
        <ul class="lw-ticks">${here.sort((a, b) => a.code.localeCompare(b.code)).map((l) =>
          `<li data-lot="${l.id}" data-counted="${s.counted.has(l.id)}">${s.counted.has(l.id) ? "&#10003;" : "&#9633;"}
           <span class="lw-mono">${esc(l.code)}</span></li>`).join("")}</ul>` : `<p class="hint">No lots expected at ${esc(s.location)} on this device.</p>`;
    } else {
      $("#lw-expected").innerHTML = "";
    }
  }

  async function onScan(text) {
    if (s.busy) return;
    const scan = await ctx.prefetch(text);
    if (scan.kind === "invalid") {
      ctx.feedback({ status: "rejected", reason: "bad_barcode", message: `Bad barcode: ${scan.message || text}` });
      return;
    }
    const place = scan.kind === "text" ? await ctx.data.location(scan.text) : null;
    if (place && (await ctx.data.lotsByCode(scan.text)).length === 0) {
      if (place.code !== s.location) s.counted = new Set();
      Object.assign(s, { location: place.code, lot: null, item: null, scan: null, refused: null });
      ctx.feedback({ status: "info", message: `At ${place.code}: scan each lot and enter what is there` });
      return render();
    }
    if (!s.location) {
      ctx.feedback({ status: "rejected", reason: "location_first", message: "Scan the location label first" });
      return;
    }
    const data = await rules.loadData(ctx.data, { scan, substitute: ctx.site.gs_substitute || "|" });
    const found = rules.resolveLot(scan, data);
    if (!found.lot) {
      ctx.feedback({ status: "rejected", reason: found.reason, message: found.message });
      return;
    }
    Object.assign(s, { lot: found.lot, item: await ctx.data.item(found.lot.item), scan: text, refused: null });
    ctx.feedback({ status: "info", message: `Lot ${found.lot.code}: count it and enter the quantity` });
    return render();
  }

  async function submit(anyway = false) {
    if (step() !== "qty" || s.busy) return;
    const typed = qty.value.trim().replace(",", ".");
    if (!typed) { ctx.feedback({ status: "rejected", reason: "invalid", message: "Enter what is there (0 when empty)" }); return; }
    const args = { scan: s.scan, location: s.location, qty: typed };
    s.busy = true;
    try {
      let verdict = anyway && s.refused ? s.refused : null;
      if (!verdict) {
        const data = await rules.loadData(ctx.data, { scan: s.scan, substitute: ctx.site.gs_substitute || "|",
          locations: [s.location] });
        verdict = rules.judgeCount({ ...args, site: ctx.site, data });
      }
      if (verdict.status === "rejected" && !anyway) {
        ctx.feedback(verdict);
        s.refused = STALE_POSSIBLE.has(verdict.reason) ? verdict : null;
        await render();
        return;
      }
      const micros = rules.parseQty(typed);
      if (micros !== null) args.qty = rules.formatQty(micros);
      const before = s.lot.stock?.[s.location] ?? "0";
      await ctx.enqueue("count", args, verdict, { summary: `Count ${s.lot.code} at ${s.location}: ${args.qty}` });
      let diff = "";
      if (micros !== null) {
        const delta = micros - (rules.parseQty(before) ?? 0n);
        diff = delta === 0n ? "matches this device's figure" : `this device had ${before}: ${delta > 0n ? "+" : "−"}${
          rules.formatQty(delta < 0n ? -delta : delta)}`;
      }
      ctx.feedback({ ...verdict, message: `${verdict.message}: ${args.qty} ${s.item?.uom || ""} (${diff})` });
      $("#lw-last").textContent = `Queued: ${s.lot.code} at ${s.location} = ${args.qty} ${s.item?.uom || ""} (${diff})`;
      s.counted.add(s.lot.id);
      Object.assign(s, { lot: null, item: null, scan: null, refused: null });
      await render();
    } finally {
      s.busy = false;
    }
  }

  $("#lw-qty-form").addEventListener("submit", (e) => { e.preventDefault(); submit(); });
  $("#lw-queue-anyway").addEventListener("click", () => submit(true));
  qty.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !/^\s*[0-9]*[.,]?[0-9]*\s*$/.test(qty.value)) {
      event.preventDefault();
      const text = qty.value.trim();
      qty.value = "";
      onScan(text);
    }
  });
  $("#lw-next-location").addEventListener("click", () => {
    Object.assign(s, { location: null, lot: null, item: null, scan: null, refused: null, counted: new Set() });
    $("#lw-last").textContent = "";
    ctx.clearFeedback("Scan the location label");
    render();
  });
  await render();
  root.dataset.ready = "yes";
  return { onScan, leave() {} };
}
