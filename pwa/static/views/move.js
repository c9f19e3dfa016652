// Move: scan the lot (or the location, then the lot), confirm where from (a lot in one place is taken from there),
// scan where to, enter the quantity (default: all of it there) -> rules.judgeMove -> queued `move` (offline too).
// Held and expired lots may be moved (to quarantine, to scrap), so they are warned about, not refused.
import * as rules from "../rules.js";
import { esc, markSteps, sortLocations, statusWord, stepsHtml } from "./common.js";

const STEPS = { lot: "1 Lot", from: "2 From", to: "3 To", qty: "4 Qty" };
// Local refusals that a newer server state may not share: the worker may queue anyway, the server decides.
const STALE_POSSIBLE = new Set(["insufficient_stock", "unknown_lot", "unknown_location"]);

export async function show(root, ctx) {
  const locations = sortLocations(await ctx.data.locations(), ["storage", "staging", "production", "quarantine", "receiving"]);
  const s = { lot: null, item: null, scan: null, from: null, to: null, refused: null, busy: false };
  const last = { text: "" };

  root.innerHTML = `
    <section class="panel lw-move" data-step="lot">
      <h1>Move stock</h1>
      ${stepsHtml(STEPS)}
      <div id="lw-scan-slot"></div>
      <div class="expect lw-summary">
        <dl>
          <dt>Lot</dt><dd id="lw-lot">—</dd>
          <dt>From</dt><dd id="lw-from">—</dd>
          <dt>To</dt><dd id="lw-to">—</dd>
        </dl>
        <p class="lw-item" id="lw-item"></p>
      </div>
      <div id="lw-from-choices" class="lw-choices" hidden></div>
      <label for="lw-to-select">Or choose where to</label>
      <select id="lw-to-select"><option value="">—</option>${locations.map((l) =>
        `<option value="${esc(l.code)}">${esc(l.code)} · ${esc(l.kind)}</option>`).join("")}</select>
      <form id="lw-qty-form" novalidate>
        <label for="lw-qty">Quantity <span id="lw-uom"></span></label>
        <div class="qty-row">
          <input id="lw-qty" inputmode="decimal" autocomplete="off" disabled>
          <button class="btn btn-good" id="lw-submit" type="submit" disabled>Move</button>
        </div>
      </form>
      <div class="actions lw-anyway" id="lw-anyway" hidden>
        <button type="button" class="btn btn-secondary" id="lw-queue-anyway">Queue anyway — the server decides</button>
      </div>
      <p class="hint" id="lw-last">${esc(last.text)}</p>
      <div class="actions"><button type="button" class="btn btn-secondary" id="lw-restart">Start over</button></div>
    </section>`;

  const field = ctx.scanInput({ label: "Scan the lot label (or the location first)", placeholder: "Lot or location" });
  root.querySelector("#lw-scan-slot").append(field);
  const $ = (sel) => root.querySelector(sel);
  const qty = $("#lw-qty");

  function step() {
    if (!s.lot) return "lot";
    if (!s.from) return "from";
    if (!s.to) return "to";
    return "qty";
  }

  function render() {
    const now = step();
    markSteps(root, STEPS, now);
    $(".lw-move").dataset.step = now;
    const label = field.querySelector("label");
    label.textContent = { lot: s.from ? `At ${s.from}: scan the lot` : "Scan the lot label (or the location first)",
      from: "Scan where it is now (from)", to: "Scan where it goes (to)", qty: "Enter the quantity, or scan again" }[now];
    $("#lw-lot").textContent = s.lot ? s.lot.code : "—";
    $("#lw-from").textContent = s.from || "—";
    $("#lw-to").textContent = s.to || "—";
    if (s.lot) {
      const expired = rules.isExpired(s.lot.expires_on ?? null, new Date(), ctx.site.timezone || "UTC");
      const { word, tone } = statusWord(s.lot, expired);
      $("#lw-item").innerHTML = `${esc(s.item?.sku || "")} — ${esc(s.item?.name || "")}
        ${tone === "red" ? `<span class="lw-text-red lw-strong"> · ${esc(word)}</span>` : ""}`;
    } else {
      $("#lw-item").textContent = "";
    }
    $("#lw-uom").textContent = s.item?.uom ? `(${s.item.uom})` : "";
    const choices = $("#lw-from-choices");
    const places = s.lot ? Object.entries(s.lot.stock || {}) : [];
    choices.hidden = !(now === "from" && places.length);
    choices.innerHTML = `<p class="hint">On this device, lot ${esc(s.lot?.code || "")} is at:</p>` + places.map(([code, q]) =>
      `<button type="button" class="btn btn-secondary lw-choice" data-from="${esc(code)}"><span>${esc(code)}</span>
        <span>${esc(q)} ${esc(s.item?.uom || "")}</span></button>`).join("");
    choices.querySelectorAll("[data-from]").forEach((b) => b.addEventListener("click", () => setFrom(b.dataset.from)));
    qty.disabled = $("#lw-submit").disabled = now !== "qty";
    $("#lw-to-select").value = s.to || "";
    $("#lw-anyway").hidden = !s.refused;
    if (now === "qty") {
      if (!qty.value) qty.value = s.lot.stock?.[s.from] ?? "";
      requestAnimationFrame(() => { qty.focus(); qty.select(); });
    } else {
      qty.value = "";
      field.focusInput();
    }
  }

  function setFrom(code) {
    s.from = code;
    s.refused = null;
    if (s.lot && !s.lot.stock?.[code]) {
      ctx.feedback({ status: "flagged", reason: "no_stock_here",
        message: `This device knows no stock of ${s.lot.code} at ${code}; check the place` });
    } else {
      ctx.feedback({ status: "info", message: `From ${code}: now scan where it goes` });
    }
    render();
  }

  function setTo(code) {
    if (code === s.from) {
      ctx.feedback({ status: "rejected", reason: "invalid", message: `${code} is where it is now: scan where it goes` });
      return;
    }
    s.to = code;
    s.refused = null;
    ctx.feedback({ status: "info", message: `To ${code}: enter the quantity and Move` });
    render();
  }

  async function onLot(text, scan) {
    const data = await rules.loadData(ctx.data, { scan, substitute: ctx.site.gs_substitute || "|" });
    const found = rules.resolveLot(scan, data);
    if (!found.lot) {
      ctx.feedback({ status: "rejected", reason: found.reason, message: found.message });
      return;
    }
    s.lot = found.lot;
    s.scan = text;
    s.item = await ctx.data.item(found.lot.item);
    s.refused = null;
    const places = Object.keys(found.lot.stock || {});
    if (!s.from && places.length === 1) s.from = places[0];
    const expired = rules.isExpired(found.lot.expires_on ?? null, new Date(), ctx.site.timezone || "UTC");
    const { word, tone } = statusWord(found.lot, expired);
    const next = s.from ? "scan where it goes" : "scan where it is now";
    ctx.feedback(tone === "red"
      ? { status: "flagged", reason: `lot_${word.toLowerCase().replace(" ", "_")}`,
        message: `Lot ${found.lot.code} is ${word}: it may only go to quarantine or scrap; ${next}` }
      : { status: "info", message: `Lot ${found.lot.code}${s.from ? ` at ${s.from}` : ""}: ${next}` });
    render();
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
      if (!s.lot) { s.from = place.code; s.refused = null; ctx.feedback({ status: "info", message: `At ${place.code}: now scan the lot` }); render(); return; }
      if (!s.from) return setFrom(place.code);
      return setTo(place.code);
    }
    if (s.lot && step() !== "lot") {
      // Another lot: start again with it (keeping a location scanned first).
      Object.assign(s, { lot: null, item: null, scan: null, from: null, to: null, refused: null });
    }
    return onLot(text, scan);
  }

  async function submit(anyway = false) {
    if (step() !== "qty" || s.busy) return;
    const typed = qty.value.trim().replace(",", ".");
    const args = { ...(s.scan ? { scan: s.scan } : { lot: s.lot.id }), from: s.from, to: s.to, qty: typed };
    s.busy = true;
    try {
      let verdict = anyway && s.refused ? s.refused : null;
      if (!verdict) {
        const data = await rules.loadData(ctx.data, { scan: s.scan, substitute: ctx.site.gs_substitute || "|",
          lot: s.scan ? null : s.lot.id, locations: [s.from, s.to] });
        verdict = rules.judgeMove({ ...args, site: ctx.site, data });
      }
      ctx.feedback(verdict);
      if (verdict.status === "rejected" && !anyway) {
        s.refused = STALE_POSSIBLE.has(verdict.reason) ? verdict : null;
        render();
        if (!s.refused) { qty.focus(); qty.select(); }
        return;
      }
      if (rules.parseQty(typed) !== null) args.qty = rules.formatQty(rules.parseQty(typed));
      await ctx.enqueue("move", args, verdict, {
        summary: `Move ${s.lot.code} × ${args.qty} ${s.item?.uom || ""} ${s.from} → ${s.to}`,
      });
      last.text = `Queued: ${s.lot.code} × ${args.qty} ${s.item?.uom || ""} ${s.from} → ${s.to}`;
      $("#lw-last").textContent = last.text;
      Object.assign(s, { lot: null, item: null, scan: null, from: null, to: null, refused: null });
      render();
    } finally {
      s.busy = false;
    }
  }

  $("#lw-qty-form").addEventListener("submit", (e) => { e.preventDefault(); submit(); });
  $("#lw-queue-anyway").addEventListener("click", () => submit(true));
  $("#lw-to-select").addEventListener("change", (e) => {
    if (!e.target.value) return;
    if (!s.lot) { ctx.feedback({ status: "info", message: "Scan the lot first" }); e.target.value = ""; return; }
    if (!s.from) { setFrom(e.target.value); return; }
    setTo(e.target.value);
  });
  qty.addEventListener("keydown", (event) => {
    // A scanner typing into the quantity field: not a number, so it is a scan.
    if (event.key === "Enter" && !/^\s*[0-9]*[.,]?[0-9]*\s*$/.test(qty.value)) {
      event.preventDefault();
      const text = qty.value.trim();
      qty.value = "";
      onScan(text);
    }
  });
  qty.addEventListener("input", () => { if (s.refused) { s.refused = null; $("#lw-anyway").hidden = true; } });
  $("#lw-restart").addEventListener("click", () => {
    Object.assign(s, { lot: null, item: null, scan: null, from: null, to: null, refused: null });
    ctx.clearFeedback("Scan the lot (or the location first)");
    render();
  });
  render();
  root.dataset.ready = "yes";
  return { onScan, leave() {} };
}
