/**
 * Lotwise local verdicts: the server's rules, run on the device over its pulled data, so a worker gets an
 * answer (sound, vibration, colour) at once, offline too. The server's verdict at push is the one that counts.
 *
 * Ports, line by line, with the same reason codes and message strings:
 *   classify    <- backend/domain/picking.py classify / _worse
 *   resolveLot  <- backend/domain/scans.py resolve_lot (find_lot)
 *   siteDay     <- backend/domain/lots.py local_date (is_expired: siteDay(at) > expires_on)
 *   judge*      <- sync/engine.py _pick/_move/_count/_receive with the domain functions they call
 *                  (picking.pick, stock.move, stock.count, stock.receive, codes.check_quantity) and the
 *                  wire schemas of sync/schemas.py.
 * tests/test_pwa_rules.py checks classify, the scan interpreter, the exact numbers and siteDay against the Python
 * on generated cases, and judge* against the sync engine itself (a push after each pull).
 *
 * Quantities are exact: BigInt millionths (the server stores scaled integers with 6 decimals), never floats.
 * Dates are "YYYY-MM-DD" strings; instants are ISO 8601 strings with offset (or Date objects).
 *
 * Data is what GET /api/sync/pull delivers (sync/pull.py):
 *   item     {id, sku, name, gtin, uom, pick_policy: "fefo"|"fifo", shelf_life_days}
 *   location {id, code, name, kind}
 *   lot      {id, item, code, status, expires_on, received_at, stock: {locationCode: "decimal"}}
 *   task     {id, pick_list, status, item, lot, lot_code, from, to, qty, ...}
 *   site     {timezone, gs_substitute, currency}
 * The judge* functions look things up through a synchronous `data` object (see makeData and loadData):
 *   item(id) itemByGtin(gtin) itemBySku(sku) lot(id) lotsByCode(code) location(code) task(id) tasks()
 *
 * Where the device knows less than the server, the local verdict is optimistic and the server may still
 * refuse: see the notes on each judge* function.
 */
import { interpret, LOT_CODE_RE, pyRepr } from "./gs1.js";

/** Verdict statuses. */
export const APPLIED = "applied";
export const FLAGGED = "flagged";
export const REJECTED = "rejected";

/** Quantities are BigInt counts of millionths. */
export const SCALE = 1000000n;
/** The largest quantity of one movement (backend/domain/codes.py MAX_QTY), in millionths. */
export const MAX_QTY = 10n ** 12n * SCALE;
/** Units counted in whole numbers (backend/domain/codes.py WHOLE_UNITS). */
export const WHOLE_UNITS = new Set(["EA", "C62", "H87", "PR", "DZN", "XBX", "XCS", "XPK", "XBG", "XPX"]);

const NUMBER = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?$/;
// What Python's str.strip() strips (str.isspace), so " 5 " and "5\u00a0" read as the server reads them.
const PY_SPACE = "\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
  + "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000";
const ISO_INSTANT = new RegExp("^(\\d{4})-(\\d{2})-(\\d{2})[T ](\\d{2}):(\\d{2})(?::(\\d{2})(?:[.,](\\d+))?)?"
  + "(Z|z|[+-]\\d{2}(?::?\\d{2})?)$");
const MALFORMED = "The mutation is malformed";
const MAX_ID = 2n ** 63n - 1n;

// --- exact decimals ----------------------------------------------------------------------------------------

/** Read a number as the wire's ExactNumber does: {value: BigInt millionths} or {error: the schema's message}. */
function readNumber(input) {
  if (typeof input === "bigint") return { value: input };
  if (typeof input !== "string" && typeof input !== "number") return { error: "Not a number." };
  let text = String(input);
  let start = 0, end = text.length;
  while (start < end && PY_SPACE.includes(text[start])) start += 1;
  while (end > start && PY_SPACE.includes(text[end - 1])) end -= 1;
  text = text.slice(start, end);
  if (text.length > 40 || !NUMBER.test(text)) return { error: "Not a number." };
  const negative = text[0] === "-";
  const unsigned = text.replace(/^[+-]/, "");
  const [mantissa, exponent = "0"] = unsigned.split(/[eE]/);
  const [whole, fraction = ""] = mantissa.split(".");
  const digits = BigInt(`${whole}${fraction}` || "0");
  const shift = Number(exponent) - fraction.length; // value = digits * 10^shift
  if (digits !== 0n) {
    const tooLarge = shift >= 0 ? digits * 10n ** BigInt(shift) >= 10n ** 13n : digits >= 10n ** BigInt(13 - shift);
    if (tooLarge) return { error: "Must be less than 10,000,000,000,000 in size." };
  }
  let micros;
  if (shift + 6 >= 0) {
    micros = digits * 10n ** BigInt(shift + 6);
  } else {
    const divisor = 10n ** BigInt(-(shift + 6));
    if (digits % divisor !== 0n) return { error: "At most 6 decimal places." };
    micros = digits / divisor;
  }
  return { value: negative ? -micros : micros };
}

