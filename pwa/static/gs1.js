/**
 * Lotwise scan interpreter for the PWA: the same reading of a scan as the server's
 * backend/domain/scans.py `interpret` (which uses biip), proven by tests/vectors/scans.json and by
 * tests/test_pwa_rules.py (generated scans, JS against Python).
 *
 * Rules, in order (the server's module doc says the same):
 * 1. More than 512 characters is bad_barcode; spaces, tabs, CR and LF are stripped from both ends;
 *    nothing left is bad_barcode.
 * 2. A symbology identifier `]Xm` at the start is taken off and remembered.
 * 3. `http://` / `https://` (any case, any host): a GS1 Digital Link URI.
 * 4. `]C1` `]d2` `]Q3` `]e0` `]J1`: a GS1 element string. `]E0`/`]E4`: EAN/UPC; `]I1` with 14 digits: ITF-14.
 * 5. No symbology identifier: `(` starts the HRI form `(01)…(10)…`; a string with GS, or starting with
 *    (00)+18 digits or (01)/(02)+14 digits, or two digits and containing the substitute character, is a GS1
 *    element string.
 * 6. Anything else is a plain code (location or lot code): no control characters, at most 40 characters;
 *    8/12/13/14 digits with a valid check digit also carry `gtin`.
 *
 * Element strings: predefined-length AIs take their fixed length, every other AI runs to the next separator
 * (GS or a substitute character) or the end, never to its maximum length. Every AI biip knows is checked
 * (pattern, check digit, date) and the ones Lotwise uses are returned. All in linear time.
 *
 * Pure functions, no DOM, no I/O: runs in the browser and in Node (tests).
 */

/** The GS1 group separator (ASCII 29), which FNC1 becomes in a scanned GS1 element string. */
export const GS = "\x1d";
/** Longer input is never a Lotwise label; refused before any parsing. */
export const MAX_SCAN = 512;
/** The longest plain code Lotwise issues (location codes). */
export const MAX_TEXT = 40;
/** The fields of an interpretation besides kind, raw, symbology, error and message. */
export const FIELDS = ["text", "gtin", "sku", "lot", "expires_on", "sscc", "serial", "count", "net_kg", "gln"];

