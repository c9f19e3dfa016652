// Receive: scan the supplier's GS1 label (GTIN or SKU, lot, expiry, count fill the form) or choose the item and type
// the lot (optional: empty -> the server makes a code), expiry, quantity, location (receiving docks first) and
// supplier -> rules.judgeReceive -> queued `receive` (offline too). Once the server has answered with the lot,
// its label can be shown and printed (fetched with the token, printed from a blob: URL).
import * as rules from "../rules.js";
import * as outbox from "../outbox.js";
import { errorText, esc, labelPreview, printLabels, sortLocations } from "./common.js";

const SUPPLIERS_KEY = "lotwise.suppliers"; // [{code, name}] from the last online visit
const PLACE_KEY = "lotwise.receive.location";
const STALE_POSSIBLE = new Set(["unknown_item", "unknown_location", "lot_conflict"]);

function cachedSuppliers() {
  try { return JSON.parse(localStorage.getItem(SUPPLIERS_KEY) || "[]"); } catch { return []; }
}

/** Location options grouped by kind, receiving docks first. */
function locationOptions(locations) {
  const kinds = [...new Set(locations.map((l) => l.kind))];
  return kinds.map((kind) => `<optgroup label="${esc(kind)}">${locations.filter((l) => l.kind === kind)
    .map((l) => `<option value="${esc(l.code)}">${esc(l.code)}</option>`).join("")}</optgroup>`).join("");
}

