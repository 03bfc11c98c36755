//! Streams for JavaScript: a callback subscription (returns the function that stops it) and
//! an async iterator (`for await ... of`), both fed by the SDK's own streams.

use std::cell::RefCell;
use std::rc::Rc;

use futures::channel::oneshot;
use futures::stream::LocalBoxStream;
use futures::{Stream, StreamExt};
use js_sys::{Function, Object, Promise, Reflect};
use serde::Serialize;
use wasm_bindgen::prelude::*;

use super::outbox::to_js_logged;

/// Calls `callback` with every item of `stream` until the returned function is called.
pub(crate) fn subscribe_callback<S, T>(stream: S, callback: Function) -> JsValue
where
    S: Stream<Item = T> + 'static,
    T: Serialize,
{
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    wasm_bindgen_futures::spawn_local(async move {
        let mut stream = Box::pin(stream.take_until(stop_rx));
        while let Some(item) = stream.next().await {
            if let Err(e) = callback.call1(&JsValue::NULL, &to_js_logged(&item)) {
                tracing::warn!(error = ?e, "subscriber callback threw");
            }
        }
    });
    let mut stop = Some(stop_tx);
    Closure::<dyn FnMut()>::new(move || {
        if let Some(tx) = stop.take() {
            let _ = tx.send(());
        }
    })
    .into_js_value()
}

fn iter_result(value: Option<JsValue>) -> JsValue {
    let result = Object::new();
    let done = value.is_none();
    // Setting properties on a fresh plain object cannot fail.
    let _ = Reflect::set(&result, &"done".into(), &JsValue::from_bool(done));
    let _ = Reflect::set(
        &result,
        &"value".into(),
        &value.unwrap_or(JsValue::UNDEFINED),
    );
    result.into()
}

/// An `AsyncIterableIterator` over a stream: `next()` waits for the next item, `return()`
/// (called by `break` in `for await`) ends it and unsubscribes.
pub(crate) struct AsyncIter {
    stream: LocalBoxStream<'static, JsValue>,
}

impl AsyncIter {
    pub(crate) fn new<S, T>(stream: S) -> Self
    where
        S: Stream<Item = T> + 'static,
        T: Serialize,
    {
        AsyncIter {
            stream: stream.map(|item| to_js_logged(&item)).boxed_local(),
        }
    }

    pub(crate) fn into_js(self) -> JsValue {
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let stream = Rc::new(futures::lock::Mutex::new(Some(
            self.stream.take_until(stop_rx).boxed_local(),
        )));
        let stop = Rc::new(RefCell::new(Some(stop_tx)));
        let iter = Object::new();

        let next = Closure::<dyn FnMut() -> Promise>::new(move || {
            let stream = stream.clone();
            wasm_bindgen_futures::future_to_promise(async move {
                let mut guard = stream.lock().await;
                let item = match guard.as_mut() {
                    Some(s) => s.next().await,
                    None => None,
                };
                if item.is_none() {
                    // Drop the subscription as soon as it has ended.
                    *guard = None;
                }
                Ok(iter_result(item))
            })
        });
        let finish = Closure::<dyn FnMut() -> Promise>::new(move || {
            if let Some(tx) = stop.borrow_mut().take() {
                let _ = tx.send(());
            }
            Promise::resolve(&iter_result(None))
        });
        let _ = Reflect::set(&iter, &"next".into(), &next.into_js_value());
        let _ = Reflect::set(&iter, &"return".into(), &finish.into_js_value());
        // `[Symbol.asyncIterator]()` must answer the iterator itself. `Object.prototype.valueOf`
        // answers its `this`; a Rust closure holding the iterator would be a cycle through
        // wasm memory that the garbage collector cannot see, keeping every iterator alive.
        let value_of =
            Reflect::get(&Object::new(), &"valueOf".into()).unwrap_or(JsValue::UNDEFINED);
        let _ = Reflect::set(&iter, &js_sys::Symbol::async_iterator().into(), &value_of);
        iter.into()
    }
}
