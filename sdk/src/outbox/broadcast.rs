//! Status updates across tabs and the service worker.
//!
//! In the browser the drain may run anywhere: another tab, or the service worker on a
//! Background Sync event. A page awaiting [`Outbox::wait`](super::Outbox::wait) must still
//! hear about it, so every update is also posted on a `BroadcastChannel` and updates from
//! other contexts are handed to this context's subscribers. Called through `js_sys`
//! reflection so it works the same in a page and in a worker; where `BroadcastChannel` is
//! missing, updates stay local.

use js_sys::{Array, Function, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::EntryUpdate;

pub(super) struct Broadcast {
    channel: JsValue,
    _on_message: Closure<dyn FnMut(JsValue)>,
}

impl Broadcast {
    /// Opens the channel `name`; `deliver` receives updates posted by other contexts.
    pub(super) fn open(name: &str, deliver: impl Fn(EntryUpdate) + 'static) -> Option<Self> {
        let ctor: Function = Reflect::get(&js_sys::global(), &"BroadcastChannel".into())
            .ok()?
            .dyn_into()
            .ok()?;
        let channel = Reflect::construct(&ctor, &Array::of1(&name.into())).ok()?;
        let on_message = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
            let text = Reflect::get(&event, &"data".into())
                .ok()
                .and_then(|d| d.as_string());
            match text.map(|t| serde_json::from_str::<EntryUpdate>(&t)) {
                Some(Ok(update)) => deliver(update),
                _ => tracing::debug!("ignoring a malformed outbox broadcast"),
            }
        });
        Reflect::set(&channel, &"onmessage".into(), on_message.as_ref()).ok()?;
        Some(Broadcast {
            channel,
            _on_message: on_message,
        })
    }

    /// Posts `update` to the other contexts.
    pub(super) fn post(&self, update: &EntryUpdate) {
        let Ok(text) = serde_json::to_string(update) else {
            return;
        };
        let post = Reflect::get(&self.channel, &"postMessage".into())
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok());
        if let Some(post) = post {
            if let Err(e) = post.call1(&self.channel, &text.into()) {
                tracing::debug!(error = ?e, "outbox broadcast failed");
            }
        }
    }
}

impl Drop for Broadcast {
    fn drop(&mut self) {
        let _ = Reflect::set(&self.channel, &"onmessage".into(), &JsValue::NULL);
        if let Ok(close) = Reflect::get(&self.channel, &"close".into()) {
            if let Ok(close) = close.dyn_into::<Function>() {
                let _ = close.call0(&self.channel);
            }
        }
    }
}
