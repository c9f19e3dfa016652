// The Lotwise service worker: precaches the app shell, its modules and the self-hosted zxing-wasm files under a
// versioned cache, serves them cache-first, lets every /api call go to the network, and deletes the app's stale
// caches when a new version activates. No business logic: the app decides everything.
// VERSION and PRECACHE are filled in by the pwa blueprint (a hash of the precached files, and their URLs).
const VERSION = "__VERSION__";
const PRECACHE = ["__PRECACHE__"];
const PREFIX = "lotwise-shell-";
const CACHE = PREFIX + VERSION;

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    // Fetched afresh (not from the HTTP cache) so that a new version never precaches an old file.
    await cache.addAll(PRECACHE.map((url) => new Request(url, { cache: "reload" })));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith(PREFIX) && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

function isShell(url) {
  return url.origin === self.location.origin && (url.pathname === "/" || url.pathname === "/index.html" ||
    url.pathname === "/manifest.webmanifest" || url.pathname.startsWith("/app/"));
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return; // pushes, sign-in: straight to the network
  const url = new URL(request.url);
  if (!isShell(url)) return; // /api and everything else: the network, as if there were no worker
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    const key = url.pathname === "/index.html" ? "/" : url.pathname;
    const hit = await cache.match(key, { ignoreSearch: true });
    if (hit) return hit;
    try {
      const response = await fetch(request);
      if (response.ok && response.type === "basic") cache.put(key, response.clone());
      return response;
    } catch (error) {
      if (request.mode === "navigate") {
        const shell = await cache.match("/");
        if (shell) return shell;
      }
      throw error;
    }
  })());
});

// Background Sync (Chromium): wake the open app to push its queue; without an open window the queue is pushed
// the next time the app starts (the service worker holds no data and no credentials of its own).
self.addEventListener("sync", (event) => {
  if (event.tag !== "lotwise-sync") return;
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    for (const client of windows) client.postMessage({ type: "lotwise-sync" });
  })());
});

self.addEventListener("message", (event) => {
  if (event.data?.type === "skip-waiting") self.skipWaiting();
});
