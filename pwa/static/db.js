// The one module that knows IndexedDB: the database's name, its versions and its object stores.
// Everything else goes through the functions exported here.
//
// Stores (version 1):
//   items      {id, sku, name, gtin, uom, pick_policy, shelf_life_days}   indexes: gtin, sku (unique)
//   locations  {id, code, name, kind}                                    index:   code (unique)
//   lots       {id, item, code, status, expires_on, received_at, stock{loc: qty}}  indexes: code, item
//   tasks      {id, pick_list, status, item, lot, lot_code, from, to, qty, …, local?}  indexes: status, from
//   outbox     {id, seq, type, at, args, device, user, status, local, server, …}  indexes: seq (unique), status,
//              attention (only the decided mutations still to be looked at carry the field)
//   meta       {key, value}  cursor, site, auth, seq counter, last sync, device
//
// Pulled rows are replaced whole; rows the device changed by a queued mutation carry `local` marks until the
// next pull replaces them with the server's view.

export const DB_NAME = "lotwise";
export const DB_VERSION = 1;
const PULLED = ["items", "locations", "lots", "tasks"];

let opening = null;

function upgrade(db, oldVersion) {
  if (oldVersion < 1) {
    const items = db.createObjectStore("items", { keyPath: "id" });
    items.createIndex("gtin", "gtin");
    items.createIndex("sku", "sku", { unique: true });
    const locations = db.createObjectStore("locations", { keyPath: "id" });
    locations.createIndex("code", "code", { unique: true });
    const lots = db.createObjectStore("lots", { keyPath: "id" });
    lots.createIndex("code", "code");
    lots.createIndex("item", "item");
    const tasks = db.createObjectStore("tasks", { keyPath: "id" });
    tasks.createIndex("status", "status");
    tasks.createIndex("from", "from");
    const outbox = db.createObjectStore("outbox", { keyPath: "id" });
    outbox.createIndex("seq", "seq", { unique: true });
    outbox.createIndex("status", "status");
    outbox.createIndex("attention", "attention"); // set (1) only on decided mutations the worker must look at
    db.createObjectStore("meta", { keyPath: "key" });
  }
  // Later versions: `if (oldVersion < 2) { … }` — never change what version 1 made in place.
}

/** The open database (opened once per page). */
export function open() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const request = indexedDB.open(DB_NAME, DB_VERSION);
      request.onupgradeneeded = (event) => upgrade(request.result, event.oldVersion);
      request.onsuccess = () => {
        const db = request.result;
        db.onversionchange = () => { db.close(); opening = null; };
        resolve(db);
      };
      request.onerror = () => { opening = null; reject(request.error); };
      request.onblocked = () => console.warn("IndexedDB upgrade blocked by another tab");
    });
  }
  return opening;
}

function done(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function finished(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new DOMException("aborted", "AbortError"));
  });
}

/** Run `body(stores)` in one transaction over `names`; resolves with body's value once committed. */
export async function transaction(names, mode, body) {
  const db = await open();
  const tx = db.transaction(names, mode);
  const stores = Object.fromEntries(names.map((n) => [n, tx.objectStore(n)]));
  let value;
  try {
    value = await body(stores, tx);
  } catch (error) {
    try { tx.abort(); } catch { /* already finished */ }
    throw error;
  }
  await finished(tx);
  return value;
}

// --- generic reads ---------------------------------------------------------------------------------------

export async function get(store, key) {
  const db = await open();
  return done(db.transaction(store).objectStore(store).get(key));
}

export async function all(store, { index, query, count } = {}) {
  const db = await open();
  const source = db.transaction(store).objectStore(store);
  return done((index ? source.index(index) : source).getAll(query, count));
}

export async function byIndex(store, index, value) {
  if (value === undefined || value === null || value === "") return [];
  return all(store, { index, query: value });
}

export async function firstByIndex(store, index, value) {
  if (value === undefined || value === null || value === "") return undefined;
  const db = await open();
  return done(db.transaction(store).objectStore(store).index(index).get(value));
}

export async function count(store, { index, query } = {}) {
  const db = await open();
  const source = db.transaction(store).objectStore(store);
  return done((index ? source.index(index) : source).count(query));
}

