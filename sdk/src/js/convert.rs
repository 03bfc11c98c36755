//! Moving values across the boundary as JSON: Rust values are serialized with `serde_json` and
//! parsed by the engine's `JSON.parse`; JS arguments go through `JSON.stringify` and back into
//! the wire types with `serde_json`. The SDK already links `serde_json` and these very
//! (de)serializers for its wire and storage formats, so the facade adds no second serde
//! backend to the module. Every failure becomes a `LifelineError`.

use std::future::Future;
use std::pin::Pin;

use js_sys::Promise;
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::JsValue;

use crate::error::Error;

use super::error::to_js_error;

/// A value converted for JavaScript, or the `LifelineError` to throw.
pub(crate) type JsResult = Result<JsValue, JsValue>;

/// Serializes `value` into a plain JS value.
pub(crate) fn to_js<T: Serialize + ?Sized>(value: &T) -> JsResult {
    let text = serde_json::to_string(value)
        .map_err(|e| to_js_error(&Error::decode(format!("could not convert to js: {e}"))))?;
    js_sys::JSON::parse(&text)
}

/// Reads a JS argument as `T`; `what` names it in the error. `undefined` reads as `null`.
pub(crate) fn from_js<T: DeserializeOwned>(value: JsValue, what: &str) -> Result<T, JsValue> {
    let text = if value.is_undefined() {
        "null".to_owned()
    } else {
        js_sys::JSON::stringify(&value)
            .ok()
            .and_then(|s| s.as_string())
            .ok_or_else(|| to_js_error(&Error::builder(format!("invalid {what}: not JSON"))))?
    };
    serde_json::from_slice(text.as_bytes())
        .map_err(|e| to_js_error(&Error::builder(format!("invalid {what}: {e}"))))
}

/// Reads an optional JS argument: `undefined` and `null` give `T::default()`.
pub(crate) fn from_js_or_default<T: DeserializeOwned + Default>(
    value: JsValue,
    what: &str,
) -> Result<T, JsValue> {
    if value.is_undefined() || value.is_null() {
        Ok(T::default())
    } else {
        from_js(value, what)
    }
}

/// Parses a UUID given as a string.
pub(crate) fn uuid(value: &str, what: &str) -> Result<uuid::Uuid, JsValue> {
    uuid::Uuid::parse_str(value)
        .map_err(|e| to_js_error(&Error::builder(format!("invalid {what} {value:?}: {e}"))))
}

/// Maps an SDK result: the value converted, or the error as a `LifelineError`.
pub(crate) fn answer<T: Serialize>(result: crate::Result<T>) -> JsResult {
    match result {
        Ok(value) => to_js(&value),
        Err(err) => Err(to_js_error(&err)),
    }
}

/// Runs `future` as a JS `Promise` that resolves with its value or rejects with its error.
pub(crate) fn promise(future: impl Future<Output = JsResult> + 'static) -> Promise {
    // Boxed so the promise and task machinery is compiled once, not once per method.
    spawn_promise(Box::pin(future))
}

fn spawn_promise(future: Pin<Box<dyn Future<Output = JsResult>>>) -> Promise {
    wasm_bindgen_futures::future_to_promise(future)
}

/// Milliseconds of a duration as a JS number.
pub(crate) fn millis(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A duration given in milliseconds by JS; negative or non-finite values are refused.
pub(crate) fn duration_ms(ms: f64, what: &str) -> crate::Result<std::time::Duration> {
    if ms.is_finite() && ms >= 0.0 {
        Ok(std::time::Duration::from_secs_f64(ms / 1000.0))
    } else {
        Err(Error::builder(format!(
            "{what} must be a non-negative number of milliseconds"
        )))
    }
}
