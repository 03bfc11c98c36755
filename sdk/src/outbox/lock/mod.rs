//! One drainer at a time.
//!
//! Two drainers racing over the same queue would send the same entry twice at once; the
//! idempotency key makes that harmless for the server, but the entry's status would flap and
//! the user would see two "sending". So draining is exclusive:
//!
//! - within one process (native) or one page/worker (browser): an async mutex shared by every
//!   clone of the [`Outbox`](super::Outbox);
//! - across tabs and the service worker: a Web Lock (`navigator.locks.request(name,
//!   {ifAvailable: true}, …)`), taken only if free, so a second drainer skips instead of
//!   queueing behind the first. Where `navigator.locks` is missing (very old browsers), only
//!   the in-context mutex applies.
//!
//! Both are "try" locks: a drain that finds the queue busy returns at once.
//!
//! The same Web Locks code also serves locks that wait their turn (`wait_for`, browser
//! only): the session refresh, which every context must run one after the other because the
//! refresh cookie rotates on each use.

#[cfg(target_arch = "wasm32")]
mod wasm;

#[cfg(target_arch = "wasm32")]
pub use wasm::web_locks_available;
#[cfg(target_arch = "wasm32")]
pub(crate) use wasm::WebLockGuard;

use futures::lock::{Mutex, MutexGuard};

use super::OutboxError;

pub(super) struct DrainLock {
    local: Mutex<()>,
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    name: String,
}

/// Held while a drain runs; releases every lock on drop.
pub(super) struct DrainGuard<'a> {
    #[cfg(target_arch = "wasm32")]
    _web: Option<wasm::WebLockGuard>,
    _local: MutexGuard<'a, ()>,
}

impl DrainLock {
    pub(super) fn new(name: String) -> Self {
        DrainLock {
            local: Mutex::new(()),
            name,
        }
    }

    /// The guard, or `None` when another drainer holds the queue.
    #[cfg_attr(not(target_arch = "wasm32"), allow(clippy::unused_async))]
    pub(super) async fn try_acquire(&self) -> Result<Option<DrainGuard<'_>>, OutboxError> {
        let Some(local) = self.local.try_lock() else {
            return Ok(None);
        };
        #[cfg(target_arch = "wasm32")]
        {
            match wasm::try_acquire(&self.name).await {
                Ok(wasm::Acquired::Granted(web)) => Ok(Some(DrainGuard {
                    _web: Some(web),
                    _local: local,
                })),
                Ok(wasm::Acquired::Unsupported) => Ok(Some(DrainGuard {
                    _web: None,
                    _local: local,
                })),
                Ok(wasm::Acquired::Busy) => Ok(None),
                Err(e) => Err(OutboxError::Lock(e)),
            }
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            Ok(Some(DrainGuard { _local: local }))
        }
    }
}

/// Waits for the Web Lock `name`, shared by every tab and the service worker of the origin
/// (the session refresh takes its turn this way instead of skipping like a drain). `None`
/// when this context has no Web Locks or the request failed: the caller then relies on its
/// own in-context exclusion, as browsers without `navigator.locks` do.
#[cfg(target_arch = "wasm32")]
pub(crate) async fn wait_for(name: &str) -> Option<WebLockGuard> {
    match wasm::acquire(name).await {
        Ok(wasm::Acquired::Granted(guard)) => Some(guard),
        Ok(wasm::Acquired::Unsupported | wasm::Acquired::Busy) => None,
        Err(e) => {
            tracing::warn!(lock = name, error = %e, "web lock request failed");
            None
        }
    }
}
