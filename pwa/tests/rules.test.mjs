// The PWA's local verdicts: every reason code classify, resolveLot and judge* can give, exact decimals,
// expiry on the boundary day in several time zones. (tests/test_pwa_rules.py checks them against the Python.)
import { describe, test } from "node:test";
import assert from "node:assert/strict";

import { interpret } from "../static/gs1.js";
import {
  addDays, classify, compareQty, formatQty, isExpired, judgeCount, judgeMove, judgePick, judgeReceive, loadData,
  lotView, makeData, parseDecimal, parseQty, resolveLot, siteDay, taskView, toMicros,
} from "../static/rules.js";

const FLOUR_GTIN = "09506000134352";
const SUGAR_GTIN = "00000096385074";
const SITE = { timezone: "Europe/Berlin", gs_substitute: "|", currency: "EUR" };
const ITEMS = [
  { id: 1, sku: "FLOUR", name: "Flour", gtin: FLOUR_GTIN, uom: "KGM", pick_policy: "fefo", shelf_life_days: 365 },
  { id: 2, sku: "EGGS", name: "Eggs", gtin: null, uom: "EA", pick_policy: "fifo", shelf_life_days: 21 },
  { id: 3, sku: "SUGAR", name: "Sugar", gtin: SUGAR_GTIN, uom: "EA", pick_policy: "fefo", shelf_life_days: null },
];
const lot = (id, item, code, expires_on, received_at, stock, status = "available") =>
  ({ id, item, code, status, expires_on, received_at, stock });
const LOTS = [
  lot(10, 1, "LOT-A42", "2026-03-01", "2026-01-10T08:00:00+00:00", { "A-01-03": "12.5", "STAGE-1": "1" }),
  lot(11, 1, "LOT-B7", "2026-03-09", "2026-01-11T08:00:00+00:00", { "A-01-03": "4", "B-02-01": "3" }),
  lot(12, 1, "LOT-C1", "2026-02-25", "2026-01-12T08:00:00+00:00", { "A-01-03": "2" }),
  lot(13, 1, "LOT-Q", "2026-04-01", "2026-01-13T08:00:00+00:00", { "A-01-03": "9" }, "quarantine"),
  lot(14, 1, "LOT-R", "2026-04-01", "2026-01-14T08:00:00+00:00", { "A-01-03": "9" }, "recalled"),
  lot(15, 1, "LOT-N", null, "2026-01-15T08:00:00+00:00", { "A-01-03": "9" }),
  lot(20, 2, "E1", null, "2026-01-05T08:00:00.000001+00:00", { "A-01-03": "30" }),
  lot(21, 2, "E2", null, "2026-01-05T09:00:00.000002+01:00", { "A-01-03": "30" }), // 1 µs after E1
  lot(22, 2, "E0", null, "2026-01-01T08:00:00+00:00", { "A-01-03": "30" }),
  lot(30, 3, "LOT-A42", null, "2026-01-01T08:00:00+00:00", { "B-02-01": "7" }),
];
const LOCATIONS = ["A-01-03", "B-02-01", "STAGE-1", "Q-1", "RCV"].map((code, i) => ({ id: i + 1, code, name: code,
  kind: code === "STAGE-1" ? "staging" : code === "Q-1" ? "quarantine" : code === "RCV" ? "receiving" : "storage" }));
const task = (id, item, lotId, lotCode, qty, status = "open") =>
  ({ id, pick_list: "PL-1", status, item, lot: lotId, lot_code: lotCode, from: "A-01-03", to: "STAGE-1", qty });
const TASKS = [task(100, 1, 10, "LOT-A42", "5"), task(101, 2, 20, "E1", "6"),
  task(102, 1, 10, "LOT-A42", "1", "picked")];
const data = makeData({ items: ITEMS, lots: LOTS, locations: LOCATIONS, tasks: TASKS });
const AT = "2026-02-20T10:00:00+01:00";
const label = (gtin, code, expiry = "") => `]d201${gtin}${expiry ? `17${expiry}` : ""}10${code}`;
const pick = (args) => judgePick({ task: 100, location: "A-01-03", qty: "1", at: AT, site: SITE, data, ...args });
const verdictOf = ({ status, reason }) => ({ status, reason });