const GS1_SYMBOLOGIES = new Set(["]C1", "]d2", "]Q3", "]e0", "]J1"]);
const SYMBOLOGY = /^\][A-Za-z][0-9A-Za-z]/;
// Python's re.IGNORECASE also lets U+017F (long s) match "s"; the server does, so this does.
const URI = /^[hH][tT][tT][pP][sS\u017f]?:\/\//;
const KEY_FIRST = /^(?:00[0-9]{18}|0[12][0-9]{14})/;
const GTIN_DIGITS = /^(?:[0-9]{8}|[0-9]{12,14})$/;
const CONTROL = /[\x00-\x1f\x7f-\x9f]/;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const HRI_AI = /\(([0-9]{2,4})\)/g;
/** GS1 General Specifications figure 7.11-1: the AI(10) character set, 1-20 characters. */
export const LOT_CODE_RE = /^[!"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}$/;
const EDGES = " \t\r\n";

/** A scan that cannot be trusted (the server's bad_barcode). */
class BadBarcode extends Error {}

function bad(message) {
  throw new BadBarcode(message);
}

// --- GS1 Application Identifiers (generated from biip 5.2.0's table; the cross-check test compares) ---------

// The data pattern of every AI biip knows (after the AI, anchored at both ends), grouped by pattern.
const AI_PATTERNS = {
  "(\\d{18})":
    "00 8017 8018",
  "(\\d{14})":
    "01 02 03",
  "([!%-?A-Z_a-z\\x22]{1,20})":
    "10 21 22 243 254 420 4318 7020 7021 7022 710 711 712 713 714 715 716 717 7240 8002 8012",
  "(\\d{2}(?:0\\d|1[0-2])(?:[0-2]\\d|3[01]))":
    "11 12 13 15 16 17",
  "(\\d{2})":
    "20 7241",
  "([!%-?A-Z_a-z\\x22]{1,28})":
    "235",
  "([!%-?A-Z_a-z\\x22]{1,30})":
    "240 241 250 251 400 401 403 4308 4319 7002 7023 8004 90",
  "(\\d{1,6})":
    "242",
  "(\\d{13})([!%-?A-Z_a-z\\x22]{0,17})":
    "253",
  "(\\d{13})(\\d{0,12})":
    "255",
  "(\\d{0,8})":
    "30",
  "(\\d{6})":
    "3100 3101 3102 3103 3104 3105 3110 3111 3112 3113 3114 3115 3120 3121 3122 3123 3124 3125 3130 3131 " +
    "3132 3133 3134 3135 3140 3141 3142 3143 3144 3145 3150 3151 3152 3153 3154 3155 3160 3161 3162 3163 " +
    "3164 3165 3200 3201 3202 3203 3204 3205 3210 3211 3212 3213 3214 3215 3220 3221 3222 3223 3224 3225 " +
    "3230 3231 3232 3233 3234 3235 3240 3241 3242 3243 3244 3245 3250 3251 3252 3253 3254 3255 3260 3261 " +
    "3262 3263 3264 3265 3270 3271 3272 3273 3274 3275 3280 3281 3282 3283 3284 3285 3290 3291 3292 3293 " +
    "3294 3295 3300 3301 3302 3303 3304 3305 3310 3311 3312 3313 3314 3315 3320 3321 3322 3323 3324 3325 " +
    "3330 3331 3332 3333 3334 3335 3340 3341 3342 3343 3344 3345 3350 3351 3352 3353 3354 3355 3360 3361 " +
    "3362 3363 3364 3365 3370 3371 3372 3373 3374 3375 3400 3401 3402 3403 3404 3405 3410 3411 3412 3413 " +
    "3414 3415 3420 3421 3422 3423 3424 3425 3430 3431 3432 3433 3434 3435 3440 3441 3442 3443 3444 3445 " +
    "3450 3451 3452 3453 3454 3455 3460 3461 3462 3463 3464 3465 3470 3471 3472 3473 3474 3475 3480 3481 " +
    "3482 3483 3484 3485 3490 3491 3492 3493 3494 3495 3500 3501 3502 3503 3504 3505 3510 3511 3512 3513 " +
    "3514 3515 3520 3521 3522 3523 3524 3525 3530 3531 3532 3533 3534 3535 3540 3541 3542 3543 3544 3545 " +
    "3550 3551 3552 3553 3554 3555 3560 3561 3562 3563 3564 3565 3570 3571 3572 3573 3574 3575 3600 3601 " +
    "3602 3603 3604 3605 3610 3611 3612 3613 3614 3615 3620 3621 3622 3623 3624 3625 3630 3631 3632 3633 " +
    "3634 3635 3640 3641 3642 3643 3644 3645 3650 3651 3652 3653 3654 3655 3660 3661 3662 3663 3664 3665 " +
    "3670 3671 3672 3673 3674 3675 3680 3681 3682 3683 3684 3685 3690 3691 3692 3693 3694 3695 3950 3951 " +
    "3952 3953 3954 3955 4326 7006 8005",
  "(\\d{1,8})":
    "37",
  "(\\d{1,15})":
    "3900 3901 3902 3903 3904 3905 3906 3907 3908 3909 3920 3921 3922 3923 3924 3925 3926 3927 3928 3929",
  "(\\d{3})(\\d{1,15})":
    "3910 3911 3912 3913 3914 3915 3916 3917 3918 3919 3930 3931 3932 3933 3934 3935 3936 3937 3938 3939",
  "(\\d{4})":
    "3940 3941 3942 3943 8111",
  "(\\d{17})":
    "402",
  "(\\d{13})":
    "410 411 412 413 414 415 416 417 7001",
  "(\\d{3})([!%-?A-Z_a-z\\x22]{1,9})":
    "421",
  "(\\d{3})":
    "422 424 426",
  "((?:\\d{3}){1,5})":
    "423 425",
  "([!%-?A-Z_a-z\\x22]{1,3})":
    "427 7008",
  "((?:[!%-?A-Z_a-z\\x22]|%[0-9A-Fa-f][0-9A-Fa-f]%[0-9A-Fa-f][0-9A-Fa-f]){1,35})":
    "4300 4301 4310 4311 4320",
  "((?:[!%-?A-Z_a-z\\x22]|%[0-9A-Fa-f][0-9A-Fa-f]%[0-9A-Fa-f][0-9A-Fa-f]){1,70})":
    "4302 4303 4304 4305 4306 4312 4313 4314 4315 4316 7257",
  "([A-Z0-9]{2})":
    "4307 4317",
  "(\\d{20})":
    "4309",
  "([01])":
    "4321 4322 4323",
  "(\\d{10})":
    "4324 4325 7003",
  "(\\d{6}[-]?)":
    "4330 4331 4332 4333",
  "(\\d{0,4})":
    "7004",
  "([!%-?A-Z_a-z\\x22]{1,12})":
    "7005",
  "(\\d{6})(\\d{6})?":
    "7007",
  "([!%-?A-Z_a-z\\x22]{1,10})":
    "7009",
  "([!%-?A-Z_a-z\\x22]{1,2})":
    "7010",
  "(\\d{6})(\\d{4})?":
    "7011",
  "(\\d{3})([!%-?A-Z_a-z\\x22]{1,27})":
    "7030 7031 7032 7033 7034 7035 7036 7037 7038 7039",
  "(\\d)([!%-?A-Z_a-z\\x22])([!%-?A-Z_a-z\\x22])([!%-?A-Z_a-z\\x22])":
    "7040",
  "([!%-?A-Z_a-z\\x22]{1,4})":
    "7041",
  "([!%-?A-Z_a-z\\x22]{3,30})":
    "7230 7231 7232 7233 7234 7235 7236 7237 7238 7239",
  "([!%-?A-Z_a-z\\x22]{1,25})":
    "7242 8013 8014 8020",
  "(\\d{4}(?:0\\d|1[0-2])(?:[0-2]\\d|3[01]))":
    "7250",
  "(\\d{4}(?:0\\d|1[0-2])(?:[0-2]\\d|3[01])(?:[01]\\d|2[0-3])(?:[0-5]\\d))":
    "7251",
  "(\\d{1})":
    "7252",
  "((?:[!%-?A-Z_a-z\\x22]|%[0-9A-Fa-f][0-9A-Fa-f]%[0-9A-Fa-f][0-9A-Fa-f]){1,40})":
    "7253 7254 7259",
  "((?:[!%-?A-Z_a-z\\x22]|%[0-9A-Fa-f][0-9A-Fa-f]%[0-9A-Fa-f][0-9A-Fa-f]){1,10})":
    "7255",
  "((?:[!%-?A-Z_a-z\\x22]|%[0-9A-Fa-f][0-9A-Fa-f]%[0-9A-Fa-f][0-9A-Fa-f]){1,90})":
    "7256",
  "(\\d[/]\\d)":
    "7258",
  "(\\d{4})(\\d{5})(\\d{3})(\\d{1})(\\d{1})":
    "8001",
  "(0)(\\d{13})([!%-?A-Z_a-z\\x22]{0,16})":
    "8003",
  "(\\d{14})(\\d{4})":
    "8006 8026",
  "([!%-?A-Z_a-z\\x22]{1,34})":
    "8007",
  "(\\d{2}(?:0\\d|1[0-2])(?:[0-2]\\d|3[01])(?:[01]\\d|2[0-3]))((?:[0-5]\\d)(?:[0-5]\\d)?)?":
    "8008",
  "([!%-?A-Z_a-z\\x22]{1,50})":
    "8009",
  "([A-Z0-9/#-]{5,30})":
    "8010",
  "(\\d{1,12})":
    "8011",
  "(\\d{1,10})":
    "8019",
  "([0-9A-Za-z_-]{1,90})":
    "8030",
  "(\\d{15})":
    "8040 8041",
  "(\\d{32})":
    "8042",
  "(\\d{18,20})":
    "8043",
  "([!%-?A-Z_a-z\\x22]{1,70})":
    "8110 8112 8200",
  "([!%-?A-Z_a-z\\x22]{1,90})":
    "91 92 93 94 95 96 97 98 99",
};
const FIXED_LENGTH_GROUPS = {
  18: "00",
  14: "01 02 03",
  6: "11 12 13 15 16 17 3100 3101 3102 3103 3104 3105 3110 3111 3112 3113 3114 3115 3120 3121 3122 3123 " +
    "3124 3125 3130 3131 3132 3133 3134 3135 3140 3141 3142 3143 3144 3145 3150 3151 3152 3153 3154 3155 " +
    "3160 3161 3162 3163 3164 3165 3200 3201 3202 3203 3204 3205 3210 3211 3212 3213 3214 3215 3220 3221 " +
    "3222 3223 3224 3225 3230 3231 3232 3233 3234 3235 3240 3241 3242 3243 3244 3245 3250 3251 3252 3253 " +
    "3254 3255 3260 3261 3262 3263 3264 3265 3270 3271 3272 3273 3274 3275 3280 3281 3282 3283 3284 3285 " +
    "3290 3291 3292 3293 3294 3295 3300 3301 3302 3303 3304 3305 3310 3311 3312 3313 3314 3315 3320 3321 " +
    "3322 3323 3324 3325 3330 3331 3332 3333 3334 3335 3340 3341 3342 3343 3344 3345 3350 3351 3352 3353 " +
    "3354 3355 3360 3361 3362 3363 3364 3365 3370 3371 3372 3373 3374 3375 3400 3401 3402 3403 3404 3405 " +
    "3410 3411 3412 3413 3414 3415 3420 3421 3422 3423 3424 3425 3430 3431 3432 3433 3434 3435 3440 3441 " +
    "3442 3443 3444 3445 3450 3451 3452 3453 3454 3455 3460 3461 3462 3463 3464 3465 3470 3471 3472 3473 " +
    "3474 3475 3480 3481 3482 3483 3484 3485 3490 3491 3492 3493 3494 3495 3500 3501 3502 3503 3504 3505 " +
    "3510 3511 3512 3513 3514 3515 3520 3521 3522 3523 3524 3525 3530 3531 3532 3533 3534 3535 3540 3541 " +
    "3542 3543 3544 3545 3550 3551 3552 3553 3554 3555 3560 3561 3562 3563 3564 3565 3570 3571 3572 3573 " +
    "3574 3575 3600 3601 3602 3603 3604 3605 3610 3611 3612 3613 3614 3615 3620 3621 3622 3623 3624 3625 " +
    "3630 3631 3632 3633 3634 3635 3640 3641 3642 3643 3644 3645 3650 3651 3652 3653 3654 3655 3660 3661 " +
    "3662 3663 3664 3665 3670 3671 3672 3673 3674 3675 3680 3681 3682 3683 3684 3685 3690 3691 3692 3693 " +
    "3694 3695",
  2: "20",
  13: "410 411 412 413 414 415 416 417",
};

/** AI -> its data pattern (source text, anchored when compiled). */
const AI_SOURCE = new Map();
for (const [pattern, ais] of Object.entries(AI_PATTERNS)) {
  for (const ai of ais.split(" ")) AI_SOURCE.set(ai, pattern);
}
/** Predefined-length AI -> data length (GS1 General Specifications figure 7.8.4-2). */
const FIXED_LENGTH = new Map();
for (const [length, ais] of Object.entries(FIXED_LENGTH_GROUPS)) {
  for (const ai of ais.split(" ")) FIXED_LENGTH.set(ai, Number(length));
}
const COMPILED = new Map();
const DATE_AIS = new Set(["11", "12", "13", "15", "16", "17", "4324", "4325", "4326", "7003", "7006", "7007",
  "7011", "8008"]);
// GS1 Digital Link primary keys: their qualifiers, in the order they may follow in the path.
const DL_PRIMARY = new Map([
  ["01", ["22", "10", "21", "235"]], ["8006", ["22", "10", "21"]], ["8013", []], ["8010", ["8011"]],
  ["414", ["254", "7040"]], ["415", ["8020"]], ["417", ["7040"]], ["8017", ["8019"]], ["8018", ["8019"]],
  ["255", []], ["00", []], ["253", []], ["401", []], ["402", []], ["8003", []], ["8004", ["7040"]],
]);

/** The AI table as data (for the cross-check against biip): {ai: [pattern, fixedLength|null]}. */
export function aiTable() {
  const table = {};
  for (const [ai, pattern] of AI_SOURCE) table[ai] = [pattern, FIXED_LENGTH.get(ai) ?? null];
  return table;
}

/** The AI a string starts with (AIs are prefix-free, so there is at most one), or null. */
function aiAt(text) {
  for (let length = 2; length <= 4; length += 1) {
    const candidate = text.slice(0, length);
    if (candidate.length === length && AI_SOURCE.has(candidate)) return candidate;
  }
  return null;
}

function patternOf(ai) {
  let regex = COMPILED.get(ai);
  if (!regex) {
    regex = new RegExp(`^(?:${AI_SOURCE.get(ai)})$`);
    COMPILED.set(ai, regex);
  }
  return regex;
}

// --- check digits and dates --------------------------------------------------------------------------------

/** The GS1 mod-10 check digit of a string of ASCII digits (General Specifications 7.9.1). */
export function checkDigit(payload) {
  let sum = 0;
  for (let i = payload.length - 1, weight = 3; i >= 0; i -= 1, weight = 4 - weight) {
    sum += (payload.charCodeAt(i) - 48) * weight;
  }
  return (10 - (sum % 10)) % 10;
}

/** True when `digits` (ASCII digits only, at least 2) ends with its correct GS1 mod-10 check digit. */
export function checkDigitOk(digits) {
  return typeof digits === "string" && /^[0-9]{2,}$/.test(digits)
    && checkDigit(digits.slice(0, -1)) === digits.charCodeAt(digits.length - 1) - 48;
}

/** True for a GTIN-8, -12, -13 or -14 with a valid check digit. */
export function isGtin(digits) {
  return GTIN_DIGITS.test(digits ?? "") && checkDigitOk(digits);
}

function isLeap(year) {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

function daysIn(year, month) {
  return [31, isLeap(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
}

/** The century of a two-digit year by the GS1 sliding window (General Specifications 7.12), as biip does. */
function century(twoDigitYear, now = new Date()) {
  const current = now.getUTCFullYear();
  const currentCentury = current - (current % 100);
  const difference = twoDigitYear - (current - currentCentury);
  if (difference >= 51 && difference <= 99) return currentCentury - 100;
  if (difference >= -99 && difference <= -50) return currentCentury + 100;
  return currentCentury;
}

/** A GS1 date field (YYMMDD, day 00 = last day of the month, optional HH[MM[SS]]) as "YYYY-MM-DD". */
function gs1Date(ai, value) {
  const pairs = [];
  for (let i = 0; i < value.length; i += 2) pairs.push(Number(value.slice(i, i + 2)));
  const year = pairs[0] + century(pairs[0]);
  const month = pairs[1];
  let day = pairs[2];
  const fail = () => bad(`Impossible date in (${ai}): ${value}`);
  if (month < 1 || month > 12) fail();
  if (day === 0) day = daysIn(year, month);
  if (day < 1 || day > daysIn(year, month)) fail();
  // (7007) may be a range YYMMDDYYMMDD: its end is a second date. Other dates may carry a time HH[MM[SS]].
  if (ai === "7007" && pairs.length === 6) {
    gs1Date(ai, value.slice(6));
  } else if (pairs.length > 3) {
    const [hour, minute = 0, second = 0] = pairs.slice(3);
    if (!(hour === 99 && minute === 99) && (hour > 23 || minute > 59 || second > 59)) fail();
  }
  return `${String(year).padStart(4, "0")}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`;
}

// --- element strings ---------------------------------------------------------------------------------------

/**
 * One element string (AI and exactly its data), checked like biip's GS1ElementString.parse: pattern,
 * date; a check-digit error is kept in `error` and refused by fromElements (as the server does).
 */
function element(text) {
  const ai = aiAt(text);
  if (ai === null) bad(`No GS1 Application Identifier at ${pyRepr(text.slice(0, 6))}`);
  const value = text.slice(ai.length);
  if (!patternOf(ai).test(value)) {
    bad(`(${ai}) ${pyRepr(value.slice(0, 24))} is not what (${ai}) holds (${formatOf(ai)})`);
  }
  let error = null;
  const checked = ai === "00" ? "SSCC" : ["01", "02", "03"].includes(ai) ? "GTIN" : ai.startsWith("41") ? "GLN" : null;
  if (checked && !checkDigitOk(value)) error = `Invalid ${checked} check digit in (${ai}) ${value}`;
  const date = DATE_AIS.has(ai) ? gs1Date(ai, value) : null;
  return { ai, value, error, date };
}

function formatOf(ai) {
  const fixed = FIXED_LENGTH.get(ai);
  return fixed ? `${fixed} characters` : "variable length";
}

/** Split a GS1 element string (after any symbology identifier) into checked elements, in linear time. */
function elementStrings(data, separators) {
  const chars = Array.from(data);
  const isSeparator = new Set(Array.from(separators));
  for (const ch of chars) {
    if (!isSeparator.has(ch) && !(ch.length === 1 && ch >= " " && ch <= "~")) {
      bad("A GS1 element string holds printable ASCII and separators only");
    }
  }
  const elements = [];
  let pos = 0;
  while (pos < chars.length) {
    if (isSeparator.has(chars[pos])) { // a separator is allowed between any two element strings
      pos += 1;
      continue;
    }
    const ai = aiAt(chars.slice(pos, pos + 4).join(""));
    if (ai === null) bad(`No GS1 Application Identifier at ${pyRepr(chars.slice(pos, pos + 6).join(""))}`);
    const start = pos + ai.length;
    let end = start;
    if (FIXED_LENGTH.has(ai)) {
      end = start + FIXED_LENGTH.get(ai);
    } else {
      while (end < chars.length && !isSeparator.has(chars[end])) end += 1;
    }
    elements.push(element(ai + chars.slice(start, end).join("")));
    pos = end;
  }
  if (!elements.length) bad("No GS1 element strings");
  return elements;
}

/** The bracketed human-readable form `(01)…(17)…(10)…`; spaces around values are ignored. */
function hri(value) {
  const markers = Array.from(value.matchAll(HRI_AI));
  if (!markers.length || markers[0].index !== 0) bad("HRI must start with an AI in brackets, e.g. (01)");
  return markers.map((marker, index) => {
    const ai = marker[1];
    if (!AI_SOURCE.has(ai)) bad(`Unknown GS1 Application Identifier (${ai})`);
    const end = index + 1 < markers.length ? markers[index + 1].index : value.length;
    const data = stripChars(value.slice(marker.index + marker[0].length, end), " ");
    if (!PRINTABLE_ASCII.test(data)) bad(`Characters not allowed in (${ai})`);
    return element(ai + data);
  });
}

// --- GS1 Digital Link --------------------------------------------------------------------------------------

/** Python's urllib.parse.unquote: %XX escapes decoded as UTF-8 (invalid sequences become U+FFFD). */
function unquote(text) {
  if (!text.includes("%")) return text;
  const bytes = [];
  for (let i = 0; i < text.length; i += 1) {
    const hex = text.slice(i + 1, i + 3);
    if (text[i] === "%" && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(text.charCodeAt(i)); // the URI is printable ASCII
    }
  }
  return new TextDecoder("utf-8").decode(new Uint8Array(bytes));
}

/** Python's urllib.parse.parse_qs (blank values dropped): key -> values, in order of first appearance. */
function parseQs(query) {
  const result = new Map();
  for (const field of query ? query.split("&") : []) {
    const at = field.indexOf("=");
    if (!field || at < 0 || at === field.length - 1) continue;
    const key = unquote(field.slice(0, at).replaceAll("+", " "));
    const value = unquote(field.slice(at + 1).replaceAll("+", " "));
    if (!result.has(key)) result.set(key, []);
    result.get(key).push(value);
  }
  return result;
}

/** Python 3.11's ipaddress.IPv4Address string check. */
function isIpv4(text) {
  const octets = text.split(".");
  return octets.length === 4 && octets.every((octet) => /^[0-9]{1,3}$/.test(octet)
    && (octet === "0" || octet[0] !== "0") && Number(octet) <= 255);
}

/** Python 3.11's ipaddress.IPv6Address string check (with an optional %scope). */
function isIpv6(text) {
  if (text.includes("/")) return false;
  const percent = text.indexOf("%");
  let address = text;
  if (percent >= 0) {
    const scope = text.slice(percent + 1);
    if (!scope || scope.includes("%")) return false;
    address = text.slice(0, percent);
  }
  if (!address) return false;
  const parts = address.split(":");
  if (parts.length < 3) return false;
  if (parts[parts.length - 1].includes(".")) {
    if (!isIpv4(parts[parts.length - 1])) return false;
    parts.splice(parts.length - 1, 1, "0", "0");
  }
  if (parts.length > 9) return false;
  let skip = null;
  for (let i = 1; i < parts.length - 1; i += 1) {
    if (!parts[i]) {
      if (skip !== null) return false;
      skip = i;
    }
  }
  let hi, lo;
  if (skip !== null) {
    hi = skip;
    lo = parts.length - skip - 1;
    if (!parts[0] && --hi) return false;
    if (!parts[parts.length - 1] && --lo) return false;
    if (8 - (hi + lo) < 1) return false;
  } else {
    if (parts.length !== 8 || !parts[0] || !parts[parts.length - 1]) return false;
    hi = parts.length;
    lo = 0;
  }
  const hextets = [...parts.slice(0, hi), ...parts.slice(parts.length - lo)];
  return hextets.every((hextet) => /^[0-9A-Fa-f]{1,4}$/.test(hextet));
}

/** Python 3.11.7's urllib.parse.urlsplit for a printable-ASCII http(s) URL; throws where it raises. */
function urlsplit(url) {
  const colon = url.indexOf(":");
  const scheme = url.slice(0, colon).toLowerCase();
  let rest = url.slice(colon + 1);
  let netloc = "";
  if (rest.startsWith("//")) {
    let delim = rest.length;
    for (const c of "/?#") {
      const found = rest.indexOf(c, 2);
      if (found >= 0) delim = Math.min(delim, found);
    }
    netloc = rest.slice(2, delim);
    rest = rest.slice(delim);
    const open = netloc.includes("["), close = netloc.includes("]");
    if (open !== close) bad("Invalid IPv6 URL");
    if (open) {
      const host = netloc.slice(netloc.indexOf("[") + 1).split("]")[0];
      if (host.startsWith("v") ? !/^v[a-fA-F0-9]+\..+$/.test(host) : !isIpv6(host)) bad("Invalid IPv6 URL");
    }
  }
  let fragment = "", query = "";
  const hash = rest.indexOf("#");
  if (hash >= 0) [rest, fragment] = [rest.slice(0, hash), rest.slice(hash + 1)];
  const question = rest.indexOf("?");
  if (question >= 0) [rest, query] = [rest.slice(0, question), rest.slice(question + 1)];
  return { scheme, netloc, path: rest, query, fragment };
}

/** A GS1 Digital Link URI on any host: key and qualifiers in the path, attributes such as ?17= in the query. */
function digitalLink(value) {
  if (!PRINTABLE_ASCII.test(value)) bad("A Digital Link URI is printable ASCII (percent-encode the rest)");
  const parts = urlsplit(value);
  const query = parseQs(parts.query);
  for (const [key, values] of query) {
    if (AI_SOURCE.has(key) && new Set(values).size > 1) bad(`(${key}) appears twice with different values`);
  }
  const segments = parts.path.split("/");
  const key = segments.findIndex((segment) => DL_PRIMARY.has(segment));
  if (key < 0) bad(`Not a GS1 Digital Link: no primary key in the path ${pyRepr(parts.path.slice(0, 40))}`);
  if (segments[key] === "01" && key + 1 < segments.length && !GTIN_DIGITS.test(unquote(segments[key + 1]))) {
    bad(`Digital Link GTIN ${pyRepr(segments[key + 1].slice(0, 20))} is not 8, 12, 13 or 14 digits`);
  }
  const path = segments.slice(key);
  if (path.length % 2 !== 0) bad("Not a GS1 Digital Link: the path has a key without a value");
  const decoded = path.map(unquote);
  const primary = decoded[0];
  const primaryValue = primary === "01" ? decoded[1].padStart(14, "0") : decoded[1];
  const elements = [element(primary + primaryValue)];
  const expected = [...DL_PRIMARY.get(primary)];
  for (let i = 2; i < decoded.length; i += 2) {
    let found = false;
    while (expected.length && !found) found = expected.shift() === decoded[i];
    if (!found) bad(`Not a GS1 Digital Link: (${decoded[i]}) cannot qualify (${primary}) there`);
    elements.push(element(decoded[i] + decoded[i + 1]));
  }
  for (const [name, values] of query) {
    if (AI_SOURCE.has(name)) elements.push(element(name + values[values.length - 1])); // others are ignored
  }
  return elements;
}

// --- the interpretation ------------------------------------------------------------------------------------

function stripChars(text, chars) {
  let start = 0, end = text.length;
  while (start < end && chars.includes(text[start])) start += 1;
  while (end > start && chars.includes(text[end - 1])) end -= 1;
  return text.slice(start, end);
}

/** The number of Unicode code points of a string (what Python's len counts). */
function codePoints(text) {
  let count = 0;
  for (let i = 0; i < text.length; i += 1) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i += 1;
    }
    count += 1;
  }
  return count;
}

function result(raw, fields) {
  const scan = { kind: "gs1", raw, symbology: null, error: null, message: null };
  for (const name of FIELDS) scan[name] = null;
  Object.assign(scan, fields);
  if (scan.text !== null) scan.kind = "text";
  return scan;
}

/** Scan fields from checked elements; refuses check-digit errors, conflicts and impossible values. */
function fromElements(raw, elements, symbology) {
  const fields = new Map();
  for (const el of elements) {
    if (el.error) bad(el.error);
    if (!/^[\x00-\x7f]*$/.test(el.value)) bad(`(${el.ai}) holds characters outside ASCII`);
    if (fields.has(el.ai) && fields.get(el.ai).value !== el.value) {
      bad(`(${el.ai}) appears twice with different values`);
    }
    fields.set(el.ai, el);
  }
  if (fields.has("01") && fields.has("02")) bad("(01) and (02) cannot be in one barcode");
  const lot = fields.get("10")?.value ?? null;
  if (lot !== null && !LOT_CODE_RE.test(lot)) bad(`Lot ${pyRepr(lot)} is not a valid GS1 lot`);
  const count = fields.get("37") ?? fields.get("30") ?? null;
  if (count !== null && !count.value) bad(`(${count.ai}) without a count`);
  const weight = [...fields.values()].find((el) => el.ai.startsWith("310")) ?? null;
  return result(raw, {
    gtin: (fields.get("01") ?? fields.get("02"))?.value ?? null,
    sku: fields.get("240")?.value ?? null,
    lot,
    expires_on: fields.get("17")?.date ?? null,
    sscc: fields.get("00")?.value ?? null,
    serial: fields.get("21")?.value ?? null,
    count: count === null ? null : Number(count.value),
    net_kg: weight === null ? null : decimalOf(weight.value, Number(weight.ai[3])),
    gln: fields.get("414")?.value ?? null,
    symbology,
  });
}

/** A (31nn) measure as Python's str(Decimal): leading zeros dropped, the n decimals kept. */
function decimalOf(digits, decimals) {
  const units = digits.slice(0, digits.length - decimals).replace(/^0+(?=.)/, "");
  return decimals ? `${units}.${digits.slice(digits.length - decimals)}` : units;
}

/** The GTIN-14 of an EAN/UPC (]E0, ]E4) or ITF-14 (]I1) symbol's digits. */
function gtinSymbol(value, symbology) {
  const lengths = { "]E0": [8, 12, 13], "]E4": [8], "]I1": [14] }[symbology];
  if (!/^[0-9]+$/.test(value) || !lengths.includes(value.length)) {
    bad(`${symbology} data ${pyRepr(value.slice(0, 20))} is not an EAN/UPC/ITF-14 number`);
  }
  const digits = symbology === "]E0" && value.length === 8 ? upcA(value) : value;
  if (!checkDigitOk(digits)) bad(`Invalid check digit in ${symbology} ${value}`);
  return digits.padStart(14, "0");
}

/** A UPC-E number (number system 0 or 1, 6 digits, check digit) expanded to its UPC-A. */
function upcA(upcE) {
  if (upcE[0] !== "0" && upcE[0] !== "1") bad(`Invalid UPC-E number system in ${upcE}`);
  const d = upcE, last = d[6], check = d[7];
  if ("012".includes(last)) return `${d.slice(0, 3)}${last}0000${d.slice(3, 6)}${check}`;
  if (last === "3") return `${d.slice(0, 4)}00000${d.slice(4, 6)}${check}`;
  if (last === "4") return `${d.slice(0, 5)}00000${d[5]}${check}`;
  return `${d.slice(0, 6)}0000${last}${check}`;
}

/** A plain code (location or lot), with the GTIN it may be when it has the shape of one. */
function plain(raw, value, symbology) {
  if (CONTROL.test(value)) bad("Control characters in a plain code");
  const length = codePoints(value);
  if (length > MAX_TEXT) bad(`A plain code of ${length} characters is no location or lot code`);
  return result(raw, { text: value, gtin: isGtin(value) ? value.padStart(14, "0") : null, symbology });
}

function read(raw, substitute) {
  if (typeof raw !== "string" || raw.length > 2 * MAX_SCAN || codePoints(raw) > MAX_SCAN) {
    bad(`Not a scan or longer than ${MAX_SCAN} characters`);
  }
  let value = stripChars(raw, EDGES);
  if (!value) bad("Empty scan");
  let symbology = null;
  if (SYMBOLOGY.test(value)) {
    symbology = value.slice(0, 3);
    value = value.slice(3);
    if (!value) bad(`Symbology identifier ${symbology} without data`);
  }
  const stand = typeof substitute === "string" ? substitute : "";
  const separators = GS + stand;
  if (URI.test(value)) return fromElements(raw, digitalLink(value), symbology);
  if (GS1_SYMBOLOGIES.has(symbology)) return fromElements(raw, elementStrings(value, separators), symbology);
  if (symbology === "]E0" || symbology === "]E4" || (symbology === "]I1" && /^[0-9]{14}$/.test(value))) {
    return result(raw, { gtin: gtinSymbol(value, symbology), symbology });
  }
  if (symbology === null) {
    if (value.startsWith("(")) return fromElements(raw, hri(value), null);
    if (value.includes(GS) || KEY_FIRST.test(value)
        || (/^[0-9]{2}/.test(value) && Array.from(stand).some((ch) => value.includes(ch)))) {
      return fromElements(raw, elementStrings(value, separators), null);
    }
  }
  return plain(raw, value, symbology);
}

/**
 * Read a scan exactly as the server does. Never throws for a string input.
 * @param {string} raw  what the decoder or wedge scanner delivered
 * @param {{substitute?: string}} [options]  substitute: the character(s) a wedge scanner types for GS
 *   (the site's gs_substitute; default "|"; "" or null for none)
 * @returns {{kind: "gs1"|"text"|"invalid", raw: string, text: ?string, gtin: ?string, sku: ?string,
 *   lot: ?string, expires_on: ?string, sscc: ?string, serial: ?string, count: ?number, net_kg: ?string,
 *   gln: ?string, symbology: ?string, error: ?string, message: ?string}}
 *   kind "invalid": error is "bad_barcode" (the server's reason code) and message says why; every data field
 *   is null. Otherwise error and message are null. gtin is 14 digits, expires_on "YYYY-MM-DD", net_kg a
 *   decimal string ("1.250"), count a number.
 */
export function interpret(raw, { substitute = "|" } = {}) {
  try {
    return read(raw, substitute);
  } catch (error) {
    if (!(error instanceof BadBarcode)) throw error;
    return { ...result(typeof raw === "string" ? raw : String(raw), {}), kind: "invalid", error: "bad_barcode",
      message: error.message };
  }
}

/** True when a scan carried GS1 data (element string, HRI, Digital Link or EAN/UPC/ITF-14 symbol). */
export function isGs1(scan) {
  return scan?.kind === "gs1";
}

/** The lot code a scan names: (10) of a GS1 scan, or a plain code (which may be a bare lot code); else null. */
export function lotOf(scan) {
  if (scan?.kind === "gs1") return scan.lot;
  if (scan?.kind === "text") return scan.text;
  return null;
}

/** A string as Python's repr() writes it (the server's messages quote codes that way: No lot 'L1'). */
export function pyRepr(value) {
  if (typeof value !== "string") return String(value);
  const quote = value.includes("'") && !value.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of value) {
    const code = ch.codePointAt(0);
    if (ch === quote || ch === "\\") out += `\\${ch}`;
    else if (ch === "\t") out += "\\t";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else if (code < 0x7f || !/^[\p{C}\p{Z}]$/u.test(ch)) out += ch;
    else if (code < 0x100) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else if (code < 0x10000) out += `\\u${code.toString(16).padStart(4, "0")}`;
    else out += `\\U${code.toString(16).padStart(8, "0")}`;
  }
  return out + quote;
}
