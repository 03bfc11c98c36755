//! Storage durability: keeping the offline data, and noticing when it was lost anyway.
//!
//! Browsers may evict an origin's IndexedDB under storage pressure unless the origin asked for
//! persistent storage, and users or "cleaner" tools may clear it. A queue that silently
//! disappears is the worst failure an outbox can have, so:
//!
//! - [`request_persistence`] asks for persistent storage (`navigator.storage.persist()`);
//! - [`estimate`] reports usage and quota (`navigator.storage.estimate()`) for quota warnings;
//! - [`detect_wipe`] keeps a marker record in the store and a copy of it in `localStorage`:
//!   when the store lost its marker but `localStorage` still remembers one, the store was
//!   cleared behind our back, and the app should say "your offline data was cleared by the
//!   browser" (queued writes may be lost) instead of pretending nothing happened.
//!
//! On native the store is a file the app owns: persistence is granted and there is no second
//! place to keep a marker, so [`detect_wipe`] only tells a first run from a later one.
//!
//! The browser calls go through `js_sys` reflection on the global object, so they work the
//! same in a page and in a service worker (which has `navigator.storage` but no
//! `localStorage`).

use crate::storage::{Store, StoreError, Table};

/// Key of the marker record in [`Table::META`].
const MARKER_KEY: &str = "durability-marker";

/// Storage usage and quota of the origin, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StorageEstimate {
    /// Bytes in use.
    pub usage: u64,
    /// Bytes the origin may use.
    pub quota: u64,
}

impl StorageEstimate {
    /// Share of the quota in use, from 0.0 to 1.0 (1.0 when the quota is zero).
    pub fn used_fraction(&self) -> f64 {
        if self.quota == 0 {
            1.0
        } else {
            self.usage as f64 / self.quota as f64
        }
    }
}

/// What [`detect_wipe`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WipeCheck {
    /// No marker anywhere: first run with this store. A marker is now written.
    FirstRun,
    /// The store still holds its marker.
    Intact,
    /// The store lost its marker while `localStorage` still had it: the browser (or the user)
    /// cleared the offline data. A new marker is written, so this is reported once.
    Wiped,
    /// The store has no marker and this context has no `localStorage` to compare with (a
    /// service worker): a first run and a wipe cannot be told apart. A marker is now written.
    Unknown,
}

fn new_marker() -> String {
    uuid::Uuid::new_v4().to_string()
}