/**
 * An exact decimal ("5", "0.125", "-2", "1.5e3", or a JS number) as BigInt millionths; null when the wire would
 * refuse it (not a number, more than 6 decimal places, 1e13 or more). A BigInt is taken as millionths already.
 */
export function parseDecimal(value) {
  const read = readNumber(value);
  return read.error ? null : read.value;
}

/**
 * A quantity as BigInt millionths: 0n or more; null when it is not an exact number with at most 6 decimal
 * places, or is negative. (Zero parses, as 0n, so stock arithmetic can start from "0"; the judge* functions
 * refuse a zero quantity with the server's reason and message.)
 */
export function parseQty(value) {
  const micros = parseDecimal(value);
  return micros === null || micros < 0n ? null : micros;
}

/** BigInt millionths as people write them, like Python's format(qty.normalize(), "f"): 5, 0.25, 1200. */
export function formatQty(micros) {
  const value = typeof micros === "bigint" ? micros : toMicros(micros);
  const sign = value < 0n ? "-" : "";
  const magnitude = value < 0n ? -value : value;
  const fraction = String(magnitude % SCALE).padStart(6, "0").replace(/0+$/, "");
  return `${sign}${magnitude / SCALE}${fraction ? `.${fraction}` : ""}`;
}

/** -1, 0 or 1 as a < b, a == b, a > b; each a BigInt of millionths or a decimal string. */
export function compareQty(a, b) {
  const x = toMicros(a), y = toMicros(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** A BigInt of millionths from a BigInt (kept) or a decimal string/number; throws TypeError when not exact. */
export function toMicros(value) {
  const micros = parseDecimal(value);
  if (micros === null) throw new TypeError(`Not an exact quantity: ${String(value)}`);
  return micros;
}

// --- time ----------------------------------------------------------------------------------------------------

/** An instant as BigInt microseconds since 1970 (exact, for comparisons); null when it cannot be read. */
export function instantMicros(at) {
  if (at instanceof Date) return Number.isNaN(at.getTime()) ? null : BigInt(at.getTime()) * 1000n;
  if (typeof at === "number") return Number.isFinite(at) ? BigInt(Math.floor(at)) * 1000n : null;
  if (typeof at !== "string") return null;
  const m = ISO_INSTANT.exec(at);
  if (!m) return null;
  const [year, month, day, hour, minute, second = 0] = m.slice(1, 7).map((part) => Number(part ?? 0));
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59
      || second > 59) {
    return null;
  }
  let offset = 0;
  const zone = m[8];
  if (zone !== "Z" && zone !== "z") {
    const digits = zone.replace(":", "");
    const hours = Number(digits.slice(1, 3)), minutes = Number(digits.slice(3, 5) || 0);
    if (hours > 23 || minutes > 59) return null;
    offset = (zone[0] === "-" ? -1 : 1) * (hours * 60 + minutes);
  }
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute - offset, second, 0);
  const micros = BigInt((m[7] ?? "").slice(0, 6).padEnd(6, "0"));
  return BigInt(date.getTime()) * 1000n + micros;
}

function daysInMonth(year, month) {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
}

const DAY_FORMATS = new Map();

/** The site's calendar day ("YYYY-MM-DD") on which the instant `at` falls, in the IANA time zone `timezone`. */
export function siteDay(at, timezone = "UTC") {
  const micros = instantMicros(at);
  if (micros === null) throw new RangeError(`Not an instant with offset: ${String(at)}`);
  const zone = timezone || "UTC";
  let format = DAY_FORMATS.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US-u-ca-gregory-nu-latn", { timeZone: zone, year: "numeric",
      month: "2-digit", day: "2-digit" });
    DAY_FORMATS.set(zone, format);
  }
  const ms = Number(micros >= 0n ? micros / 1000n : -((-micros + 999n) / 1000n)); // floor to the millisecond
  const parts = Object.fromEntries(format.formatToParts(new Date(ms)).map((part) => [part.type, part.value]));
  return `${parts.year.padStart(4, "0")}-${parts.month}-${parts.day}`;
}

/** True when a lot whose expiry day is `expiresOn` is expired at `at` (usable through the end of that site day). */
export function isExpired(expiresOn, at, timezone = "UTC") {
  return expiresOn != null && siteDay(at, timezone) > expiresOn;
}

/** The day `days` after "YYYY-MM-DD". */
export function addDays(day, days) {
  const [year, month, date] = day.split("-").map(Number);
  const moment = new Date(0);
  moment.setUTCFullYear(year, month - 1, date + days);
  return moment.toISOString().slice(0, 10);
}

// --- the picking classifier (backend/domain/picking.py) ----------------------------------------------------

