//! SDK errors as JavaScript `Error` objects.
//!
//! A rejected promise carries an `Error` named `LifelineError` with the predicates of the Rust
//! [`Error`](crate::Error) as methods (`isOffline()`, `isTimeout()`, `isCircuitOpen()`,
//! `isRetryable()`, `isAuthExpired()`, `isConflict()`), and as properties `kind` (what
//! failed), `code` (the server's code such as `slot_taken` when it sent one, else `kind`),
//! `status`, `retryAfterMs`, `group`, `details` and `requestId`. Each answer is computed here
//! by the Rust predicate, never re-derived in JavaScript.

use js_sys::Reflect;
use wasm_bindgen::prelude::*;

use crate::error::Error;

use super::convert::{millis, to_js};

#[wasm_bindgen(typescript_custom_section)]
const LIFELINE_ERROR_TS: &'static str = r#"
/** What failed, as `LifelineError.kind`. */
export type ErrorKind =
  | "offline"
  | "timeout"
  | "circuit_open"
  | "http"
  | "auth_expired"
  | "decode"
  | "storage"
  | "invalid_config";

/**
 * The error every rejected promise of this package carries: an `Error` named
 * `LifelineError`, with the Rust SDK's predicates.
 */
export interface LifelineError extends Error {
  readonly name: "LifelineError";
  /** What failed. */
  readonly kind: ErrorKind;
  /** The server's machine-readable code (`slot_taken`, ...) when it sent one, else `kind`. */
  readonly code: string;
  /** The HTTP status, when the server answered with a non-2xx status. */
  readonly status?: number;
  /** How long the server asked to wait, or how long until an open breaker lets a probe through. */
  readonly retryAfterMs?: number;
  /** The API group whose breaker refused the call, when `isCircuitOpen()`. */
  readonly group?: ApiGroup;
  /** The server's `details` object (for `slot_taken`: `alternatives`). */
  readonly details?: unknown;
  /** The server's request id, for support. */
  readonly requestId?: string;
  /** No HTTP answer came back: offline, unreachable, connection dropped. */
  isOffline(): boolean;
  /** An attempt or the whole logical call ran out of time. */
  isTimeout(): boolean;
  /** Refused without being sent: the API group's circuit breaker is open. */
  isCircuitOpen(): boolean;
  /** Trying again later may succeed (offline, timeouts, open breaker, 408, 429, 5xx). */
  isRetryable(): boolean;
  /** The session has ended (or nobody is signed in): the user must sign in again. */
  isAuthExpired(): boolean;
  /** The server answered 409 Conflict. */
  isConflict(): boolean;
}

/** True when `value` is an error thrown by this package. */
export function isLifelineError(value: unknown): value is LifelineError;
"#;

/// The `kind` string of an error.
fn kind(err: &Error) -> &'static str {
    if err.is_offline() {
        "offline"
    } else if err.is_timeout() {
        "timeout"
    } else if err.is_circuit_open() {
        "circuit_open"
    } else if err.status().is_some() {
        "http"
    } else if err.is_auth_expired() {
        "auth_expired"
    } else if err.is_decode() {
        "decode"
    } else if err.is_storage() {
        "storage"
    } else {
        "invalid_config"
    }
}

fn set(target: &JsValue, key: &str, value: &JsValue) {
    // Setting a property on a fresh, non-frozen Error cannot fail.
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}

fn predicate(target: &JsValue, name: &str, answer: bool) {
    let f = Closure::<dyn Fn() -> bool>::new(move || answer).into_js_value();
    set(target, name, &f);
}

/// Converts an SDK error into a `LifelineError`.
pub(crate) fn to_js_error(err: &Error) -> JsValue {
    let js: JsValue = js_sys::Error::new(&err.to_string()).into();
    let kind = kind(err);
    set(&js, "name", &JsValue::from_str("LifelineError"));
    set(&js, "kind", &JsValue::from_str(kind));
    set(&js, "code", &JsValue::from_str(err.code().unwrap_or(kind)));
    if let Some(status) = err.status() {
        set(&js, "status", &JsValue::from(status));
    }
    if let Some(retry_after) = err.retry_after() {
        set(&js, "retryAfterMs", &JsValue::from_f64(millis(retry_after)));
    }
    if let Some(group) = err.circuit_group() {
        set(&js, "group", &JsValue::from_str(group.as_str()));
    }
    if let Some(details) = err.details().and_then(|d| to_js(d).ok()) {
        set(&js, "details", &details);
    }
    if let Some(request_id) = err.request_id() {
        set(&js, "requestId", &JsValue::from_str(request_id));
    }
    predicate(&js, "isOffline", err.is_offline());
    predicate(&js, "isTimeout", err.is_timeout());
    predicate(&js, "isCircuitOpen", err.is_circuit_open());
    predicate(&js, "isRetryable", err.is_retryable());
    predicate(&js, "isAuthExpired", err.is_auth_expired());
    predicate(&js, "isConflict", err.is_conflict());
    js
}

/// True when `value` is an error thrown by this package.
#[wasm_bindgen(js_name = isLifelineError, skip_typescript)]
pub fn is_lifeline_error(value: &JsValue) -> bool {
    value.is_instance_of::<js_sys::Error>()
        && Reflect::get(value, &JsValue::from_str("name"))
            .ok()
            .and_then(|n| n.as_string())
            .is_some_and(|n| n == "LifelineError")
}
