//! lifeline-sw: the Lifeline service worker, written in Rust and loaded by the small `sw.js`
//! shim. It precaches the app shell with content-hash revisions, answers navigations network
//! first with a short timeout and the cached shell as fallback, serves shell files from the
//! cache, leaves API calls to the SDK, cleans old caches on activation, activates an update
//! when the page asks, and on Background Sync drains the SDK's outbox itself, with the same
//! Rust outbox code and locks the page uses.

pub mod policy;

#[cfg(target_arch = "wasm32")]
mod outbox;
#[cfg(target_arch = "wasm32")]
mod worker;
