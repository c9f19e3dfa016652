// My tasks: the open pick tasks grouped by pick list, each list in walking order (by from-location code), and
// my own picks until they ship, with their state (picked, waiting for a supervisor, confirmed, decided).

const DONE = new Set(["picked", "confirmed", "exception", "cancelled"]);
const STATE_WORDS = {
  open: "To pick",
  picked: "Picked — waiting for confirmation",
  confirmed: "Confirmed",
  exception: "Waiting for a supervisor",
  cancelled: "Cancelled",
};

/** On the list: open work, my picks not yet confirmed (or sent), exceptions and supervisors' decisions. */
function isCurrent(task) {
  return task.status !== "confirmed" && task.status !== "cancelled" || Boolean(task.local) || Boolean(task.decision);
}

export function byLocation(a, b) {
  return a.from < b.from ? -1 : a.from > b.from ? 1 : a.id - b.id;
}

/** Tasks grouped by pick list: [{list, tasks (walking order), open}], lists with open work first. */
export function groupTasks(tasks) {
  const groups = new Map();
  for (const task of tasks) {
    if (!groups.has(task.pick_list)) groups.set(task.pick_list, []);
    groups.get(task.pick_list).push(task);
  }
  return [...groups.entries()].map(([list, rows]) => {
    rows.sort(byLocation);
    const open = rows.filter((t) => t.status === "open");
    return { list, tasks: rows, open: open.length, first: (open[0] || rows[0]).from };
  }).sort((a, b) => (b.open > 0) - (a.open > 0) || (a.first < b.first ? -1 : a.first > b.first ? 1 : 0)
    || String(a.list).localeCompare(String(b.list)));
}

/** The next open task after `taskId` in walking order (same list first, then any). */
export async function nextTask(ctx, taskId) {
  const tasks = (await ctx.data.tasks()).filter((t) => t.status === "open" && t.id !== Number(taskId));
  const current = await ctx.data.task(taskId);
  const same = tasks.filter((t) => current && t.pick_list === current.pick_list).sort(byLocation);
  if (same.length) {
    const ahead = same.find((t) => t.from >= current.from);
    return ahead || same[0];
  }
  for (const group of groupTasks(tasks)) if (group.open) return group.tasks.find((t) => t.status === "open");
  return null;
}

const PAGE = 150; // cards drawn at first; a long list draws the rest on demand

export async function show(root, ctx) {
  let showAll = false;
  const render = async () => {
    const [tasks, items] = await Promise.all([ctx.data.tasks(), ctx.data.items()]);
    const itemsById = new Map(items.map((i) => [i.id, i]));
    const current = tasks.filter(isCurrent);
    const finished = tasks.filter((t) => !isCurrent(t));
    let groups = groupTasks(current);
    const total = current.length;
    let hidden = 0;
    if (!showAll && total > PAGE) {
      let budget = PAGE;
      groups = groups.map((g) => {
        const kept = g.tasks.slice(0, Math.max(0, budget));
        budget -= kept.length;
        hidden += g.tasks.length - kept.length;
        return { ...g, tasks: kept };
      }).filter((g) => g.tasks.length);
    }
    const open = tasks.filter((t) => t.status === "open").length;
    const waiting = current.length - open;
    const e = ctx.escape;
    const card = (task) => {
      const item = itemsById.get(task.item) || {};
      const isDone = DONE.has(task.status);
      const qty = isDone && task.picked_qty ? task.picked_qty : task.qty;
      const decision = task.decision ? ` Supervisor ${task.decision}${task.decision_reason ? `: ${task.decision_reason}` : ""}` : "";
      const body = `
        <span class="where">${e(task.from)}</span>
        <span class="qty">${e(qty)} ${e(item.uom || "")}</span>
        <span class="what">${e(item.sku || `item ${task.item}`)} · lot <b>${e(task.picked_lot_code || task.lot_code)}</b> → ${e(task.to)}</span>
        <span class="state"><span class="badge badge-${e(task.status)}">${e(STATE_WORDS[task.status] || task.status)}</span>
          ${task.local ? '<span class="badge badge-pending">not sent yet</span>' : ""}${e(decision)}</span>`;
      return isDone
        ? `<li><div class="card done" data-task="${task.id}" data-status="${e(task.status)}" data-decision="${e(task.decision || "")}">${body}</div></li>`
        : `<li><a class="card" href="#/pick/${task.id}" data-task="${task.id}" data-status="open">${body}</a></li>`;
    };
    root.innerHTML = `
      <section class="panel tasks">
        <div id="task-scan"></div>
        <h1>My tasks</h1>
        <p class="hint" id="task-counts">${open} to pick · ${waiting} waiting for a supervisor or sync</p>
        ${groups.length ? "" : `<p>No pick tasks. ${ctx.online ? "Sync now brings new ones." :
          "Offline: new tasks appear after the next sync."}</p>`}
        ${groups.map((g) => `
          <h2 class="group">Pick list ${e(g.list)} · ${g.open} open</h2>
          <ul class="cards">${g.tasks.map(card).join("")}</ul>`).join("")}
        ${hidden ? `<button class="btn btn-secondary btn-block" type="button" id="show-all">Show ${hidden} more</button>` : ""}
        ${finished.length ? `<details class="finished"><summary class="btn btn-secondary btn-block">Confirmed picks
          (${finished.length})</summary><ul class="cards">${finished.sort(byLocation).map(card).join("")}</ul></details>` : ""}
      </section>`;
    root.querySelector("#task-scan").replaceWith(field);
    field.focusInput();
    root.dataset.ready = "yes";
  };
  const field = ctx.scanInput({ label: "Scan a location to start there", placeholder: "Location label" });
  await render();
  root.addEventListener("click", (event) => {
    if (event.target.closest("#show-all")) { showAll = true; render(); }
  });
  const onPulled = () => render();
  window.addEventListener("lotwise:pulled", onPulled);
  return {
    async onScan(text) {
      // A location scanned on the list: open the first open task there.
      const scan = await ctx.prefetch(text);
      const code = scan.kind === "text" && scan.text ? scan.text : text.trim();
      const tasks = (await ctx.data.tasks()).filter((t) => t.status === "open" && t.from === code)
        .sort(byLocation);
      if (tasks.length) ctx.navigate(`#/pick/${tasks[0].id}`);
      else ctx.feedback({ status: "info", message: `No open task at ${code}` });
    },
    leave() { window.removeEventListener("lotwise:pulled", onPulled); },
  };
}
