// Lot lookup: scan a lot label (or a lot code, or a location) -> the lot's status in big words (RECALLED / ON HOLD /
// EXPIRED in red), its expiry and its stock per location from the offline cache at once; online, the server's
// view too (POST /api/scan/resolve, GET /api/lots/<id>): stock with reservations and the lot's full history.
// A location scan lists the lots stocked there. #/lookup/<lotId> opens a lot directly.
import * as rules from "../rules.js";
import { errorText, esc, statusWord } from "./common.js";

const TYPE_WORDS = { receive: "Received", move: "Moved", pick: "Picked", consume: "Consumed", produce: "Produced",
  ship: "Shipped", adjust: "Adjusted", scrap: "Scrapped", return: "Returned" };

export async function show(root, ctx, params = []) {
  root.innerHTML = `
    <section class="panel lw-lookup">
      <h1>Lot lookup</h1>
      <div id="lw-scan-slot"></div>
      <div id="lw-result" aria-live="polite"><p class="hint">Scan a lot label, a lot code or a location.</p></div>
    </section>`;
  root.querySelector("#lw-scan-slot").append(ctx.scanInput({ label: "Scan a lot or a location",
    placeholder: "Lot label, lot code or location" }));
  const out = root.querySelector("#lw-result");
  let serial = 0; // a newer scan wins over a slower answer to an older one

  const today = () => rules.siteDay(new Date(), ctx.site.timezone || "UTC");
  const expiredNow = (expiresOn) => rules.isExpired(expiresOn ?? null, new Date(), ctx.site.timezone || "UTC");

  function expiryLine(expiresOn) {
    if (!expiresOn) return "No expiry";
    const day = today();
    if (expiredNow(expiresOn)) return `EXPIRED on ${expiresOn}`;
    if (expiresOn === day) return `Expires TODAY (${expiresOn})`;
    const days = Math.round((Date.parse(expiresOn) - Date.parse(day)) / 86_400_000);
    return `Expires ${expiresOn} (in ${days} day${days === 1 ? "" : "s"})`;
  }

  /** The lot card. `lot` {id, code, status, expires_on}, item {sku, name, uom}, rows [{location, on_hand, reserved?, free?}]. */
  function lotCard({ lot, item, rows, source, history, note, why }) {
    const expired = expiredNow(lot.expires_on);
    const { word, tone } = statusWord(lot, expired);
    const words = [word];
    if (expired && word !== "EXPIRED") words.push("EXPIRED");
    const total = rows.reduce((sum, r) => sum + (rules.parseQty(r.on_hand) ?? 0n), 0n);
    const server = source === "server";
    return `
      <article class="lw-lot" data-lot="${lot.id ?? ""}" data-status="${esc(lot.status)}" data-word="${esc(word)}"
               data-source="${source}">
        <p class="lw-big-word lw-${tone}" id="lw-status-word">${esc(words.join(" · "))}</p>
        ${why ? `<p class="lw-why" id="lw-why">Why: ${esc(why)}</p>` : ""}
        <h2 class="lw-lot-code lw-mono">${esc(lot.code)}</h2>
        <p class="lw-strong">${esc(item?.sku || "")} — ${esc(item?.name || "")}</p>
        <p class="lw-expiry ${expired ? "lw-text-red" : ""}" id="lw-expiry">${esc(expiryLine(lot.expires_on))}</p>
        ${note ? `<p class="hint">${esc(note)}</p>` : ""}
        <h3>Stock · ${esc(rules.formatQty(total))} ${esc(item?.uom || "")}</h3>
        ${rows.length ? `<table class="lw-table" id="lw-stock">
          <thead><tr><th>Location</th><th class="lw-num">On hand</th>${server ? '<th class="lw-num">Free</th>' : ""}</tr></thead>
          <tbody>${rows.map((r) => `<tr data-location="${esc(r.location)}"><td class="lw-mono">${esc(r.location)}</td>
            <td class="lw-num">${esc(r.on_hand)}</td>${server ? `<td class="lw-num">${esc(r.free ?? "")}</td>` : ""}</tr>`).join("")}
          </tbody></table>` : "<p>No stock on hand.</p>"}
        <p class="hint" id="lw-source">${server ? "From the server, just now." :
          "From this device's copy (last sync). Online, the server's view and the history follow."}</p>
        ${history || ""}
      </article>`;
  }

  function historyHtml(detail) {
    const entries = [
      ...(detail.movements || []).map((m) => ({ at: m.happened_at, html: `<b>${esc(TYPE_WORDS[m.type] || m.type)}</b>
        ${esc(m.qty)} ${m.from_location ? esc(m.from_location) : ""}${m.from_location || m.to_location ? " → " : ""}${m.to_location ? esc(m.to_location) : ""}
        ${m.partner ? ` · ${esc(m.partner)}` : ""}${m.ref_number ? ` · ${esc(m.ref_number)}` : ""}${m.reason ? ` · ${esc(m.reason)}` : ""}`,
        who: m.actor })),
      ...(detail.events || []).map((e) => ({ at: e.happened_at, html: e.kind === "count"
        ? `<b>Counted</b> ${esc(e.new_value)} at ${esc(e.location || "")} (was ${esc(e.old_value)})`
        : `<b>Status</b> ${esc(e.old_value)} → ${esc(e.new_value)}${e.reason ? ` · ${esc(e.reason)}` : ""}`, who: e.actor })),
    ].sort((a, b) => String(b.at).localeCompare(String(a.at)));
    if (!entries.length) return "";
    return `<h3>History</h3><ol class="lw-history" id="lw-history">${entries.slice(0, 100).map((e) => `
      <li><span class="lw-when">${esc(ctx.formatTime(e.at))} · ${esc(e.who || "")}</span><span>${e.html}</span></li>`).join("")}</ol>`;
  }

  const cacheRows = (lot) => Object.entries(lot.stock || {}).sort(([a], [b]) => a.localeCompare(b))
    .map(([location, qty]) => ({ location, on_hand: qty }));

  function speak(lot) {
    const { word, tone } = statusWord(lot, expiredNow(lot.expires_on));
    const message = tone === "red" ? `Lot ${lot.code}: ${word} — do not use` : `Lot ${lot.code}: ${word}`;
    ctx.feedback({ status: tone === "red" ? "rejected" : "applied", reason: tone === "red" ? `lot_${lot.status}` : null,
      message });
  }

  async function showServerLot(lotId, mine, { announce }) {
    const detail = await ctx.api("GET", `/api/lots/${lotId}`);
    if (mine !== serial) return;
    const lot = detail.lot;
    const change = (detail.events || []).filter((e) => e.kind === "status")
      .sort((a, b) => String(b.happened_at).localeCompare(String(a.happened_at)))[0];
    const why = lot.status !== "available" && change?.reason ? change.reason : null;
    out.innerHTML = lotCard({ lot, item: lot.item, source: "server", history: historyHtml(detail), why,
      rows: (detail.balances || []).filter((b) => rules.compareQty(b.on_hand, "0") > 0) });
    if (announce) speak(lot);
  }

  async function lookUp(text) {
    const mine = ++serial;
    const scan = await ctx.prefetch(text);
    if (scan.kind === "invalid") {
      out.innerHTML = `<p class="lw-big-word lw-red">BAD BARCODE</p><p>${esc(scan.message || "")}</p>`;
      ctx.feedback({ status: "rejected", reason: "bad_barcode", message: `Bad barcode: ${scan.message || text}` });
      return;
    }
    // A location label: the lots stocked there.
    const place = scan.kind === "text" ? await ctx.data.location(scan.text) : null;
    if (place) {
      const lots = (await ctx.data.lots()).filter((l) => l.stock && l.stock[place.code]);
      const items = new Map((await ctx.data.items()).map((i) => [i.id, i]));
      out.innerHTML = `<article class="lw-place" data-location="${esc(place.code)}">
        <p class="lw-big-word lw-blue">LOCATION</p><h2 class="lw-mono">${esc(place.code)}</h2>
        <p>${esc(place.name || "")} · ${esc(place.kind)}</p>
        <h3>${lots.length} lot(s) here</h3>
        <ul class="lw-rows">${lots.map((l) => {
          const { word, tone } = statusWord(l, expiredNow(l.expires_on));
          const item = items.get(l.item) || {};
          return `<li><a class="lw-row lw-link" href="#/lookup/${l.id}" data-lot="${l.id}">
            <span class="lw-row-main"><span class="lw-mono lw-strong">${esc(l.code)}</span>
            <span class="lw-strong">${esc(l.stock[place.code])} ${esc(item.uom || "")}</span></span>
            <span class="lw-row-sub">${esc(item.sku || "")} · <span class="lw-text-${tone}">${esc(word)}</span>
            ${l.expires_on ? ` · exp. ${esc(l.expires_on)}` : ""}</span></a></li>`;
        }).join("")}</ul></article>`;
      ctx.feedback({ status: "info", message: `Location ${place.code}: ${lots.length} lot(s)` });
      return;
    }
    const data = await rules.loadData(ctx.data, { scan, substitute: ctx.site.gs_substitute || "|" });
    const found = rules.resolveLot(scan, data);
    if (found.lot) {
      const lot = found.lot;
      const item = await ctx.data.item(lot.item);
      out.innerHTML = lotCard({ lot, item, rows: cacheRows(lot), source: "device" });
      speak(lot);
    } else {
      out.innerHTML = `<p class="lw-big-word lw-amber">NOT ON THIS DEVICE</p><p>${esc(found.message)}</p>
        <p class="hint">${ctx.online ? "Asking the server…" : "Offline: only lots with stock at the last sync are known here."}</p>`;
    }
    if (!ctx.online && !navigator.onLine) return;
    try {
      const answer = await ctx.api("POST", "/api/scan/resolve", { scan: text });
      if (mine !== serial) return;
      if (answer.kind === "lot" && answer.lot) {
        await showServerLot(answer.lot.id, mine, { announce: !found.lot || answer.lot.status !== found.lot.status });
      } else if (!found.lot) {
        const what = answer.kind === "location" ? `Location ${answer.location?.code}` : answer.kind === "item"
          ? `Item ${answer.item?.sku}, but no such lot` : answer.message || `Nothing known as ${text}`;
        out.innerHTML = `<p class="lw-big-word lw-amber">${esc(answer.kind === "location" ? "LOCATION" : "NOT FOUND")}</p>
          <p>${esc(what)}</p>`;
        ctx.feedback({ status: "rejected", reason: answer.error || "unknown_lot", message: what });
      }
    } catch (error) {
      if (mine !== serial) return;
      const source = out.querySelector("#lw-source");
      if (source) source.textContent = `From this device's copy: the server could not be asked (${errorText(error)}).`;
      else if (!found.lot) ctx.feedback({ status: "rejected", reason: found.reason, message: found.message });
    }
  }

  async function openById(id) {
    const mine = ++serial;
    const lot = await ctx.data.lot(id);
    if (lot) out.innerHTML = lotCard({ lot, item: await ctx.data.item(lot.item), rows: cacheRows(lot), source: "device" });
    if (lot) speak(lot);
    if (ctx.online || navigator.onLine) {
      try {
        await showServerLot(id, mine, { announce: !lot });
      } catch (error) {
        if (!lot) out.innerHTML = `<p class="form-error">Lot ${esc(id)}: ${esc(errorText(error))}</p>`;
      }
    }
  }

  if (params[0] && /^\d+$/.test(params[0])) await openById(Number(params[0]));
  root.dataset.ready = "yes";
  return {
    onScan: (text) => lookUp(text),
    leave() { serial += 1; },
  };
}
