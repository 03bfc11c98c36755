// The Lifeline service worker shim. Listeners must be registered synchronously during the
// worker's first evaluation, so this file registers them and hands every event to the Rust
// module (sw_glue_bg.wasm) after one shared initialisation. scripts/build-web replaces the
// manifest placeholder with the precache list of this build: any change to the app changes
// this file, which is how the browser notices an update.
'use strict';
importScripts('./sw_glue.js');

const PRECACHE_MANIFEST = '__LIFELINE_PRECACHE_MANIFEST__';
const WASM_URL = './sw_glue_bg.wasm';

// Offline, a restarted worker must still start: take its own module from the precache first.
async function loadModule() {
  let response;
  try {
    response = await caches.match(new URL(WASM_URL, self.location).pathname);
  } catch (_) {
    response = undefined;
  }
  await wasm_bindgen({ module_or_path: response || fetch(WASM_URL) });
  wasm_bindgen.configure(PRECACHE_MANIFEST);
}

const ready = loadModule();
let initialised = false;
ready.then(() => { initialised = true; }, () => {});

self.addEventListener('install', (e) => {
  e.waitUntil(ready.then(() => wasm_bindgen.handle_install()));
});

self.addEventListener('activate', (e) => {
  e.waitUntil(ready.then(() => wasm_bindgen.handle_activate()));
});

self.addEventListener('fetch', (e) => {
  // Writes and, once the module runs, every request it does not handle go straight to the
  // network without waiting on the worker.
  if (e.request.method !== 'GET') return;
  if (initialised && !wasm_bindgen.handles(e.request)) return;
  e.respondWith(ready.then(() => wasm_bindgen.handle_fetch(e.request)));
});

self.addEventListener('sync', (e) => {
  e.waitUntil(ready.then(() => wasm_bindgen.handle_sync(e.tag)));
});

self.addEventListener('message', (e) => {
  e.waitUntil(ready.then(() => wasm_bindgen.handle_message(e.data)));
});