/**
 * @typedef {Object} TaskView  what the classifier needs of a task (picking.TaskView)
 * @property {string} status            "open" | "picked" | "exception" | "confirmed" | "cancelled"
 * @property {number} item_id
 * @property {string} item_sku
 * @property {string} uom
 * @property {string} policy            "fefo" | "fifo"
 * @property {number} lot_id            the expected lot
 * @property {string} lot_code
 * @property {?string} lot_expires_on   "YYYY-MM-DD" or null
 * @property {?string} lot_received_at  ISO instant
 * @property {string} from_location     location code
 * @property {bigint|string} qty
 *
 * @typedef {Object} LotView  what the classifier needs of the scanned lot (picking.LotView)
 * @property {number} id
 * @property {number} item_id
 * @property {string} code
 * @property {string} status            "available" | "quarantine" | "recalled"
 * @property {?string} expires_on
 * @property {?string} received_at
 *
 * @typedef {Object} Verdict
 * @property {"applied"|"flagged"|"rejected"} status
 * @property {?string} reason           null when applied
 * @property {string} message           words for the worker (the server's)
 */

/**
 * Judge a pick of `qty` of `lot` at `location` (a code) against `task` on the site's day `today`: a line-by-line
 * port of picking.classify. qty, onHand and task.qty are BigInt millionths or decimal strings.
 * @returns {Verdict}
 */
export function classify(task, lot, location, qty, onHand, today) {
  const no = (reason, message) => ({ status: REJECTED, reason, message });
  const picked = toMicros(qty), available = toMicros(onHand), wanted = toMicros(task.qty);
  if (task.status !== "open") return no("task_closed", `Task already ${task.status}`);
  if (lot.item_id !== task.item_id) {
    return no("wrong_item", `Wrong item: this task needs ${task.item_sku}, lot ${task.lot_code}`);
  }
  if (lot.status === "recalled") return no("lot_recalled", `Lot ${lot.code} is RECALLED: do not use, set it aside`);
  if (lot.status === "quarantine") return no("lot_on_hold", `Lot ${lot.code} is on hold (quarantine): do not pick`);
  if (lot.expires_on != null && today > lot.expires_on) {
    return no("lot_expired", `Lot ${lot.code} expired on ${lot.expires_on}: do not pick`);
  }
  if (picked > wanted) return no("over_pick", `Too many: pick at most ${formatQty(wanted)} ${task.uom}`);
  if (picked > available) {
    return no("insufficient_stock", `Only ${formatQty(available)} ${task.uom} of lot ${lot.code} at ${location}`);
  }
  if (lot.id !== task.lot_id) {
    if (worse(task, lot)) {
      const why = task.policy === "fefo" ? "expires" : "arrived";
      return { status: FLAGGED, reason: "fefo_violation", message: `Wrong lot: expected ${task.lot_code} in `
        + `${task.from_location} (${lot.code} ${why} later); supervisor decides` };
    }
    return { status: FLAGGED, reason: "substitute_lot", message: `Other lot: expected ${task.lot_code} in `
      + `${task.from_location}; ${lot.code} taken as a substitute, supervisor decides` };
  }
  if (location !== task.from_location) {
    return { status: FLAGGED, reason: "wrong_location", message: `Wrong location: ${task.lot_code} was expected in `
      + `${task.from_location}, not ${location}; supervisor decides` };
  }
  return { status: APPLIED, reason: null, message: `Picked ${formatQty(picked)} ${task.uom} of ${lot.code}` };
}

/**
 * True when the scanned lot should have waited: it expires (FEFO) or arrived (FIFO) later (picking._worse).
 * An arrival time the device does not know counts as not later.
 */
export function worse(task, lot) {
  const expires = lot.expires_on ?? null, expected = task.lot_expires_on ?? null;
  if (task.policy === "fefo") {
    if (expires === expected) return false;
    return expires === null || (expected !== null && expires > expected);
  }
  const arrived = instantMicros(lot.received_at), expectedArrival = instantMicros(task.lot_received_at);
  return arrived !== null && expectedArrival !== null && arrived > expectedArrival;
}

/** The classifier's view of a pulled lot row ({id, item, code, status, expires_on, received_at, stock}). */
export function lotView(lot) {
  return { id: lot.id, item_id: lot.item_id ?? lot.item, code: lot.code, status: lot.status,
    expires_on: lot.expires_on ?? null, received_at: lot.received_at ?? null };
}

/**
 * The classifier's view of a pulled task row, its item and expected lot looked up in `data` (an open task's
 * lot always has stock, so it is pulled; without it the expected expiry and arrival are unknown and a
 * different lot counts as a substitute).
 */
export function taskView(task, data) {
  const item = call(data, "item", task.item);
  const expected = call(data, "lot", task.lot);
  return { status: task.status, item_id: task.item, item_sku: item?.sku ?? task.item_sku ?? "",
    uom: item?.uom ?? task.uom ?? "", policy: item?.pick_policy ?? task.policy ?? "fefo", lot_id: task.lot,
    lot_code: task.lot_code, lot_expires_on: expected ? expected.expires_on ?? null : task.lot_expires_on ?? null,
    lot_received_at: expected ? expected.received_at ?? null : task.lot_received_at ?? null,
    from_location: task.from, qty: task.qty };
}