export async function show(root, ctx) {
  const items = (await ctx.data.items()).sort((a, b) => a.sku.localeCompare(b.sku));
  const locations = sortLocations(await ctx.data.locations(), ["receiving", "quarantine", "storage"]);
  let suppliers = cachedSuppliers();
  const s = { label: null, refused: null, busy: false, alive: true, shown: new Set() };

  root.innerHTML = `
    <section class="panel lw-receive">
      <h1>Receive goods</h1>
      <div id="lw-scan-slot"></div>
      <form id="lw-receive-form" class="lw-form" novalidate autocomplete="off">
        <p class="lw-label-note" id="lw-label-note" hidden></p>
        <label for="lw-item">Item</label>
        <select id="lw-item" name="item" required>
          <option value="">Choose the item…</option>
          ${items.map((i) => `<option value="${esc(i.sku)}">${esc(i.sku)} — ${esc(i.name)}</option>`).join("")}
        </select>
        <div class="lw-pair">
          <div><label for="lw-lot">Lot <span class="hint">(optional)</span></label>
            <input id="lw-lot" name="lot" maxlength="20" autocapitalize="characters" spellcheck="false" placeholder="Empty: new code"></div>
          <div><label for="lw-expiry">Expiry</label>
            <input id="lw-expiry" name="expires_on" type="date"></div>
        </div>
        <div class="lw-pair">
          <div><label for="lw-qty">Quantity <span id="lw-uom"></span></label>
            <input id="lw-qty" name="qty" inputmode="decimal" required placeholder="How many"></div>
          <div><label for="lw-location">Into</label>
            <select id="lw-location" name="location" required>${locationOptions(locations)}</select></div>
        </div>
        <label for="lw-supplier">Supplier</label>
        <select id="lw-supplier" name="supplier">
          <option value="">— none —</option>
          ${suppliers.map((p) => `<option value="${esc(p.code)}">${esc(p.code)} — ${esc(p.name || "")}</option>`).join("")}
        </select>
        <label for="lw-reference">Delivery note <span class="hint">(optional)</span></label>
        <input id="lw-reference" name="reference" maxlength="40" placeholder="e.g. DN-4711">
        <p class="form-error" id="lw-error" role="alert"></p>
        <div class="actions lw-sticky-actions">
          <button type="submit" class="btn btn-good" id="lw-submit">Receive</button>
          <button type="button" class="btn btn-secondary" id="lw-clear">Clear</button>
        </div>
        <div class="actions" id="lw-anyway" hidden>
          <button type="button" class="btn btn-secondary" id="lw-queue-anyway">Queue anyway — the server decides</button>
        </div>
      </form>
      <h2>Received on this device</h2>
      <ul class="lw-rows" id="lw-received"></ul>
      <div id="lw-label-slot"></div>
    </section>`;
  const $ = (sel) => root.querySelector(sel);
  const field = ctx.scanInput({ label: "Scan the supplier's label", placeholder: "GS1 label or location" });
  $("#lw-scan-slot").append(field);
  const form = $("#lw-receive-form");
  const savedPlace = localStorage.getItem(PLACE_KEY);
  if (savedPlace && locations.some((l) => l.code === savedPlace)) $("#lw-location").value = savedPlace;

  const uomOf = (sku) => items.find((i) => i.sku === sku)?.uom || "";
  const showUom = () => { $("#lw-uom").textContent = uomOf($("#lw-item").value) ? `(${uomOf($("#lw-item").value)})` : ""; };
  $("#lw-item").addEventListener("change", () => { showUom(); s.refused = null; $("#lw-anyway").hidden = true; });
  form.addEventListener("input", () => { s.refused = null; $("#lw-anyway").hidden = true; $("#lw-error").textContent = ""; });

  // Suppliers are not pulled: fetched when online, remembered for offline use.
  if (ctx.online) {
    ctx.api("GET", "/api/partners?kind=supplier&per_page=500").then((page) => {
      suppliers = (page.data || []).filter((p) => p.active !== false).map((p) => ({ code: p.code, name: p.name }));
      localStorage.setItem(SUPPLIERS_KEY, JSON.stringify(suppliers));
      if (!s.alive) return;
      const select = $("#lw-supplier");
      const keep = select.value;
      select.innerHTML = `<option value="">— none —</option>` + suppliers.map((p) =>
        `<option value="${esc(p.code)}">${esc(p.code)} — ${esc(p.name || "")}</option>`).join("");
      select.value = keep;
    }).catch(() => {});
  }

  function values() {
    const v = Object.fromEntries(new FormData(form).entries());
    const out = { item: v.item || undefined, lot: v.lot.trim() || undefined, expires_on: v.expires_on || undefined,
      qty: v.qty.trim().replace(",", "."), location: v.location, supplier: v.supplier || undefined,
      reference: v.reference.trim() || undefined };
    for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
    return out;
  }

  /** The wire args: the scanned label when the form still says what it said, else the explicit fields. */
  function argsOf(v) {
    const label = s.label;
    const agrees = label && label.item === v.item && (label.lot || undefined) === v.lot
      && (label.expires_on || undefined) === v.expires_on;
    const args = { ...v };
    if (agrees) args.scan = label.raw;
    const micros = rules.parseQty(args.qty);
    if (micros !== null && micros > 0n) args.qty = rules.formatQty(micros);
    return args;
  }

  function fillFromLabel(scan, item) {
    $("#lw-item").value = item.sku;
    $("#lw-lot").value = scan.lot || "";
    $("#lw-expiry").value = scan.expires_on || "";
    let qty = scan.count != null ? String(scan.count) : "";
    if (!qty && scan.net_kg != null && item.uom === "KGM") qty = String(scan.net_kg);
    if (qty) $("#lw-qty").value = qty;
    s.label = { raw: scan.raw, item: item.sku, lot: scan.lot || null, expires_on: scan.expires_on || null };
    const note = $("#lw-label-note");
    note.hidden = false;
    note.textContent = `From the label: ${item.sku}${scan.lot ? ` · lot ${scan.lot}` : " · no lot (a code is made)"}`
      + `${scan.expires_on ? ` · expires ${scan.expires_on}` : ""}`;
    showUom();
  }

  async function onScan(text) {
    const scan = await ctx.prefetch(text);
    if (scan.kind === "invalid") {
      ctx.feedback({ status: "rejected", reason: "bad_barcode", message: `Bad barcode: ${scan.message || text}` });
      return;
    }
    if (scan.kind === "text") {
      const place = await ctx.data.location(scan.text);
      if (place) {
        $("#lw-location").value = place.code;
        ctx.feedback({ status: "info", message: `Into ${place.code}` });
        return;
      }
      ctx.feedback({ status: "rejected", reason: "bad_barcode",
        message: `${text} is no GS1 label: choose the item and type the lot instead` });
      return;
    }
    const item = scan.gtin ? await ctx.data.itemByGtin(scan.gtin) : scan.sku ? await ctx.data.itemBySku(scan.sku) : null;
    if (!item) {
      ctx.feedback({ status: "rejected", reason: "unknown_item",
        message: `No item ${scan.gtin || scan.sku || ""} on this device: choose the item by hand` });
      return;
    }
    s.refused = null;
    $("#lw-anyway").hidden = true;
    fillFromLabel(scan, item);
    ctx.feedback({ status: "info", message: `${item.sku}${scan.lot ? ` lot ${scan.lot}` : ""}: enter the quantity and Receive` });
    requestAnimationFrame(() => { const q = $("#lw-qty"); q.focus(); q.select(); });
  }

  async function submit(anyway = false) {
    if (s.busy) return;
    const v = values();
    const error = $("#lw-error");
    if (!v.item && !s.label) { error.textContent = "Scan the label or choose the item."; $("#lw-item").focus(); return; }
    if (!v.qty) { error.textContent = "Enter the quantity."; $("#lw-qty").focus(); return; }
    const args = argsOf(v);
    s.busy = true;
    try {
      let verdict = anyway && s.refused ? s.refused : null;
      if (!verdict) {
        const data = await rules.loadData(ctx.data, { scan: args.scan ?? null, substitute: ctx.site.gs_substitute || "|",
          item: args.item, lot: args.lot, locations: [args.location] });
        verdict = rules.judgeReceive({ ...args, site: ctx.site, data });
      }
      ctx.feedback(verdict);
      if (verdict.status === "rejected" && !anyway) {
        error.textContent = verdict.message + (verdict.errors ? ` (${Object.entries(verdict.errors)
          .map(([k, m]) => `${k}: ${[].concat(m).join(" ")}`).join("; ")})` : "");
        s.refused = STALE_POSSIBLE.has(verdict.reason) ? verdict : null;
        $("#lw-anyway").hidden = !s.refused;
        return;
      }
      localStorage.setItem(PLACE_KEY, args.location);
      await ctx.enqueue("receive", args, verdict, {
        summary: `Receive ${args.item} ${args.lot || "(new lot)"} × ${args.qty} ${uomOf(args.item)} at ${args.location}`,
      });
      clearLot();
      await renderReceived();
    } finally {
      s.busy = false;
    }
  }

  /** Ready for the next pallet of the same delivery: location, supplier and note stay. */
  function clearLot() {
    for (const id of ["#lw-lot", "#lw-expiry", "#lw-qty"]) $(id).value = "";
    $("#lw-item").value = "";
    $("#lw-label-note").hidden = true;
    $("#lw-error").textContent = "";
    $("#lw-anyway").hidden = true;
    s.label = null;
    s.refused = null;
    showUom();
    field.focusInput();
  }

  async function renderReceived() {
    if (!s.alive) return;
    const rows = (await outbox.recent(200)).filter((m) => m.type === "receive").slice(0, 6);
    const list = $("#lw-received");
    if (!rows.length) { list.innerHTML = '<li class="hint">Nothing received on this device yet.</li>'; return; }
    list.innerHTML = rows.map((m) => {
      const lot = m.server?.lot;
      const status = m.status;
      const said = m.server?.message || m.local?.message || "";
      return `
        <li class="lw-row lw-received" data-id="${esc(m.id)}" data-status="${esc(status)}" ${lot ? `data-lot="${lot.id}"` : ""}>
          <div class="lw-row-main"><span class="lw-strong lw-mono">${esc(lot?.code || m.args.lot || "(new lot)")}</span>
            <span class="lw-strong">${esc(m.args.qty)} ${esc(uomOf(m.args.item))}</span></div>
          <div class="lw-row-sub"><span class="badge badge-${esc(status)}">${esc(status === "pending" ? "not sent yet" : status)}</span>
            ${esc(m.args.item || "")} → ${esc(m.args.location)} · ${esc(said)}</div>
          ${lot ? `<div class="actions lw-label-actions">
              <button type="button" class="btn" data-action="print" data-lot="${lot.id}">Print label</button>
              <button type="button" class="btn btn-secondary" data-action="preview" data-lot="${lot.id}" data-qty="${esc(m.args.qty)}">Show label</button>
            </div>` : status === "pending" ? `<div class="hint">${ctx.online ? "Sending…" : "Offline: the label can be printed after the sync."}</div>` : ""}
        </li>`;
    }).join("");
    list.querySelectorAll("[data-action=print]").forEach((b) => b.addEventListener("click", () => print(b)));
    list.querySelectorAll("[data-action=preview]").forEach((b) => b.addEventListener("click", () => preview(b)));
    // A receipt just decided by the server: say so once (offline receipts are told when their sync answers).
    for (const m of rows) {
      if (m.status !== "pending" && m.server?.lot && !s.shown.has(m.id) && Date.now() - (m.decided_at || 0) < 30_000) {
        s.shown.add(m.id);
        if (m.status === "applied") {
          ctx.feedback({ status: "applied", message: `${m.server.message}: print its label` });
        }
      }
      if (m.status !== "pending") s.shown.add(m.id);
    }
  }

  async function print(button) {
    const label = button.textContent;
    button.disabled = true;
    button.textContent = "Printing…";
    try {
      await printLabels({ lots: button.dataset.lot, size: "4x6" });
      button.textContent = "Print again";
    } catch (error) {
      ctx.feedback({ status: "rejected", reason: error.code || "print", message: `Label not printed: ${errorText(error)}` });
      button.textContent = label;
    } finally {
      button.disabled = false;
    }
  }

  async function preview(button) {
    const slot = $("#lw-label-slot");
    try {
      const img = await labelPreview(button.dataset.lot, { qty: button.dataset.qty });
      img.dataset.lot = button.dataset.lot;
      slot.replaceChildren(img);
      img.scrollIntoView({ block: "nearest" });
    } catch (error) {
      slot.innerHTML = `<p class="form-error">Label not available: ${esc(errorText(error))}</p>`;
    }
  }

  form.addEventListener("submit", (e) => { e.preventDefault(); submit(); });
  $("#lw-qty").addEventListener("keydown", (event) => {
    // A scanner typing into the quantity field: not a number, so it is a scan (the next label, a location).
    const input = event.target;
    if (event.key === "Enter" && !/^\s*[0-9]*[.,]?[0-9]*\s*$/.test(input.value)) {
      event.preventDefault();
      const text = input.value.trim();
      input.value = "";
      onScan(text);
    }
  });
  $("#lw-queue-anyway").addEventListener("click", () => submit(true));
  $("#lw-clear").addEventListener("click", () => { clearLot(); ctx.clearFeedback("Scan the supplier's label"); });
  for (const row of (await outbox.recent(200)).filter((m) => m.type === "receive")) {
    if (row.status !== "pending") s.shown.add(row.id);
  }
  const unsubscribe = outbox.subscribe(() => { renderReceived(); });
  await renderReceived();
  root.dataset.ready = "yes";
  return {
    onScan,
    leave() { s.alive = false; unsubscribe(); },
  };
}
