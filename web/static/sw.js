/* Carelog service worker: the app shell offline, and nothing about people, ever.
 *
 * Served at /sw.js by backend/pwa.py, which writes in the version (a hash of the shell) and the
 * shell's URLs. Cached: the style, the scripts, the icons and the offline page, which names no one.
 * Never cached: pages (they show people), API answers, photos. A page that cannot be fetched is
 * answered with the offline page, which lists what this phone's outbox still holds (outbox.js).
 */
'use strict';

const VERSION = "__CARELOG_VERSION__";
const SHELL = ["__CARELOG_SHELL__"];
const CACHE = 'carelog-shell-' + VERSION;
const OFFLINE = '/offline';

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches.open(CACHE)
      .then((cache) => cache.addAll(SHELL.map((url) => new Request(url, { cache: 'reload' }))))
      .then(() => self.skipWaiting())
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(
        names.filter((name) => name.startsWith('carelog-') && name !== CACHE).map((name) => caches.delete(name))
      ))
      .then(() => self.clients.claim())
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === 'navigate') {
    // Pages always come from the network (never stored); without one, the offline page.
    event.respondWith(
      fetch(request).catch(() => caches.open(CACHE).then((cache) => cache.match(OFFLINE)))
        .then((response) => response || Response.error())
    );
    return;
  }
  if (url.pathname.startsWith('/static/')) {
    // Only the exact shell URLs (with their version query) are in the cache; anything else goes
    // to the network as if there were no worker.
    event.respondWith(
      caches.open(CACHE).then((cache) => cache.match(request)).then((hit) => hit || fetch(request))
    );
  }
  // Everything else (API calls, photos, htmx fragments) is not touched.
});

// Background Sync where the browser has it: wake any open page to send its outbox. The pages hold
// the sending logic (and the CSRF token), so with no page open this does nothing; the outbox is sent
// on the next page load instead.
self.addEventListener('sync', (event) => {
  if (event.tag !== 'carelog-outbox') return;
  event.waitUntil(
    self.clients.matchAll({ type: 'window' }).then((clients) => {
      clients.forEach((client) => client.postMessage({ type: 'carelog-flush' }));
    })
  );
});