// --- which lot a scan names (backend/domain/scans.py resolve_lot) ------------------------------------------

function refusal(reason, message, errors) {
  return errors ? { lot: null, reason, message, errors } : { lot: null, reason, message };
}

function call(data, name, ...args) {
  return typeof data?.[name] === "function" ? data[name](...args) ?? null : null;
}

/**
 * The lot a scan names, as resolve_lot finds it: by GTIN or SKU plus lot code, or by a bare lot code when it is
 * unambiguous. `scan` is an interpret() result; `data` gives itemByGtin, itemBySku and lotsByCode (synchronous).
 * @returns {{lot: Object}|{lot: null, reason: string, message: string, errors?: Object}}
 */
export function resolveLot(scan, data) {
  if (!scan || scan.kind === "invalid") {
    const message = scan?.message ?? "Not a scan";
    return refusal("bad_barcode", message, { scan: [message] });
  }
  const gs1 = scan.kind === "gs1";
  if (gs1 && (scan.gtin || scan.sku)) {
    if (scan.lot == null) return refusal("unknown_lot", "The scan names no lot (AI 10)", { scan: ["No lot"] });
    const item = scan.gtin ? call(data, "itemByGtin", scan.gtin) : call(data, "itemBySku", scan.sku);
    if (!item) return refusal("unknown_item", `No item ${pyRepr(scan.gtin || scan.sku)}`);
    const lot = (call(data, "lotsByCode", scan.lot) ?? []).find((row) => (row.item_id ?? row.item) === item.id);
    if (!lot) return refusal("unknown_lot", `No lot ${pyRepr(scan.lot)}`);
    if (scan.expires_on && lot.expires_on && scan.expires_on !== lot.expires_on) {
      return refusal("scan_mismatch",
        `Label expiry ${scan.expires_on} differs from lot ${lot.code}'s ${lot.expires_on}`);
    }
    return { lot };
  }
  const code = gs1 ? scan.lot : scan.text;
  if (code == null) return refusal("unknown_lot", "The scan names no lot (AI 10)", { scan: ["No lot"] });
  const lots = call(data, "lotsByCode", code) ?? [];
  if (!lots.length) return refusal("unknown_lot", `No lot ${pyRepr(code)}`);
  if (lots.length > 1) {
    return refusal("ambiguous_lot", `Lot code ${code} exists for several items: scan the full label`);
  }
  return { lot: lots[0] };
}

// --- the mutations' verdicts (sync/engine.py) --------------------------------------------------------------

/**
 * @typedef {Object} Judgement  a local verdict on one mutation
 * @property {"applied"|"flagged"|"rejected"} status
 * @property {?string} reason    the server's reason code (null when applied)
 * @property {string} message    the server's words
 * @property {?Object} lot       the pulled lot row the mutation is about (null when unknown or a new lot)
 * @property {?Object} scan      the interpret() result of the scan (null without a scan)
 * @property {Object} [errors]   for reason "invalid": field -> messages, as the server gives them
 */

function judgement(status, reason, message, extra = {}) {
  return { status, reason, message, lot: null, scan: null, ...extra };
}

function rejected(reason, message, extra = {}) {
  return judgement(REJECTED, reason, message, extra);
}

/** The wire-schema checks of sync/schemas.py on the args a judge* call gets; field -> messages, or null. */
function schemaErrors(spec, args) {
  const errors = {};
  for (const [name, [kind, required]] of Object.entries(spec)) {
    const message = fieldError(kind, args[name], required);
    if (message) errors[name] = [message];
  }
  return Object.keys(errors).length ? errors : null;
}

function fieldError(kind, value, required) {
  if (value === undefined) return required ? "Missing data for required field." : null;
  if (value === null) return "Field may not be null.";
  if (kind === "id") {
    const ok = Number.isInteger(value) ? value >= 1 && BigInt(value) <= MAX_ID : typeof value === "bigint";
    if (ok) return null;
    return Number.isInteger(value) ? `Must be greater than or equal to 1 and less than or equal to ${MAX_ID}.`
      : "Not a valid integer.";
  }
  if (kind === "qty") return readNumber(value).error ?? null;
  if (kind === "lotref") {
    const ok = (Number.isInteger(value) && value > 0 && BigInt(value) < 2n ** 63n)
      || (typeof value === "string" && value.length > 0 && codePoints(value) <= 20);
    return ok ? null : "A lot id or lot code.";
  }
  if (kind === "bool") return typeof value === "boolean" ? null : "Not a valid boolean.";
  if (typeof value !== "string") return "Not a valid string.";
  if (kind === "date") return isoDate(value) ? null : "Not a valid date.";
  const [min, max] = { scan: [1, 512], code: [1, 40], lot: [1, 20], text: [0, 40] }[kind];
  const length = codePoints(value);
  if (length >= min && length <= max) return null;
  return min ? `Length must be between ${min} and ${max}.` : `Longer than maximum length ${max}.`;
}