export async function put(store, value) {
  return transaction([store], "readwrite", (s) => done(s[store].put(value)));
}

export async function putMany(store, values) {
  return transaction([store], "readwrite", (s) => { for (const v of values) s[store].put(v); });
}

export async function remove(store, key) {
  return transaction([store], "readwrite", (s) => done(s[store].delete(key)));
}

/** Rows of `store` in `index` order, newest first when `reverse`, at most `limit`, from an optional range. */
export async function page(store, { index, query = null, reverse = false, limit = 200 } = {}) {
  const db = await open();
  const source = db.transaction(store).objectStore(store);
  const cursorSource = index ? source.index(index) : source;
  return new Promise((resolve, reject) => {
    const rows = [];
    const request = cursorSource.openCursor(query, reverse ? "prev" : "next");
    request.onerror = () => reject(request.error);
    request.onsuccess = () => {
      const cursor = request.result;
      if (!cursor || rows.length >= limit) return resolve(rows);
      rows.push(cursor.value);
      cursor.continue();
    };
  });
}

// --- meta ------------------------------------------------------------------------------------------------

export async function getMeta(key, fallback = undefined) {
  const row = await get("meta", key);
  return row === undefined ? fallback : row.value;
}

export async function setMeta(key, value) {
  return put("meta", { key, value });
}

export async function deleteMeta(key) {
  return remove("meta", key);
}

// --- pulled data -----------------------------------------------------------------------------------------

/** Apply a pull answer: a full one replaces the pulled stores, a delta upserts and deletes. Local marks on
 * tasks whose mutations are still pending survive (the server has not seen them yet). */
export async function applyPull(body) {
  const pendingTasks = new Map();
  await transaction([...PULLED, "outbox", "meta"], "readwrite", async (s) => {
    const pending = await done(s.outbox.index("status").getAll("pending"));
    for (const m of pending) if (m.type === "pick" && m.local_task) pendingTasks.set(m.args.task, m.local_task);
    if (body.full) for (const name of PULLED) s[name].clear();
    for (const name of PULLED) {
      for (const row of body[name] || []) {
        if (name === "tasks" && pendingTasks.has(row.id)) Object.assign(row, pendingTasks.get(row.id));
        s[name].put(row);
      }
      for (const id of (body.removed || {})[name] || []) s[name].delete(id);
    }
    if (body.site) s.meta.put({ key: "site", value: body.site });
    s.meta.put({ key: "cursor", value: body.cursor });
  });
}

/** Forget every pulled row and the cursor (the next pull is a full one); the outbox stays. */
export async function clearPulled() {
  await transaction([...PULLED, "meta"], "readwrite", (s) => {
    for (const name of PULLED) s[name].clear();
    s.meta.delete("cursor");
  });
}

// --- the outbox's storage (outbox.js holds the rules of the queue) ------------------------------------------

/** Store a new mutation with the next seq, and apply its local effects, in one transaction. */
export async function addMutation(record, effects = {}) {
  return transaction(["outbox", "meta", "lots", "tasks"], "readwrite", async (s) => {
    const last = await done(s.meta.get("seq"));
    record.seq = (last ? last.value : 0) + 1;
    s.meta.put({ key: "seq", value: record.seq });
    s.outbox.add(record);
    for (const lot of effects.lots || []) s.lots.put(lot);
    for (const task of effects.tasks || []) s.tasks.put(task);
    return record;
  });
}

/** Update outbox rows by id with `change(row)` (returning the row to store, or null to skip). */
export async function updateMutations(ids, change) {
  return transaction(["outbox"], "readwrite", async (s) => {
    // All reads at once (IndexedDB serves them in order without a round trip each), then all writes.
    const rows = await Promise.all(ids.map((id) => done(s.outbox.get(id))));
    const changed = [];
    for (const row of rows) {
      if (!row) continue;
      const next = change(row);
      if (next) { s.outbox.put(next); changed.push(next); }
    }
    return changed;
  });
}

/** Delete the whole database (tests and "reset this device"). */
export async function destroy() {
  const db = await open().catch(() => null);
  if (db) db.close();
  opening = null;
  await done(indexedDB.deleteDatabase(DB_NAME));
}
