//! Clocks and timers for both targets, so the rest of the SDK never names a runtime.
//!
//! `now()` is monotonic time since a process-wide origin (the `now: Duration` the policies
//! take), `unix_ms()` is wall-clock time for stored timestamps, and `sleep(d)` waits without
//! blocking. Native uses tokio; the browser uses `performance.now()` and `setTimeout`.

#[cfg(not(target_arch = "wasm32"))]
mod native;
#[cfg(not(target_arch = "wasm32"))]
pub use native::{now, sleep, unix_ms};

#[cfg(target_arch = "wasm32")]
mod wasm;
#[cfg(target_arch = "wasm32")]
pub use wasm::{now, sleep, unix_ms};

use std::future::Future;
use std::time::Duration;

use futures::future::{select, Either};

/// Runs `fut` but gives up after `limit`, answering `None`.
pub async fn timeout<F: Future>(limit: Duration, fut: F) -> Option<F::Output> {
    let fut = std::pin::pin!(fut);
    let timer = std::pin::pin!(sleep(limit));
    match select(fut, timer).await {
        Either::Left((out, _)) => Some(out),
        Either::Right(_) => None,
    }
}