async fn store_marker(store: &Store) -> Result<Option<String>, StoreError> {
    Ok(store
        .get(Table::META, MARKER_KEY)
        .await?
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
}

/// Asks the browser to keep this origin's storage under pressure; true when granted (or on
/// native, where the app owns its file). False when refused or unsupported.
#[cfg(not(target_arch = "wasm32"))]
#[allow(clippy::unused_async)]
pub async fn request_persistence() -> bool {
    true
}

/// Storage usage and quota; `None` on native or where the browser does not say.
#[cfg(not(target_arch = "wasm32"))]
#[allow(clippy::unused_async)]
pub async fn estimate() -> Option<StorageEstimate> {
    None
}

/// Checks whether `store` was wiped since the last check, and leaves a marker for the next.
/// `store_name` names the store's copy of the marker in `localStorage` (the IndexedDB name).
///
/// # Errors
/// [`StoreError`] when the store cannot be read or written.
#[cfg(not(target_arch = "wasm32"))]
pub async fn detect_wipe(store: &Store, store_name: &str) -> Result<WipeCheck, StoreError> {
    let _ = store_name;
    if store_marker(store).await?.is_some() {
        return Ok(WipeCheck::Intact);
    }
    store
        .put(Table::META, MARKER_KEY, new_marker().as_bytes())
        .await?;
    Ok(WipeCheck::FirstRun)
}

#[cfg(target_arch = "wasm32")]
pub use browser::{detect_wipe, estimate, request_persistence};

#[cfg(target_arch = "wasm32")]
mod browser {
    use js_sys::{Function, Promise, Reflect};
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;

    use super::{new_marker, store_marker, StorageEstimate, WipeCheck, MARKER_KEY};
    use crate::storage::{Store, StoreError, Table};

    fn get(target: &JsValue, name: &str) -> Option<JsValue> {
        Reflect::get(target, &name.into())
            .ok()
            .filter(|v| !v.is_undefined() && !v.is_null())
    }

    fn call(target: &JsValue, method: &str, args: &[JsValue]) -> Option<JsValue> {
        let f: Function = get(target, method)?.dyn_into().ok()?;
        let args: js_sys::Array = args.iter().collect();
        f.apply(target, &args).ok()
    }

    fn storage_manager() -> Option<JsValue> {
        get(&get(&js_sys::global(), "navigator")?, "storage")
    }

    async fn call_async(target: &JsValue, method: &str) -> Option<JsValue> {
        let promise: Promise = call(target, method, &[])?.dyn_into().ok()?;
        JsFuture::from(promise).await.ok()
    }

    /// Asks the browser to keep this origin's storage under pressure
    /// (`navigator.storage.persist()`); true when granted. False when refused or unsupported.
    pub async fn request_persistence() -> bool {
        let Some(manager) = storage_manager() else {
            return false;
        };
        match call_async(&manager, "persist").await {
            Some(granted) => granted.as_bool().unwrap_or(false),
            None => false,
        }
    }

    /// Storage usage and quota (`navigator.storage.estimate()`); `None` where unsupported.
    pub async fn estimate() -> Option<StorageEstimate> {
        let manager = storage_manager()?;
        let answer = call_async(&manager, "estimate").await?;
        let number = |name| get(&answer, name).and_then(|v| v.as_f64()).unwrap_or(0.0) as u64;
        Some(StorageEstimate {
            usage: number("usage"),
            quota: number("quota"),
        })
    }

    /// `localStorage`, or `None` (service worker, storage disabled, sandboxed frame).
    fn local_storage() -> Option<JsValue> {
        // Reading the property itself throws where storage is disabled: `get` maps that to None.
        get(&js_sys::global(), "localStorage")
    }

    fn ls_key(store_name: &str) -> String {
        format!("lifeline-durability-marker:{store_name}")
    }

    fn ls_get(ls: &JsValue, key: &str) -> Option<String> {
        call(ls, "getItem", &[key.into()])?.as_string()
    }

    fn ls_set(ls: &JsValue, key: &str, value: &str) {
        // Quota errors here only weaken the next check; the store marker is what matters.
        let _ = call(ls, "setItem", &[key.into(), value.into()]);
    }

    /// Checks whether `store` was wiped since the last check (its marker gone while
    /// `localStorage` remembers it), and leaves a marker for the next check. `store_name`
    /// names the marker's copy in `localStorage`: pass the IndexedDB name.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be read or written.
    pub async fn detect_wipe(store: &Store, store_name: &str) -> Result<WipeCheck, StoreError> {
        let key = ls_key(store_name);
        let ls = local_storage();
        let remembered = ls.as_ref().and_then(|ls| ls_get(ls, &key));
        if let Some(marker) = store_marker(store).await? {
            if let Some(ls) = &ls {
                if remembered.as_deref() != Some(marker.as_str()) {
                    ls_set(ls, &key, &marker);
                }
            }
            return Ok(WipeCheck::Intact);
        }
        let marker = new_marker();
        store
            .put(Table::META, MARKER_KEY, marker.as_bytes())
            .await?;
        let Some(ls) = ls else {
            return Ok(WipeCheck::Unknown);
        };
        ls_set(&ls, &key, &marker);
        if remembered.is_some() {
            tracing::warn!(
                store = store_name,
                "offline data was cleared by the browser"
            );
            Ok(WipeCheck::Wiped)
        } else {
            Ok(WipeCheck::FirstRun)
        }
    }
}
