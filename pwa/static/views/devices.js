// Devices (supervisors): every handheld with its last push, last pull, last user and its mutations counted by
// outcome, so a device that has not synced for a long time (a queue stuck in a cold store) stands out.
import { age, esc, isBoss, minutesSince, offlinePanel, supervisorsOnly } from "./common.js";

const TITLE = "Devices";
const STALE_MINUTES = 60;
const OUTCOMES = ["applied", "flagged", "rejected"];

export async function show(root, ctx) {
  if (!isBoss(ctx)) { supervisorsOnly(root, TITLE); return {}; }
  let alive = true;

  async function render() {
    if (!alive) return;
    let devices;
    try {
      devices = await ctx.api("GET", "/api/devices");
    } catch (error) {
      offlinePanel(root, TITLE, error, render);
      return;
    }
    if (!alive) return;
    const lastSync = (d) => [d.last_push_at, d.last_pull_at].filter(Boolean).sort().pop() || null;
    devices.sort((a, b) => String(lastSync(b) || "").localeCompare(String(lastSync(a) || "")) || a.name.localeCompare(b.name));
    root.innerHTML = `
      <section class="panel lw-devices">
        <h1>${TITLE}</h1>
        <p class="hint">${devices.length} device(s). Not synced for over ${STALE_MINUTES} min is marked: its scans may
          be waiting on the device.</p>
        <div class="actions"><button type="button" class="btn btn-secondary" data-action="refresh">Refresh</button></div>
        ${devices.length ? "" : '<p class="lw-empty">No device has signed in yet.</p>'}
        <ul class="lw-rows">${devices.map((d) => {
          const stale = minutesSince(lastSync(d)) > STALE_MINUTES;
          const outcomes = d.outcomes || {};
          const others = Object.keys(outcomes).filter((k) => !OUTCOMES.includes(k));
          const total = Object.values(outcomes).reduce((a, b) => a + b, 0);
          return `
          <li class="lw-device" data-device="${esc(d.name)}" data-stale="${stale}">
            <div class="lw-row-main">
              <span class="lw-mono lw-strong lw-device-name">${esc(d.name)}</span>
              ${stale ? '<span class="badge badge-rejected">NOT SYNCED</span>' : '<span class="badge badge-applied">OK</span>'}
            </div>
            <dl class="lw-compare">
              <dt>Last user</dt><dd data-field="last_user">${esc(d.last_user || "—")}</dd>
              <dt>Last push</dt><dd data-field="last_push">${esc(age(d.last_push_at, ctx.formatTime))}</dd>
              <dt>Last pull</dt><dd data-field="last_pull">${esc(age(d.last_pull_at, ctx.formatTime))}</dd>
            </dl>
            <div class="counts lw-outcomes" data-total="${total}">
              ${OUTCOMES.map((k) => `<span class="badge badge-${k}" data-outcome="${k}" data-count="${outcomes[k] || 0}">
                ${outcomes[k] || 0} ${k}</span>`).join("")}
              ${others.map((k) => `<span class="badge" data-outcome="${esc(k)}" data-count="${outcomes[k]}">
                ${outcomes[k]} ${esc(k)}</span>`).join("")}
            </div>
          </li>`;
        }).join("")}</ul>
      </section>`;
    root.querySelector("[data-action=refresh]").addEventListener("click", render);
    root.dataset.ready = "yes";
  }

  await render();
  const timer = setInterval(render, 60_000);
  const onOnline = () => render();
  window.addEventListener("online", onOnline);
  return {
    onScan(text) { ctx.feedback({ status: "info", message: `Scanned ${text}: use Lot lookup to check a lot` }); },
    leave() { alive = false; clearInterval(timer); window.removeEventListener("online", onOnline); },
  };
}
