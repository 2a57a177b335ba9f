// Relay's service worker: serves the app shell from cache (offline too); the notifications the page
// shows through its registration while in the background focus the app when clicked. The build fills
// in the shell and the version.
const SHELL = "__SHELL__";
const CACHE = "relay-shell-__VERSION__";

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((name) => name !== CACHE).map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin || url.pathname.startsWith("/api")) return;
  if (event.request.mode === "navigate") {
    // Network first, so a signed-in page always gets the current shell; the cached one offline.
    event.respondWith(fetch(event.request).catch(() => caches.match("/", { ignoreVary: true })));
  } else if (url.pathname.startsWith("/static/")) {
    // ignoreVary: module requests carry an Origin header the install-time requests did not.
    event.respondWith(caches.match(event.request, { ignoreVary: true }).then((hit) => hit || fetch(event.request)));
  }
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(
    self.clients.matchAll({ type: "window" }).then((windows) => windows[0]?.focus() ?? self.clients.openWindow("/")),
  );
});