describe("exact quantities", () => {
  test("0.1 + 0.2 is exactly 0.3", () => {
    assert.equal(parseQty("0.1") + parseQty("0.2"), parseQty("0.3"));
    assert.equal(formatQty(parseQty("0.1") + parseQty("0.2")), "0.3");
    assert.equal(compareQty("0.1", "0.10"), 0);
    assert.equal(compareQty(parseQty("0.1") + parseQty("0.2"), "0.3"), 0);
    assert.equal(compareQty("0.300001", "0.3"), 1);
  });
  test("parse: at most 6 decimals, exponents, Python's whitespace, sign", () => {
    assert.equal(parseQty("5"), 5000000n);
    assert.equal(parseQty("0.000001"), 1n);
    assert.equal(parseQty("0.0000001"), null);
    assert.equal(parseQty("1.0000000"), 1000000n); // trailing zeros beyond 6 places are still exact
    assert.equal(parseQty("1.5e3"), 1500000000n);
    assert.equal(parseQty("2.50E-3"), 2500n);
    assert.equal(parseQty(" 5\u00a0"), 5000000n);
    assert.equal(parseQty("0"), 0n);
    assert.equal(parseQty("-1"), null);
    assert.equal(parseDecimal("-1"), -1000000n);
    assert.equal(parseQty("1e13"), null);
    assert.equal(parseQty("9999999999999.999999"), 9999999999999999999n);
    assert.equal(parseQty("abc"), null);
    assert.equal(parseQty(""), null);
    assert.equal(parseQty(null), null);
    assert.equal(parseQty(0.1), 100000n);
    assert.equal(parseQty(7n), 7n);
    assert.throws(() => toMicros("x"), TypeError);
  });
  test("format like Python's format(qty.normalize(), 'f')", () => {
    assert.equal(formatQty(1200000000n), "1200");
    assert.equal(formatQty(250000n), "0.25");
    assert.equal(formatQty(0n), "0");
    assert.equal(formatQty(-1500000n), "-1.5");
    assert.equal(formatQty("1E+1"), "10");
    assert.equal(formatQty(1n), "0.000001");
  });
});

describe("the site's day and expiry", () => {
  const cases = [
    ["UTC", "2026-03-01T23:30:00Z", "2026-03-02T00:30:00Z"],
    ["Europe/Berlin", "2026-03-01T22:30:00Z", "2026-03-01T23:30:00Z"],
    ["America/New_York", "2026-03-02T04:30:00Z", "2026-03-02T05:30:00Z"],
    ["Asia/Kolkata", "2026-03-01T18:00:00Z", "2026-03-01T19:00:00Z"],
    ["Pacific/Auckland", "2026-03-01T10:30:00Z", "2026-03-01T11:30:00Z"],
    ["America/St_Johns", "2026-03-02T03:00:00Z", "2026-03-02T04:00:00Z"],
  ];
  for (const [timezone, lastHalfHour, nextDay] of cases) {
    test(`${timezone}: 23:30 local on the expiry day is fine, 00:30 the next day is expired`, () => {
      assert.equal(siteDay(lastHalfHour, timezone), "2026-03-01");
      assert.equal(siteDay(nextDay, timezone), "2026-03-02");
      assert.equal(isExpired("2026-03-01", lastHalfHour, timezone), false);
      assert.equal(isExpired("2026-03-01", nextDay, timezone), true);
      const site = { ...SITE, timezone };
      const ok = judgePick({ task: 100, scan: label(FLOUR_GTIN, "LOT-A42"), qty: "5", at: lastHalfHour, site, data });
      assert.deepEqual(verdictOf(ok), { status: "applied", reason: null });
      const late = judgePick({ task: 100, scan: label(FLOUR_GTIN, "LOT-A42"), qty: "5", at: nextDay, site, data });
      assert.deepEqual(verdictOf(late), { status: "rejected", reason: "lot_expired" });
      assert.equal(late.message, "Lot LOT-A42 expired on 2026-03-01: do not pick");
    });
  }
  test("an offset in the instant counts, not the device's zone", () => {
    assert.equal(siteDay("2026-03-01T23:30:00+01:00", "Europe/Berlin"), "2026-03-01");
    assert.equal(siteDay("2026-03-01T23:30:00+01:00", "UTC"), "2026-03-01");
    assert.equal(siteDay("2026-03-02T00:30:00+01:00", "UTC"), "2026-03-01");
    assert.equal(siteDay(new Date("2026-03-29T00:30:00Z"), "Europe/Berlin"), "2026-03-29"); // DST starts that night
    assert.equal(siteDay("2026-03-01T23:59:59.999999+01:00", "Europe/Berlin"), "2026-03-01");
    assert.throws(() => siteDay("2026-03-01T10:00:00", "UTC"), RangeError); // no offset
    assert.equal(addDays("2028-02-28", 1), "2028-02-29");
    assert.equal(isExpired(null, AT, "UTC"), false);
  });
});

