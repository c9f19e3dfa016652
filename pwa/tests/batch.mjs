// Evaluates a JSON batch with the PWA's modules, for tests/test_pwa_rules.py (one process per test).
// stdin:  {"classify": [{task, lot, location, qty, on_hand, today}], "interpret": [{raw, substitute}],
//          "decimal": [text], "siteDay": [{at, timezone}], "repr": [text], "table": true}   (any subset)
// stdout: the same keys, each with one answer per case (in order).
// With --lines: one request a line, {type, args, at, pull} (pull: GET /api/sync/pull's answer), answered at once
// with one line {status, reason, message, errors} from judgePick/judgeMove/judgeCount/judgeReceive, so a test can
// interleave the JS verdict and the server's push.
import { createInterface } from "node:readline";

import { aiTable, interpret, pyRepr } from "../static/gs1.js";
import { classify, judgeCount, judgeMove, judgePick, judgeReceive, makeData, parseDecimal, siteDay }
  from "../static/rules.js";

const JUDGES = { pick: judgePick, move: judgeMove, count: judgeCount, receive: judgeReceive };

if (process.argv.includes("--lines")) {
  for await (const line of createInterface({ input: process.stdin })) {
    const { type, args, at, pull } = JSON.parse(line);
    const verdict = attempt(() => JUDGES[type]({ ...args, at, site: pull.site, data: makeData(pull) }));
    const { status, reason, message, errors = null, thrown } = verdict;
    process.stdout.write(`${JSON.stringify(thrown ? { thrown } : { status, reason, message, errors })}\n`);
  }
  process.exit(0);
}

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const request = JSON.parse(Buffer.concat(chunks).toString("utf-8"));

/** One answer, or the error a case raised (a failure the test reports, not a crash of the batch). */
function attempt(fn) {
  try {
    return fn();
  } catch (error) {
    return { thrown: `${error.name}: ${error.message}` };
  }
}

const answer = {};
if (request.classify) {
  answer.classify = request.classify.map((c) => attempt(() => {
    const { status, reason, message } = classify(c.task, c.lot, c.location, c.qty, c.on_hand, c.today);
    return { status, reason, message };
  }));
}
if (request.interpret) {
  answer.interpret = request.interpret.map((c) => attempt(() => interpret(c.raw, { substitute: c.substitute })));
}
if (request.decimal) {
  answer.decimal = request.decimal.map((text) => attempt(() => {
    const micros = parseDecimal(text);
    return micros === null ? null : String(micros);
  }));
}
if (request.siteDay) answer.siteDay = request.siteDay.map((c) => attempt(() => siteDay(c.at, c.timezone)));
if (request.repr) answer.repr = request.repr.map((text) => attempt(() => pyRepr(text)));
if (request.table) answer.table = aiTable();
process.stdout.write(JSON.stringify(answer));
