//! The cross-context half of the drain lock and of the session refresh lock: the Web Locks
//! API, called through `js_sys` reflection on the global object so neither
//! `web_sys_unstable_apis` nor a `window` is needed: `navigator` is the page's `Navigator` or
//! the worker's `WorkerNavigator`, and both have `locks`.

use futures::channel::oneshot;
use futures::future::{select, Either};
use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

pub(crate) enum Acquired {
    /// We hold the lock until the guard drops.
    Granted(WebLockGuard),
    /// Another tab or worker holds it (only when asked not to wait).
    Busy,
    /// This context has no `navigator.locks`.
    Unsupported,
}

/// Releases the Web Lock on drop by settling the promise the lock callback returned.
pub(crate) struct WebLockGuard {
    release: Function,
}

impl Drop for WebLockGuard {
    fn drop(&mut self) {
        // Resolving cannot throw; an error here would only mean the page is going away.
        let _ = self.release.call0(&JsValue::UNDEFINED);
    }
}

fn describe(e: JsValue) -> String {
    e.as_string()
        .or_else(|| {
            e.dyn_ref::<js_sys::Error>()
                .map(|err| String::from(err.message()))
        })
        .unwrap_or_else(|| format!("{e:?}"))
}

fn lock_manager() -> Result<Option<JsValue>, String> {
    let global = js_sys::global();
    let navigator = Reflect::get(&global, &"navigator".into()).map_err(describe)?;
    if navigator.is_undefined() || navigator.is_null() {
        return Ok(None);
    }
    let locks = Reflect::get(&navigator, &"locks".into()).map_err(describe)?;
    if locks.is_undefined() || locks.is_null() {
        return Ok(None);
    }
    Ok(Some(locks))
}

/// True when this context offers the Web Locks API (`navigator.locks`).
pub fn web_locks_available() -> bool {
    matches!(lock_manager(), Ok(Some(_)))
}

/// Takes the lock `name` only if it is free.
pub(super) async fn try_acquire(name: &str) -> Result<Acquired, String> {
    request(name, true).await
}

/// Takes the lock `name`, waiting for as long as another context holds it. Dropping the
/// future before it is granted gives the lock back as soon as it is granted.
pub(crate) async fn acquire(name: &str) -> Result<Acquired, String> {
    request(name, false).await
}

async fn request(name: &str, if_available: bool) -> Result<Acquired, String> {
    let Some(locks) = lock_manager()? else {
        tracing::warn!(
            lock = name,
            "navigator.locks is missing: the lock is exclusive only within this context"
        );
        return Ok(Acquired::Unsupported);
    };
    let request: Function = Reflect::get(&locks, &"request".into())
        .map_err(describe)?
        .dyn_into()
        .map_err(|_| "navigator.locks.request is not a function".to_owned())?;
    let options = Object::new();
    if if_available {
        Reflect::set(&options, &"ifAvailable".into(), &JsValue::TRUE).map_err(describe)?;
    }

    // The lock is held until the promise returned by the callback settles: keep its resolve
    // function in the guard.
    let mut release = None;
    let hold = Promise::new(&mut |resolve, _reject| release = Some(resolve));
    // Made before anything can be awaited: if this future is dropped half-way, the guard's
    // drop settles `hold` and a lock granted later is released straight away.
    let guard = WebLockGuard {
        release: release.ok_or_else(|| "promise executor did not run".to_owned())?,
    };

    let (granted_tx, granted_rx) = oneshot::channel::<bool>();
    let callback = Closure::once_into_js(move |lock: JsValue| -> JsValue {
        let granted = !lock.is_null() && !lock.is_undefined();
        // If the drain was dropped meanwhile, its guard already resolved `hold`, so returning
        // it releases the lock at once.
        let _ = granted_tx.send(granted);
        if granted {
            hold.into()
        } else {
            JsValue::UNDEFINED
        }
    });
    let outer: Promise = request
        .call3(&locks, &name.into(), &options, &callback)
        .map_err(describe)?
        .dyn_into()
        .map_err(|_| "navigator.locks.request did not return a promise".to_owned())?;

    // The callback normally runs first; if the request fails instead, its promise rejects.
    match select(granted_rx, JsFuture::from(outer)).await {
        Either::Left((Ok(true), _)) => Ok(Acquired::Granted(guard)),
        Either::Left((Ok(false), _)) => Ok(Acquired::Busy),
        Either::Left((Err(_), _)) => Err("web lock callback dropped".to_owned()),
        Either::Right((Ok(_), _)) => Ok(Acquired::Busy),
        Either::Right((Err(e), _)) => Err(describe(e)),
    }
}