describe("classify (picking.classify)", () => {
  const view = taskView(TASKS[0], data);
  const byId = (id) => lotView(LOTS.find((row) => row.id === id));
  const day = "2026-02-20";
  const check = (taskRow, lotId, location, qty, onHand, today, status, reason, message) => {
    const verdict = classify(taskRow, byId(lotId), location, qty, onHand, today);
    assert.deepEqual(verdict, { status, reason, message });
  };
  test("the task view carries the expected lot's expiry and arrival", () => {
    assert.deepEqual(view, { status: "open", item_id: 1, item_sku: "FLOUR", uom: "KGM", policy: "fefo", lot_id: 10,
      lot_code: "LOT-A42", lot_expires_on: "2026-03-01", lot_received_at: "2026-01-10T08:00:00+00:00",
      from_location: "A-01-03", qty: "5" });
  });
  test("applied, exact at the boundaries", () => {
    check(view, 10, "A-01-03", "5", "5", day, "applied", null, "Picked 5 KGM of LOT-A42");
    check({ ...view, qty: "0.3" }, 10, "A-01-03", parseQty("0.1") + parseQty("0.2"), "0.3", day, "applied", null,
      "Picked 0.3 KGM of LOT-A42");
    check(view, 10, "A-01-03", "5", "5", "2026-03-01", "applied", null, "Picked 5 KGM of LOT-A42");
  });
  test("rejections, in the server's order", () => {
    check({ ...view, status: "picked" }, 14, "B-02-01", "99", "0", "2030-01-01", "rejected", "task_closed",
      "Task already picked");
    check(view, 30, "A-01-03", "1", "5", day, "rejected", "wrong_item",
      "Wrong item: this task needs FLOUR, lot LOT-A42");
    check(view, 14, "A-01-03", "1", "5", day, "rejected", "lot_recalled",
      "Lot LOT-R is RECALLED: do not use, set it aside");
    check(view, 13, "A-01-03", "1", "5", day, "rejected", "lot_on_hold",
      "Lot LOT-Q is on hold (quarantine): do not pick");
    check(view, 10, "A-01-03", "1", "5", "2026-03-02", "rejected", "lot_expired",
      "Lot LOT-A42 expired on 2026-03-01: do not pick");
    check(view, 10, "A-01-03", "5.000001", "50", day, "rejected", "over_pick", "Too many: pick at most 5 KGM");
    check(view, 10, "B-02-01", "4.5", "4.499999", day, "rejected", "insufficient_stock",
      "Only 4.499999 KGM of lot LOT-A42 at B-02-01");
  });
  test("FEFO: a lot expiring later is a fefo_violation, earlier or the same day a substitute", () => {
    check(view, 11, "A-01-03", "1", "4", day, "flagged", "fefo_violation",
      "Wrong lot: expected LOT-A42 in A-01-03 (LOT-B7 expires later); supervisor decides");
    check(view, 15, "A-01-03", "1", "4", day, "flagged", "fefo_violation",
      "Wrong lot: expected LOT-A42 in A-01-03 (LOT-N expires later); supervisor decides"); // no expiry: last
    check(view, 12, "A-01-03", "1", "4", day, "flagged", "substitute_lot",
      "Other lot: expected LOT-A42 in A-01-03; LOT-C1 taken as a substitute, supervisor decides");
    check({ ...view, lot_expires_on: "2026-03-09" }, 11, "A-01-03", "1", "4", day, "flagged", "substitute_lot",
      "Other lot: expected LOT-A42 in A-01-03; LOT-B7 taken as a substitute, supervisor decides");
    check({ ...view, lot_expires_on: null }, 11, "A-01-03", "1", "4", day, "flagged", "substitute_lot",
      "Other lot: expected LOT-A42 in A-01-03; LOT-B7 taken as a substitute, supervisor decides");
  });
  test("FIFO: a lot that arrived later (by a microsecond) is a fefo_violation, earlier or at once a substitute", () => {
    const eggs = taskView(TASKS[1], data);
    assert.equal(eggs.policy, "fifo");
    check(eggs, 21, "A-01-03", "1", "30", day, "flagged", "fefo_violation",
      "Wrong lot: expected E1 in A-01-03 (E2 arrived later); supervisor decides");
    check(eggs, 22, "A-01-03", "1", "30", day, "flagged", "substitute_lot",
      "Other lot: expected E1 in A-01-03; E0 taken as a substitute, supervisor decides");
    check({ ...eggs, lot_received_at: "2026-01-05T09:00:00.000002+01:00" }, 21, "A-01-03", "1", "30", day, "flagged",
      "substitute_lot", "Other lot: expected E1 in A-01-03; E2 taken as a substitute, supervisor decides");
  });
  test("the right lot elsewhere is a wrong_location", () => {
    check(view, 10, "B-02-01", "1", "4", day, "flagged", "wrong_location",
      "Wrong location: LOT-A42 was expected in A-01-03, not B-02-01; supervisor decides");
  });
});

