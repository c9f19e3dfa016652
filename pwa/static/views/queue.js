// The queue: every pending and decided mutation with the device's verdict and the server's. Rejected ones
// and those the server decided differently stay marked until the worker acknowledges them; the pending queue
// can be exported to a file that `lotwise push FILE` uploads (when a device cannot reach the server).
import * as outbox from "../outbox.js";

const LIMIT = 300;
const WORDS = { pending: "Pending", applied: "Applied", flagged: "Flagged", rejected: "Rejected", duplicate: "Duplicate" };

function needsAck(m) {
  return m.status !== "pending" && !m.acknowledged && (m.status === "rejected" || m.differs);
}

export async function show(root, ctx) {
  const e = ctx.escape;
  let filter = "all";

  const verdictLine = (who, v) => v ? `<b>${who}</b><span><span class="badge badge-${e(v.status)}">${e(WORDS[v.status] || v.status)}</span>
      ${v.reason ? `<code>${e(v.reason)}</code>` : ""} ${e(v.message || "")}</span>` : "";

  const item = (m) => {
    const server = m.server ? { status: outbox.serverStatus(m.server), reason: m.server.reason, message: m.server.message } : null;
    const attention = needsAck(m);
    return `<li class="qitem${attention ? " attention" : ""}" data-id="${e(m.id)}" data-status="${e(m.status)}"
          data-differs="${m.differs ? "yes" : "no"}" data-acknowledged="${m.acknowledged ? "yes" : "no"}">
        <div class="summary">#${m.seq} ${e(m.summary || m.type)}</div>
        <div class="outcome">
          ${verdictLine("Device", m.local)}
          ${server ? verdictLine("Server", server) : `<b>Server</b><span><span class="badge badge-pending">Not sent yet</span></span>`}
        </div>
        ${m.differs ? `<p class="form-error">The server decided differently from the device: its verdict counts.</p>` : ""}
        <div class="meta">${e(m.type)} · ${e(m.at)} · ${e(m.device)} · ${e(m.user)}</div>
        ${attention ? `<button class="btn btn-secondary btn-block ack" type="button" data-id="${e(m.id)}">Seen — remove the mark</button>` : ""}
      </li>`;
  };

  const render = async () => {
    const [counts, rows, attention] = await Promise.all([outbox.counts(), outbox.recent(LIMIT), outbox.needingAttention()]);
    const shown = filter === "attention" ? attention.slice().reverse()
      : filter === "pending" ? rows.filter((m) => m.status === "pending") : rows;
    root.innerHTML = `
      <section class="panel queue">
        <div class="queue-head">
          <h1>Queue</h1>
          <button class="btn btn-secondary" type="button" id="export" ${counts.pending ? "" : "disabled"}>Export file</button>
        </div>
        <div class="counts" id="queue-counts" data-pending="${counts.pending}" data-rejected="${counts.rejected}"
             data-flagged="${counts.flagged}" data-applied="${counts.applied}">
          <span class="badge badge-pending">${counts.pending} pending</span>
          <span class="badge badge-applied">${counts.applied} applied</span>
          <span class="badge badge-flagged">${counts.flagged} flagged</span>
          <span class="badge badge-rejected">${counts.rejected} rejected</span>
        </div>
        <div class="seg" role="group" aria-label="Show">
          <button class="btn ${filter === "all" ? "" : "btn-secondary"}" type="button" data-filter="all" aria-pressed="${filter === "all"}">All</button>
          <button class="btn ${filter === "pending" ? "" : "btn-secondary"}" type="button" data-filter="pending" aria-pressed="${filter === "pending"}">Pending</button>
          <button class="btn ${filter === "attention" ? "" : "btn-secondary"}" type="button" data-filter="attention" aria-pressed="${filter === "attention"}">Check (${attention.length})</button>
        </div>
        ${attention.length ? `<button class="btn btn-block" type="button" id="ack-all">Seen all ${attention.length} — remove the marks</button>` : ""}
        <ul class="queue-list">${shown.map(item).join("") || "<li class=\"hint\">Nothing here.</li>"}</ul>
        <p class="hint">${counts.total > LIMIT && filter === "all" ? `The newest ${LIMIT} of ${counts.total} are shown. ` : ""}
          Pending scans are sent by themselves when the server can be reached. Export writes them to a file for
          <code>lotwise push FILE</code>.</p>
      </section>`;
    root.dataset.ready = "yes";
  };

  root.addEventListener("click", async (event) => {
    const target = event.target.closest("button");
    if (!target) return;
    if (target.dataset.filter) { filter = target.dataset.filter; render(); }
    else if (target.classList.contains("ack")) await outbox.acknowledge(target.dataset.id);
    else if (target.id === "ack-all") await outbox.acknowledge((await outbox.needingAttention()).map((m) => m.id));
    else if (target.id === "export") {
      const bodies = await outbox.exportFiles();
      const n = bodies.reduce((sum, b) => sum + b.mutations.length, 0);
      ctx.feedback({ status: "info", message: `Exported ${n} pending scan(s) to ${bodies.length} file(s): upload ` +
        "with lotwise push FILE" });
    }
  });

  let timer = null;
  const later = () => { clearTimeout(timer); timer = setTimeout(render, 100); };
  const unsubscribe = outbox.subscribe(later);
  await render();
  return {
    onScan(text) { ctx.feedback({ status: "info", message: `Scanned ${text}: open a task or screen to use it` }); },
    leave() { unsubscribe(); clearTimeout(timer); },
  };
}