function codePoints(text) {
  return Array.from(text).length;
}

/** "YYYY-MM-DD" (or "YYYYMMDD") of a real day, as "YYYY-MM-DD"; else null. */
function isoDate(value) {
  const m = /^(\d{4})-?(\d{2})-?(\d{2})$/.exec(value);
  if (!m || (value.length === 10) !== value.includes("-")) return null;
  const [year, month, day] = m.slice(1).map(Number);
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  return `${m[1]}-${m[2]}-${m[3]}`;
}

/** The `at` of a mutation: an ISO instant with offset from the year 2000 on (FloorTime); now when absent. */
function floorTime(at) {
  const value = at === undefined ? new Date() : at;
  const micros = instantMicros(value);
  if (micros === null) return { error: "Not a valid datetime." };
  if (micros < BigInt(Date.UTC(2000, 0, 1)) * 1000n) {
    return { error: "Must be an ISO 8601 time with offset, from the year 2000 on." };
  }
  return { at: value };
}

/** codes.check_quantity: a refusal of a quantity that is not positive, too large or fractional for a counted unit. */
function quantityRefusal(micros, uom, field = "qty") {
  if (micros <= 0n || micros > MAX_QTY) {
    return rejected("invalid", `${field} must be greater than 0`, { errors: { [field]: ["Must be > 0"] } });
  }
  if (WHOLE_UNITS.has(uom) && micros % SCALE !== 0n) {
    const message = `${uom} is counted in whole units`;
    return rejected("invalid", message, { errors: { [field]: [message] } });
  }
  return null;
}

function substituteOf(site) {
  return site?.gs_substitute ?? "|";
}

/** A scan arg (raw string, or an interpret() result) read with the site's substitute. */
function readScan(scan, site) {
  return typeof scan === "string" ? interpret(scan, { substitute: substituteOf(site) }) : scan;
}

function rawOf(scan) {
  return scan !== null && typeof scan === "object" ? scan.raw : scan;
}

/** The refusal of a scan that names no usable lot (bad barcode, unknown, ambiguous, mismatched). */
function scanRefusal(scan, found = null) {
  if (scan.kind === "invalid") return rejected("bad_barcode", scan.message, { scan, errors: { scan: [scan.message] } });
  return rejected(found.reason, found.message, found.errors ? { scan, errors: found.errors } : { scan });
}

/** engine._lot_of: the lot named by scan and/or lot (id or code); both given must agree. */
function lotOfArgs(scanArg, named, site, data) {
  if (Number.isInteger(named) && !call(data, "lot", named)) {
    return { refusal: rejected("unknown_lot", `No lot ${named}`) };
  }
  if (scanArg) {
    const scan = readScan(scanArg, site);
    if (scan.kind === "invalid") return { refusal: scanRefusal(scan), scan };
    const found = resolveLot(scan, data);
    if (!found.lot) return { refusal: scanRefusal(scan, found), scan };
    if (named != null && named !== found.lot.id && named !== found.lot.code) {
      const message = `The scan names lot ${found.lot.code}, the mutation ${pyRepr(named)}`;
      return { refusal: rejected("scan_mismatch", message, { scan, lot: found.lot }), scan };
    }
    return { lot: found.lot, scan };
  }
  if (named == null) return { refusal: rejected("invalid", "Give a scan or a lot", { errors: { scan: ["Missing"] } }) };
  if (Number.isInteger(named)) return { lot: call(data, "lot", named), scan: null };
  const found = resolveLot({ kind: "text", text: named, lot: null, gtin: null, sku: null }, data);
  return found.lot ? { lot: found.lot, scan: null } : { refusal: rejected(found.reason, found.message) };
}

function locationRefusal(code, data) {
  return call(data, "location", code) ? null : rejected("unknown_location", `No location ${pyRepr(code)}`);
}

function malformed(spec, args, at) {
  const errors = schemaErrors(spec, args) ?? {};
  const time = floorTime(at);
  if (time.error) errors.at = [time.error];
  return Object.keys(errors).length ? rejected("invalid", MALFORMED, { errors }) : null;
}

function itemOf(lot, data) {
  return call(data, "item", lot.item_id ?? lot.item);
}

/**
 * The local verdict on a `pick` mutation {task, scan, location?, qty}: parse, resolve, classify.
 * @param {Object} p
 * @param {number|Object} p.task     the task id (looked up with data.task) or the pulled task row itself
 * @param {string|Object} p.scan     the raw scan, or an interpret() result
 * @param {string} [p.location]      where it was picked from (default: the task's from-location)
 * @param {string|number|bigint} p.qty  decimal string/number as on the wire (a BigInt is millionths)
 * @param {boolean} [p.short]        the wire's short flag (no effect on the verdict)
 * @param {string|Date} [p.at]       when it happened (default now); its site day judges expiry
 * @param {{timezone?: string, gs_substitute?: string}} [p.site]  the pulled site settings
 * @param {Object} p.data            synchronous lookups: task, item, lot, itemByGtin, itemBySku, lotsByCode, location
 * @returns {Judgement}
 * Optimistic where the device knows less: the lot's status is the current one (the server takes it as of `at`),
 * an inactive item or location is unknown locally (the server says "inactive"), a lot without stock is not
 * pulled (unknown locally; the server knows it), and `at` is not capped at the server's clock.
 */
