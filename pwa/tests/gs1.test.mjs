// The PWA's scan interpreter against every shared vector (tests/vectors/scans.json), one subtest each.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

import { GS, checkDigit, checkDigitOk, interpret, isGtin, lotOf, pyRepr } from "../static/gs1.js";

const VECTORS = JSON.parse(readFileSync(new URL("../../tests/vectors/scans.json", import.meta.url), "utf-8"));

/** A vector's input: scan, then repeat.text repeated repeat.times. */
function scanOf(vector) {
  const repeat = vector.repeat ?? { text: "", times: 0 };
  return vector.scan + repeat.text.repeat(repeat.times);
}

/** What a vector expects, every field of the file's list present (null unless given). */
function expected(vector) {
  const unknown = Object.keys(vector.expect).filter((name) => !VECTORS.fields.includes(name));
  assert.deepEqual(unknown, [], `fields ${unknown} are not in the file's field list`);
  return Object.fromEntries(VECTORS.fields.map((name) => [name, vector.expect[name] ?? null]));
}

/** The interpretation in the vectors' terms. */
function observed(result) {
  return Object.fromEntries(VECTORS.fields.map((name) => [name, result[name]]));
}

function sameDecimal(a, b) {
  if (a === null || b === null) return a === b;
  const norm = (s) => {
    const [whole, fraction = ""] = s.split(".");
    return `${whole.replace(/^0+(?=.)/, "")}.${fraction.replace(/0+$/, "")}`;
  };
  return norm(a) === norm(b);
}

test("the vectors file has vectors", () => {
  assert.ok(VECTORS.vectors.length >= 40);
});

test("shared vectors", async (t) => {
  for (const vector of VECTORS.vectors) {
    await t.test(vector.name, () => {
      const substitute = vector.substitute ?? VECTORS.substitute;
      const raw = scanOf(vector);
      const result = interpret(raw, { substitute });
      const want = expected(vector);
      const got = observed(result);
      assert.ok(sameDecimal(got.net_kg, want.net_kg), `net_kg ${got.net_kg} != ${want.net_kg}`);
      got.net_kg = want.net_kg;
      assert.deepEqual(got, want);
      assert.equal(result.raw, raw);
      if (result.kind === "invalid") {
        assert.equal(typeof result.message, "string");
        assert.ok(result.message.length > 0);
      } else {
        assert.equal(result.message, null);
      }
    });
  }
});

test("symbology identifier is reported and raw kept", () => {
  const result = interpret("]d20109506000134352\x1d10L1\r\n");
  assert.equal(result.symbology, "]d2");
  assert.equal(result.raw, "]d20109506000134352\x1d10L1\r\n");
  assert.equal(result.lot, "L1");
  assert.equal(interpret("A-01-03").symbology, null);
});

test("no substitute configured: only GS separates", () => {
  assert.equal(interpret("240EGGS|10E1", { substitute: "" }).kind, "text");
  assert.equal(interpret("240EGGS|10E1", { substitute: null }).kind, "text");
  assert.equal(interpret(`240EGGS${GS}10E1`, { substitute: "" }).lot, "E1");
});

test("hostile input is refused quickly (linear time)", () => {
  const started = performance.now();
  for (const raw of ["A".repeat(1_000_000), `]d2010950600013435210${"L".repeat(500)}`, "(".repeat(512),
    `https://x/${"/01".repeat(170)}`, `${"10A|".repeat(127)}10B`, "(01)".repeat(128), "%".repeat(512)]) {
    assert.equal(interpret(raw).kind, "invalid", raw.slice(0, 30));
  }
  assert.ok(performance.now() - started < 500);
});

test("check digits", () => {
  assert.equal(checkDigit("950600013435"), 2);
  assert.ok(checkDigitOk("09506000134352"));
  assert.ok(!checkDigitOk("09506000134353"));
  assert.ok(checkDigitOk("006141411234567890"));
  assert.ok(!checkDigitOk("12a"));
  assert.ok(isGtin("96385074") && !isGtin("9638507"));
});

test("lotOf names the lot of GS1 and plain scans", () => {
  assert.equal(lotOf(interpret("(01)09506000134352(10)L7")), "L7");
  assert.equal(lotOf(interpret("LOT-A42")), "LOT-A42");
  assert.equal(lotOf(interpret("")), null);
});

test("pyRepr quotes like Python", () => {
  assert.equal(pyRepr("L1"), "'L1'");
  assert.equal(pyRepr("A'B"), `"A'B"`);
  assert.equal(pyRepr(`A'B"`), `'A\\'B"'`);
  assert.equal(pyRepr("a\\b\n\x1d\u00a0é"), "'a\\\\b\\n\\x1d\\xa0é'");
});