describe("resolveLot (scans.resolve_lot)", () => {
  const resolve = (raw) => resolveLot(interpret(raw), data);
  test("by GTIN or SKU and lot, or by an unambiguous bare code", () => {
    assert.equal(resolve(label(FLOUR_GTIN, "LOT-B7")).lot.id, 11);
    assert.equal(resolve(label(FLOUR_GTIN, "LOT-A42", "260301")).lot.id, 10);
    assert.equal(resolve(`]d201${SUGAR_GTIN}10LOT-A42`).lot.id, 30);
    assert.equal(resolve("240EGGS|10E2").lot.id, 21);
    assert.equal(resolve("LOT-B7").lot.id, 11);
    assert.equal(resolve("(10)LOT-C1").lot.id, 12);
  });
  test("every refusal with the server's words", () => {
    assert.deepEqual(resolve(`]d201${FLOUR_GTIN}`), { lot: null, reason: "unknown_lot",
      message: "The scan names no lot (AI 10)", errors: { scan: ["No lot"] } });
    assert.deepEqual(resolve("]d20100000000000000" + "10L1"), { lot: null, reason: "unknown_item",
      message: "No item '00000000000000'" });
    assert.deepEqual(resolve("240NOPE|10L1"), { lot: null, reason: "unknown_item", message: "No item 'NOPE'" });
    assert.deepEqual(resolve(label(FLOUR_GTIN, "E1")), { lot: null, reason: "unknown_lot", message: "No lot 'E1'" });
    assert.deepEqual(resolve(label(FLOUR_GTIN, "LOT-A42", "260302")), { lot: null, reason: "scan_mismatch",
      message: "Label expiry 2026-03-02 differs from lot LOT-A42's 2026-03-01" });
    assert.deepEqual(resolve("LOT-A42"), { lot: null, reason: "ambiguous_lot",
      message: "Lot code LOT-A42 exists for several items: scan the full label" });
    assert.deepEqual(resolve("L'9"), { lot: null, reason: "unknown_lot", message: `No lot "L'9"` });
    assert.deepEqual(resolve("]C100006141411234567890"), { lot: null, reason: "unknown_lot",
      message: "The scan names no lot (AI 10)", errors: { scan: ["No lot"] } });
    assert.equal(resolve("]d2LOT").reason, "bad_barcode");
  });
});