export function judgePick({ task, scan, location, qty, short, at, site = {}, data } = {}) {
  const taskId = task !== null && typeof task === "object" ? task.id : task;
  const bad = malformed({ task: ["id", true], scan: ["scan", true], location: ["code", false], qty: ["qty", true],
    short: ["bool", false] }, { task: taskId, scan: rawOf(scan), location, qty, short }, at);
  if (bad) return bad;
  const row = task !== null && typeof task === "object" ? task : call(data, "task", taskId);
  if (!row) return rejected("unknown_task", `No task ${taskId}`);
  const micros = readNumber(qty).value;
  const refused = quantityRefusal(micros, call(data, "item", row.item)?.uom ?? row.uom);
  if (refused) return refused;
  const read = readScan(scan, site);
  if (read.kind === "invalid") return scanRefusal(read);
  const found = resolveLot(read, data);
  if (!found.lot) return scanRefusal(read, found);
  const extra = { lot: found.lot, scan: read };
  const where = location ?? row.from;
  const unknown = location === undefined ? null : locationRefusal(location, data);
  if (unknown) return { ...unknown, ...extra };
  if (where === row.to) {
    return rejected("invalid", `${where} is where this task delivers to, not a place to pick from`,
      { errors: { location: ["The task's destination"] }, ...extra });
  }
  const onHand = parseDecimal(found.lot.stock?.[where] ?? "0") ?? 0n;
  const day = siteDay(floorTime(at).at, site.timezone || "UTC");
  const verdict = classify(taskView(row, data), lotView(found.lot), where, micros, onHand, day);
  return judgement(verdict.status, verdict.reason, verdict.message, extra);
}

/**
 * What the pulled tasks hold of a lot at a location: open tasks, and flagged picks awaiting a decision, keep
 * their quantity reserved at their expected lot and from-location (as the server's balances do).
 */
export function reservedAt(data, lotId, location) {
  let held = 0n;
  for (const task of call(data, "tasks") ?? []) {
    const holds = task.status === "open" || (task.status === "exception" && task.picked_qty != null);
    if (holds && task.lot === lotId && task.from === location) held += parseDecimal(task.qty) ?? 0n;
  }
  return held;
}

/**
 * The local verdict on a `move` mutation {scan | lot, from, to, qty} (moves are allowed for held and expired lots).
 * @param {Object} p  {scan?, lot? (id or code), from, to, qty, at?, site?, data}
 * @returns {Judgement}
 * insufficient_stock is judged against free stock, on-hand minus what the pulled tasks hold (reservedAt; pass
 * data with tasks()). Optimistic: the server also counts reservations the device does not see (other users'
 * flagged picks, picked stock held at a staging location). Unknown-locally caveats as for judgePick.
 */
export function judgeMove({ scan, lot, from, to, qty, at, site = {}, data } = {}) {
  const bad = malformed({ scan: ["scan", false], lot: ["lotref", false], from: ["code", true], to: ["code", true],
    qty: ["qty", true] }, { scan: rawOf(scan), lot, from, to, qty }, at);
  if (bad) return bad;
  const named = lotOfArgs(scan, lot, site, data);
  if (named.refusal) return named.refusal;
  const row = named.lot, extra = { lot: row, scan: named.scan };
  const uom = itemOf(row, data)?.uom ?? "";
  const micros = readNumber(qty).value;
  const refused = quantityRefusal(micros, uom);
  if (refused) return { ...refused, ...extra };
  const unknown = locationRefusal(from, data) ?? locationRefusal(to, data);
  if (unknown) return { ...unknown, ...extra };
  if (from === to) {
    return rejected("invalid", "From and to are the same location", { errors: { to: ["Same as from"] }, ...extra });
  }
  const free = (parseDecimal(row.stock?.[from] ?? "0") ?? 0n) - reservedAt(data, row.id, from);
  if (micros > free) {
    return rejected("insufficient_stock", `Only ${formatQty(free)} ${uom} of lot ${row.code} free at ${from}`, extra);
  }
  return judgement(APPLIED, null, `Moved lot ${row.code}`, extra);
}

/**
 * The local verdict on a `count` mutation {scan | lot, location, qty}: qty is what was counted (0 allowed).
 * @param {Object} p  {scan?, lot? (id or code), location, qty, at?, site?, data}
 * @returns {Judgement}
 */
