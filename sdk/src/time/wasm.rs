//! Browser clocks: `performance.now()` (falling back to `Date.now()`) and `setTimeout`,
//! reached through the global object so they work in a page and in a service worker.

use std::time::Duration;

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

fn performance_now_ms() -> Option<f64> {
    let global = js_sys::global();
    let performance = Reflect::get(&global, &JsValue::from_str("performance")).ok()?;
    if performance.is_undefined() {
        return None;
    }
    let now = Reflect::get(&performance, &JsValue::from_str("now")).ok()?;
    let now: Function = now.dyn_into().ok()?;
    now.call0(&performance).ok()?.as_f64()
}

/// Monotonic time since the page or worker started.
pub fn now() -> Duration {
    let ms = performance_now_ms().unwrap_or_else(js_sys::Date::now);
    Duration::from_secs_f64(ms.max(0.0) / 1000.0)
}

/// Milliseconds since the Unix epoch (wall clock).
pub fn unix_ms() -> u64 {
    js_sys::Date::now() as u64
}

/// Waits for `d` with `setTimeout`.
pub async fn sleep(d: Duration) {
    let ms = d.as_millis().min(i32::MAX as u128) as f64;
    let promise = Promise::new(&mut |resolve, _reject| {
        let global = js_sys::global();
        let set_timeout = Reflect::get(&global, &JsValue::from_str("setTimeout"))
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok());
        match set_timeout {
            Some(set_timeout) => {
                if set_timeout
                    .call2(&global, &resolve, &JsValue::from_f64(ms))
                    .is_err()
                {
                    let _ = resolve.call0(&JsValue::UNDEFINED);
                }
            }
            None => {
                let _ = resolve.call0(&JsValue::UNDEFINED);
            }
        }
    });
    let _ = JsFuture::from(promise).await;
}