describe("judgePick", () => {
  test("applied, flagged and what the worker sees", () => {
    const ok = pick({ scan: label(FLOUR_GTIN, "LOT-A42"), qty: "2.5" });
    assert.deepEqual(verdictOf(ok), { status: "applied", reason: null });
    assert.equal(ok.message, "Picked 2.5 KGM of LOT-A42");
    assert.equal(ok.lot.id, 10);
    assert.equal(ok.scan.lot, "LOT-A42");
    assert.equal(pick({ scan: "LOT-B7" }).reason, "fefo_violation");
    assert.equal(pick({ scan: "LOT-C1" }).reason, "substitute_lot");
    assert.equal(pick({ scan: "LOT-C1", location: undefined }).reason, "substitute_lot"); // default: task's from
    assert.equal(pick({ scan: label(FLOUR_GTIN, "LOT-B7"), location: "B-02-01" }).reason, "fefo_violation");
    assert.equal(pick({ scan: label(FLOUR_GTIN, "LOT-A42"), task: TASKS[0] }).status, "applied"); // a task row
    assert.equal(pick({ scan: interpret(label(FLOUR_GTIN, "LOT-A42")) }).status, "applied"); // a parsed scan
  });
  test("every refusal", () => {
    const cases = [
      [{ qty: undefined }, "invalid", "The mutation is malformed"],
      [{ location: null, scan: "LOT-A42" }, "invalid", "The mutation is malformed"],
      [{ at: "2026-02-20T10:00:00", scan: "LOT-A42" }, "invalid", "The mutation is malformed"],
      [{ at: "1999-12-31T10:00:00Z", scan: "LOT-A42" }, "invalid", "The mutation is malformed"],
      [{ qty: "0.0000001", scan: "LOT-A42" }, "invalid", "The mutation is malformed"],
      [{ task: 999, scan: "LOT-A42" }, "unknown_task", "No task 999"],
      [{ qty: "0", scan: "LOT-A42" }, "invalid", "qty must be greater than 0"],
      [{ task: 101, qty: "1.5", scan: "E1" }, "invalid", "EA is counted in whole units"],
      [{ scan: "]d2010950600013435310L1" }, "bad_barcode", null],
      [{ scan: "NOPE" }, "unknown_lot", "No lot 'NOPE'"],
      [{ scan: "LOT-A42" }, "ambiguous_lot", "Lot code LOT-A42 exists for several items: scan the full label"],
      [{ scan: label(FLOUR_GTIN, "LOT-A42", "260305") }, "scan_mismatch",
        "Label expiry 2026-03-05 differs from lot LOT-A42's 2026-03-01"],
      [{ scan: label(FLOUR_GTIN, "LOT-A42"), location: "Z-9" }, "unknown_location", "No location 'Z-9'"],
      [{ scan: label(FLOUR_GTIN, "LOT-A42"), location: "STAGE-1" }, "invalid",
        "STAGE-1 is where this task delivers to, not a place to pick from"],
      [{ task: 102, scan: label(FLOUR_GTIN, "LOT-A42") }, "task_closed", "Task already picked"],
      [{ scan: `]d201${SUGAR_GTIN}10LOT-A42` }, "wrong_item", "Wrong item: this task needs FLOUR, lot LOT-A42"],
      [{ scan: "LOT-R" }, "lot_recalled", "Lot LOT-R is RECALLED: do not use, set it aside"],
      [{ scan: "LOT-Q" }, "lot_on_hold", "Lot LOT-Q is on hold (quarantine): do not pick"],
      [{ scan: "LOT-C1", at: "2026-02-26T00:30:00+01:00" }, "lot_expired",
        "Lot LOT-C1 expired on 2026-02-25: do not pick"],
      [{ scan: label(FLOUR_GTIN, "LOT-A42"), qty: "5.000001" }, "over_pick", "Too many: pick at most 5 KGM"],
      [{ scan: "LOT-B7", location: "B-02-01", qty: "3.000001" }, "insufficient_stock",
        "Only 3 KGM of lot LOT-B7 at B-02-01"],
    ];
    for (const [args, reason, message] of cases) {
      const verdict = pick(args);
      assert.equal(verdict.status, "rejected", JSON.stringify(args));
      assert.equal(verdict.reason, reason, JSON.stringify(args));
      if (message) assert.equal(verdict.message, message);
      else assert.ok(verdict.message);
    }
    assert.deepEqual(pick({ qty: undefined }).errors, { scan: ["Missing data for required field."],
      qty: ["Missing data for required field."] });
    assert.deepEqual(pick({ qty: "0.0000001", scan: "X" }).errors, { qty: ["At most 6 decimal places."] });
  });
  test("the site's substitute reads the wedge scanner's labels", () => {
    assert.equal(judgePick({ task: 101, scan: "240EGGS^10E1", qty: "1", at: AT, data,
      site: { ...SITE, gs_substitute: "^" } }).status, "applied");
    assert.equal(judgePick({ task: 101, scan: "240EGGS^10E1", qty: "1", at: AT, data, site: SITE }).reason,
      "unknown_lot");
  });
});