export function judgeCount({ scan, lot, location, qty, at, site = {}, data } = {}) {
  const bad = malformed({ scan: ["scan", false], lot: ["lotref", false], location: ["code", true], qty: ["qty", true] },
    { scan: rawOf(scan), lot, location, qty }, at);
  if (bad) return bad;
  const named = lotOfArgs(scan, lot, site, data);
  if (named.refusal) return named.refusal;
  const row = named.lot, extra = { lot: row, scan: named.scan };
  const counted = readNumber(qty).value;
  if (counted < 0n) {
    return rejected("invalid", "A count cannot be negative", { errors: { counted: ["Must be >= 0"] }, ...extra });
  }
  const refused = counted > 0n ? quantityRefusal(counted, itemOf(row, data)?.uom, "counted") : null;
  if (refused) return { ...refused, ...extra };
  const unknown = locationRefusal(location, data);
  if (unknown) return { ...unknown, ...extra };
  return judgement(APPLIED, null, `Counted lot ${row.code}`, extra);
}

const RECEIVE_ARGS = { scan: ["scan", false], item: ["code", false], lot: ["lot", false], expires_on: ["date", false],
  qty: ["qty", true], location: ["code", true], supplier: ["code", false], supplier_lot: ["text", false],
  reference: ["text", false] };
const LOT_CODE_RULE = "A lot code is 1-20 characters from the GS1 AI(10) set (letters, digits, !\"%&'()*+,-./:;<=>?_)";

/** engine._receive's reading of a supplier's label: the item, lot and expiry it gives, or a refusal. */
function fromLabel(read, given, data) {
  if (read.kind === "invalid") return { refusal: scanRefusal(read) };
  if (read.kind !== "gs1") {
    return { refusal: rejected("bad_barcode", "A receipt needs the supplier's GS1 label",
      { scan: read, errors: { scan: ["Not GS1"] } }) };
  }
  if (!read.gtin && !read.sku) {
    return { refusal: rejected("unknown_item", "The label names no item (no GTIN or SKU): scan the item's label",
      { scan: read, errors: { scan: ["No GTIN or SKU"] } }) };
  }
  const label = read.gtin ? call(data, "itemByGtin", read.gtin) : call(data, "itemBySku", read.sku);
  if (!label) return { refusal: rejected("unknown_item", `No item ${read.gtin || read.sku}`, { scan: read }) };
  for (const [mine, seen] of [[given.sku, label.sku], [given.code, read.lot], [given.expires, read.expires_on]]) {
    if (mine !== null && seen !== null && mine !== seen) {
      return { refusal: rejected("scan_mismatch", "The arguments contradict the scanned label", { scan: read }) };
    }
  }
  return { sku: label.sku, code: given.code || read.lot, expires: given.expires || read.expires_on };
}

/**
 * The local verdict on a `receive` mutation {scan | item+lot, expires_on?, qty, location, supplier?, ...}.
 * @param {Object} p  {scan?, item? (SKU), lot? (code), expires_on? ("YYYY-MM-DD"), qty, location, supplier?,
 *   supplier_lot?, reference?, at?, site?, data}
 * @returns {Judgement}  lot: the item's pulled lot with that code when there is one, else null (a new lot; with
 *   no lot code the server generates one, so the message says the code comes with the sync).
 * Optimistic: suppliers are not pulled (the server may answer unknown_supplier); lots without stock are not
 * pulled, so receiving into such a lot cannot be checked for lot_conflict or expiry locally.
 */
export function judgeReceive(args = {}) {
  const { scan, item, lot, expires_on: expiresOn, qty, location, at, site = {}, data } = args;
  const bad = malformed(RECEIVE_ARGS, { ...args, scan: rawOf(scan) }, at);
  if (bad) return bad;
  const read = scan ? readScan(scan, site) : null;
  let wanted = { sku: item ?? null, code: lot ?? null, expires: expiresOn == null ? null : isoDate(expiresOn) };
  if (read) {
    wanted = fromLabel(read, wanted, data);
    if (wanted.refusal) return wanted.refusal;
  }
  const { sku, code, expires } = wanted;
  if (sku === null) return rejected("invalid", "Give a scan or an item", { errors: { item: ["Missing"] }, scan: read });
  const itemRow = call(data, "itemBySku", sku);
  if (!itemRow) return rejected("unknown_item", `No item ${pyRepr(sku)}`, { scan: read });
  const micros = readNumber(qty).value;
  const refused = quantityRefusal(micros, itemRow.uom);
  if (refused) return { ...refused, scan: read };
  const unknown = locationRefusal(location, data);
  if (unknown) return { ...unknown, scan: read };
  if (code !== null && !LOT_CODE_RE.test(code)) {
    return rejected("invalid", LOT_CODE_RULE, { errors: { lot: [LOT_CODE_RULE] }, scan: read });
  }
  const existing = code === null ? null
    : (call(data, "lotsByCode", code) ?? []).find((row) => (row.item_id ?? row.item) === itemRow.id) ?? null;
  const extra = { lot: existing, scan: read };
  if (existing && expires !== null && existing.expires_on != null && existing.expires_on !== expires) {
    return rejected("lot_conflict", `Lot ${code} exists with expiry ${existing.expires_on}`, extra);
  }
  const timezone = site.timezone || "UTC";
  const when = floorTime(at).at;
  let expiry = existing ? existing.expires_on ?? null : expires;
  if (!existing && expiry === null && itemRow.shelf_life_days) {
    expiry = addDays(siteDay(when, timezone), itemRow.shelf_life_days);
  }
  if (isExpired(expiry, when, timezone)) {
    return rejected("lot_expired", `Lot expired on ${expiry}; it cannot be received`,
      { errors: { expires_on: ["Before the date of receipt"] }, ...extra });
  }
  const amount = formatQty(micros);
  const message = code === null ? `Received ${amount} of a new lot (its code comes with the sync)`
    : `Received ${amount} of lot ${code}`;
  return judgement(APPLIED, null, message, extra);
}