describe("judgeMove", () => {
  const move = (args) => judgeMove({ from: "A-01-03", to: "B-02-01", qty: "1", at: AT, site: SITE, data, ...args });
  test("applied for any status (moves of held, recalled and expired lots are allowed)", () => {
    for (const scan of ["LOT-B7", "LOT-Q", "LOT-R", "LOT-C1"]) {
      const verdict = move({ scan, at: "2026-06-01T10:00:00Z" });
      assert.equal(verdict.status, "applied", scan);
      assert.equal(verdict.message, `Moved lot ${scan}`);
    }
    assert.equal(move({ lot: 11 }).lot.code, "LOT-B7");
    assert.equal(move({ lot: "LOT-B7" }).lot.id, 11);
    assert.equal(move({ scan: "LOT-B7", lot: 11 }).status, "applied");
    assert.equal(move({ scan: "LOT-B7", lot: "LOT-B7" }).status, "applied");
    assert.equal(move({ scan: "LOT-B7", qty: "4" }).status, "applied");
    assert.equal(move({ lot: 10, qty: "7.5" }).status, "applied"); // 12.5 on hand, 5 held by task 100
  });
  test("every refusal", () => {
    const cases = [
      [{ scan: "LOT-B7", to: undefined }, "invalid", "The mutation is malformed"],
      [{ lot: 0 }, "invalid", "The mutation is malformed"],
      [{ lot: 999 }, "unknown_lot", "No lot 999"],
      [{}, "invalid", "Give a scan or a lot"],
      [{ scan: "]E09506000134353" }, "bad_barcode", null],
      [{ scan: "LOT-B7", lot: 10 }, "scan_mismatch", "The scan names lot LOT-B7, the mutation 10"],
      [{ scan: "LOT-B7", lot: "LOT-A42" }, "scan_mismatch", "The scan names lot LOT-B7, the mutation 'LOT-A42'"],
      [{ lot: "LOT-A42" }, "ambiguous_lot", "Lot code LOT-A42 exists for several items: scan the full label"],
      [{ lot: "NOPE" }, "unknown_lot", "No lot 'NOPE'"],
      [{ scan: "E1", qty: "0.5" }, "invalid", "EA is counted in whole units"],
      [{ scan: "LOT-B7", qty: "-1" }, "invalid", "qty must be greater than 0"],
      [{ scan: "LOT-B7", from: "Z-9" }, "unknown_location", "No location 'Z-9'"],
      [{ scan: "LOT-B7", to: "Z-8" }, "unknown_location", "No location 'Z-8'"],
      [{ scan: "LOT-B7", to: "A-01-03" }, "invalid", "From and to are the same location"],
      [{ scan: "LOT-B7", qty: "4.000001" }, "insufficient_stock", "Only 4 KGM of lot LOT-B7 free at A-01-03"],
      [{ scan: "LOT-B7", from: "STAGE-1", to: "A-01-03" }, "insufficient_stock",
        "Only 0 KGM of lot LOT-B7 free at STAGE-1"],
      [{ lot: 10, qty: "7.500001" }, "insufficient_stock", "Only 7.5 KGM of lot LOT-A42 free at A-01-03"], // 5 held
      [{ lot: 20, qty: "25" }, "insufficient_stock", "Only 24 EA of lot E1 free at A-01-03"], // task 101 holds 6
    ];
    for (const [args, reason, message] of cases) {
      const verdict = move(args);
      assert.deepEqual(verdictOf(verdict), { status: "rejected", reason }, JSON.stringify(args));
      if (message) assert.equal(verdict.message, message);
    }
  });
});