// --- data lookups ------------------------------------------------------------------------------------------

/**
 * Synchronous lookups over pulled rows (arrays as GET /api/sync/pull returns them), for the judge* functions.
 * @param {{items?: Object[], lots?: Object[], locations?: Object[], tasks?: Object[]}} rows
 * @returns {{item(id), itemByGtin(gtin), itemBySku(sku), lot(id), lotsByCode(code), location(code), task(id),
 *   tasks()}}
 */
export function makeData({ items = [], lots = [], locations = [], tasks = [] } = {}) {
  const byKey = (rows, key) => new Map(rows.map((row) => [row[key], row]));
  const itemsById = new Map(items.map((row) => [Number(row.id), row]));
  const lotsById = new Map(lots.map((row) => [Number(row.id), row]));
  const tasksById = new Map(tasks.map((row) => [Number(row.id), row]));
  const gtins = byKey(items.filter((row) => row.gtin), "gtin"), skus = byKey(items, "sku");
  const places = byKey(locations, "code");
  const codes = new Map();
  for (const row of lots) codes.set(row.code, [...(codes.get(row.code) ?? []), row]);
  return Object.freeze({
    item: (id) => itemsById.get(Number(id)) ?? null,
    itemByGtin: (gtin) => gtins.get(gtin) ?? null,
    itemBySku: (sku) => skus.get(sku) ?? null,
    lot: (id) => lotsById.get(Number(id)) ?? null,
    lotsByCode: (code) => codes.get(code) ?? [],
    location: (code) => places.get(code) ?? null,
    task: (id) => tasksById.get(Number(id)) ?? null,
    tasks: () => tasks,
  });
}

/**
 * Fetch from the app's asynchronous lookups (ctx.data: item, itemByGtin, itemBySku, lot, lotsByCode, location,
 * task, tasks) every row a judge* call may need, and return them as synchronous lookups (makeData).
 * @param {Object} source  ctx.data (functions may return promises)
 * @param {{scan?: string|Object, substitute?: string, task?: number, lot?: number|string, item?: string,
 *   locations?: string[], tasks?: boolean}} needs  the mutation's scan, task id, lot (id or code), item SKU and
 *   location codes; tasks: also every pulled task (judgeMove counts their reservations)
 */
export async function loadData(source, { scan = null, substitute = "|", task = null, lot = null, item = null,
  locations = [], tasks = false } = {}) {
  const rows = { items: [], lots: [], locations: [], tasks: [] };
  const get = async (name, ...args) => (typeof source?.[name] === "function"
    ? (await source[name](...args)) ?? null : null);
  const addLots = async (list) => {
    for (const row of list.filter(Boolean)) {
      rows.lots.push(row);
      rows.items.push(await get("item", row.item_id ?? row.item));
    }
  };
  const read = typeof scan === "string" ? interpret(scan, { substitute }) : scan;
  if (read && read.kind !== "invalid") {
    if (read.gtin) rows.items.push(await get("itemByGtin", read.gtin));
    if (read.sku) rows.items.push(await get("itemBySku", read.sku));
    const code = read.kind === "gs1" ? read.lot : read.text;
    if (code != null) await addLots((await get("lotsByCode", code)) ?? []);
  }
  if (tasks) rows.tasks.push(...((await get("tasks")) ?? []));
  if (task != null) {
    const row = await get("task", task);
    if (row) {
      rows.tasks.push(row);
      rows.items.push(await get("item", row.item));
      await addLots([await get("lot", row.lot)]);
    }
  }
  if (typeof lot === "number") await addLots([await get("lot", lot)]);
  else if (typeof lot === "string") await addLots((await get("lotsByCode", lot)) ?? []);
  if (item != null) rows.items.push(await get("itemBySku", item));
  for (const code of locations.filter((value) => value != null)) rows.locations.push(await get("location", code));
  const unique = (list) => [...new Map(list.filter(Boolean).map((row) => [row.id ?? row.code, row])).values()];
  return makeData({ items: unique(rows.items), lots: unique(rows.lots), locations: rows.locations.filter(Boolean),
    tasks: unique(rows.tasks) });
}