describe("judgeCount", () => {
  const count = (args) => judgeCount({ location: "A-01-03", qty: "3", at: AT, site: SITE, data, ...args });
  test("applied, zero too, for any status", () => {
    assert.deepEqual(verdictOf(count({ scan: "LOT-R", qty: "0" })), { status: "applied", reason: null });
    assert.equal(count({ lot: 20, qty: "31" }).message, "Counted lot E1");
    assert.equal(count({ scan: label(FLOUR_GTIN, "LOT-B7"), location: "STAGE-1" }).status, "applied");
  });
  test("every refusal", () => {
    const cases = [
      [{ scan: "LOT-B7", qty: "x" }, "invalid", "The mutation is malformed"],
      [{ scan: "LOT-B7", location: undefined }, "invalid", "The mutation is malformed"],
      [{ scan: "LOT-B7", qty: "-1" }, "invalid", "A count cannot be negative"],
      [{ scan: "E1", qty: "1.5" }, "invalid", "EA is counted in whole units"],
      [{ scan: "LOT-B7", qty: "1000000000000.000001" }, "invalid", "counted must be greater than 0"],
      [{ scan: "LOT-B7", location: "Z-9" }, "unknown_location", "No location 'Z-9'"],
      [{ scan: "NOPE" }, "unknown_lot", "No lot 'NOPE'"],
      [{ lot: 999 }, "unknown_lot", "No lot 999"],
      [{}, "invalid", "Give a scan or a lot"],
    ];
    for (const [args, reason, message] of cases) {
      const verdict = count(args);
      assert.deepEqual(verdictOf(verdict), { status: "rejected", reason }, JSON.stringify(args));
      assert.equal(verdict.message, message);
    }
    assert.deepEqual(count({ scan: "LOT-B7", qty: "-1" }).errors, { counted: ["Must be >= 0"] });
  });
});

describe("judgeReceive", () => {
  const receive = (args) => judgeReceive({ location: "RCV", qty: "10", at: AT, site: SITE, data, ...args });
  test("applied: a supplier's label, explicit args, an existing lot, a lot code to come", () => {
    const fromLabel = receive({ scan: label(FLOUR_GTIN, "NEW-1", "270101") });
    assert.deepEqual(verdictOf(fromLabel), { status: "applied", reason: null });
    assert.equal(fromLabel.message, "Received 10 of lot NEW-1");
    assert.equal(fromLabel.lot, null);
    assert.equal(receive({ scan: label(FLOUR_GTIN, "LOT-B7"), qty: "2.50" }).message, "Received 2.5 of lot LOT-B7");
    assert.equal(receive({ scan: label(FLOUR_GTIN, "LOT-B7") }).lot.id, 11);
    assert.equal(receive({ item: "EGGS", lot: "E9" }).status, "applied");
    assert.equal(receive({ item: "EGGS" }).message, "Received 10 of a new lot (its code comes with the sync)");
    assert.equal(receive({ scan: label(FLOUR_GTIN, "NEW-2"), item: "FLOUR", lot: "NEW-2", expires_on: "2027-01-01" })
      .status, "applied");
    assert.equal(receive({ item: "FLOUR", lot: "LOT-B7", expires_on: "2026-03-09" }).status, "applied");
    assert.equal(receive({ scan: "(240)EGGS(10)E7" }).status, "applied");
  });
  test("every refusal", () => {
    const cases = [
      [{ item: "EGGS", location: undefined }, "invalid", "The mutation is malformed"],
      [{ item: "EGGS", expires_on: "2026-02-30" }, "invalid", "The mutation is malformed"],
      [{ item: "EGGS", lot: "L".repeat(21) }, "invalid", "The mutation is malformed"],
      [{ scan: "]d2010950600013435317261231" }, "bad_barcode", null],
      [{ scan: "LOT-B7" }, "bad_barcode", "A receipt needs the supplier's GS1 label"],
      [{ scan: `]d201${"00000000000000"}10L1` }, "unknown_item", "No item 00000000000000"],
      [{ scan: "]C100006141411234567890" }, "unknown_item", "The label names no item (no GTIN or SKU): scan the item's label"],
      [{ scan: label(FLOUR_GTIN, "N1"), item: "EGGS" }, "scan_mismatch", "The arguments contradict the scanned label"],
      [{ scan: label(FLOUR_GTIN, "N1"), lot: "N2" }, "scan_mismatch", "The arguments contradict the scanned label"],
      [{ scan: label(FLOUR_GTIN, "N1", "270101"), expires_on: "2027-01-02" }, "scan_mismatch",
        "The arguments contradict the scanned label"],
      [{}, "invalid", "Give a scan or an item"],
      [{ item: "NOPE" }, "unknown_item", "No item 'NOPE'"],
      [{ item: "EGGS", qty: "2.5" }, "invalid", "EA is counted in whole units"],
      [{ item: "EGGS", qty: "0" }, "invalid", "qty must be greater than 0"],
      [{ item: "EGGS", location: "Z-9" }, "unknown_location", "No location 'Z-9'"],
      [{ item: "EGGS", lot: "E#1" }, "invalid",
        "A lot code is 1-20 characters from the GS1 AI(10) set (letters, digits, !\"%&'()*+,-./:;<=>?_)"],
      [{ item: "FLOUR", lot: "LOT-B7", expires_on: "2026-03-10" }, "lot_conflict",
        "Lot LOT-B7 exists with expiry 2026-03-09"],
      [{ scan: label(FLOUR_GTIN, "OLD", "260219") }, "lot_expired", "Lot expired on 2026-02-19; it cannot be received"],
      [{ item: "FLOUR", lot: "LOT-C1", at: "2026-02-26T00:00:00+01:00" }, "lot_expired",
        "Lot expired on 2026-02-25; it cannot be received"],
    ];
    for (const [args, reason, message] of cases) {
      const verdict = receive(args);
      assert.deepEqual(verdictOf(verdict), { status: "rejected", reason }, JSON.stringify(args));
      if (message) assert.equal(verdict.message, message);
    }
    // the label's expiry day itself is still fine (site day of `at` in Berlin is 2026-02-20)
    assert.equal(receive({ scan: label(FLOUR_GTIN, "OLD", "260220") }).status, "applied");
  });
});

describe("data lookups", () => {
  test("makeData indexes pulled rows", () => {
    assert.equal(data.itemByGtin(FLOUR_GTIN).sku, "FLOUR");
    assert.equal(data.itemBySku("EGGS").id, 2);
    assert.equal(data.item("3").sku, "SUGAR");
    assert.deepEqual(data.lotsByCode("LOT-A42").map((row) => row.id), [10, 30]);
    assert.deepEqual(data.lotsByCode("none"), []);
    assert.equal(data.location("Q-1").kind, "quarantine");
    assert.equal(data.task(101).lot_code, "E1");
    assert.equal(data.lot(999), null);
  });
  test("loadData fetches what a judgement needs from async lookups", async () => {
    const source = Object.fromEntries(Object.entries(data).map(([name, fn]) => [name, async (...args) => fn(...args)]));
    const fetched = await loadData(source, { scan: "LOT-B7", task: 100, locations: ["A-01-03", "Z-9"] });
    const verdict = judgePick({ task: 100, scan: "LOT-B7", location: "A-01-03", qty: "1", at: AT, site: SITE,
      data: fetched });
    assert.deepEqual(verdictOf(verdict), { status: "flagged", reason: "fefo_violation" });
    const label7 = await loadData(source, { scan: label(FLOUR_GTIN, "LOT-B7"), lot: "LOT-B7", item: "FLOUR" });
    assert.equal(label7.itemByGtin(FLOUR_GTIN).id, 1);
    assert.equal(label7.lot(11).code, "LOT-B7");
    assert.equal(label7.location("A-01-03"), null);
  });
});
