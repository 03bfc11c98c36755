//! When to drain in the browser.
//!
//! Background Sync exists only in Chromium, and only in a service worker; relying on it alone
//! is how Workbox's queue ends up replaying only when the worker restarts. So the page (or the
//! worker) also drains on:
//!
//! - `online`, but only after a reachability probe the caller provides succeeds, because
//!   `navigator.onLine` says "online" on a captive portal or a dead Wi-Fi (TanStack #4772).
//!   The client's probe ([`Client::probe`](crate::Client::probe)) also ends the breaks that
//!   the time offline opened, so the drain that follows is not refused by them;
//! - `visibilitychange` to visible: the user came back to the tab;
//! - a fixed interval, which also covers backoff deadlines passing while nothing else happens.
//!
//! [`install`] registers the listeners on the global object (`window` or the service worker
//! scope, via `js_sys::global()`) and returns a guard that removes them on drop.

use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

use js_sys::{Function, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::EventTarget;

/// Why a drain was triggered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The browser went online and the probe reached the server.
    Online,
    /// The page became visible.
    Visible,
    /// The periodic timer fired.
    Interval,
}

/// Which triggers to install.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriggerConfig {
    /// Period of the timer trigger, `None` for no timer. Default is 30 seconds.
    pub interval: Option<Duration>,
}

impl Default for TriggerConfig {
    fn default() -> Self {
        TriggerConfig {
            interval: Some(Duration::from_secs(30)),
        }
    }
}

type Listener = (EventTarget, &'static str, Closure<dyn FnMut(JsValue)>);

/// Keeps the triggers installed; dropping it removes every listener and the timer.
pub struct TriggerGuard {
    listeners: Vec<Listener>,
    interval: Option<(i32, Closure<dyn FnMut()>)>,
}

impl std::fmt::Debug for TriggerGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TriggerGuard")
            .field("listeners", &self.listeners.len())
            .field("interval", &self.interval.as_ref().map(|(id, _)| *id))
            .finish()
    }
}

impl Drop for TriggerGuard {
    fn drop(&mut self) {
        for (target, event, closure) in self.listeners.drain(..) {
            let _ =
                target.remove_event_listener_with_callback(event, closure.as_ref().unchecked_ref());
        }
        if let Some((id, _closure)) = self.interval.take() {
            let global = js_sys::global();
            if let Ok(clear) = Reflect::get(&global, &"clearInterval".into()) {
                if let Ok(clear) = clear.dyn_into::<Function>() {
                    let _ = clear.call1(&global, &id.into());
                }
            }
        }
    }
}

/// Installs the drain triggers. `on_trigger` is called for each; `probe` must resolve `true`
/// only when the API is actually reachable (e.g. `GET /health` answered), and gates the
/// `online` trigger.
///
/// # Errors
/// The JavaScript exception when a listener or the timer cannot be registered.
pub fn install<C, P, PF>(
    config: TriggerConfig,
    on_trigger: C,
    probe: P,
) -> Result<TriggerGuard, JsValue>
where
    C: Fn(Trigger) + 'static,
    P: Fn() -> PF + 'static,
    PF: Future<Output = bool> + 'static,
{
    let on_trigger = Rc::new(on_trigger);
    let probe = Rc::new(probe);
    let global = js_sys::global();
    let mut guard = TriggerGuard {
        listeners: Vec::new(),
        interval: None,
    };

    let target: EventTarget = global.clone().unchecked_into();
    let online = {
        let on_trigger = Rc::clone(&on_trigger);
        Closure::<dyn FnMut(JsValue)>::new(move |_event: JsValue| {
            let on_trigger = Rc::clone(&on_trigger);
            let reachable = probe();
            wasm_bindgen_futures::spawn_local(async move {
                if reachable.await {
                    on_trigger(Trigger::Online);
                } else {
                    tracing::debug!("online event, but the probe failed: not draining");
                }
            });
        })
    };
    target.add_event_listener_with_callback("online", online.as_ref().unchecked_ref())?;
    guard.listeners.push((target, "online", online));

    // Service workers have no document.
    if let Ok(document) = Reflect::get(&global, &"document".into()) {
        if !document.is_undefined() && !document.is_null() {
            let doc_target: EventTarget = document.clone().unchecked_into();
            let on_trigger = Rc::clone(&on_trigger);
            let visible = Closure::<dyn FnMut(JsValue)>::new(move |_event: JsValue| {
                let state = Reflect::get(&document, &"visibilityState".into())
                    .ok()
                    .and_then(|v| v.as_string());
                if state.as_deref() == Some("visible") {
                    on_trigger(Trigger::Visible);
                }
            });
            doc_target.add_event_listener_with_callback(
                "visibilitychange",
                visible.as_ref().unchecked_ref(),
            )?;
            guard
                .listeners
                .push((doc_target, "visibilitychange", visible));
        }
    }

    if let Some(period) = config.interval {
        let on_trigger = Rc::clone(&on_trigger);
        let tick = Closure::<dyn FnMut()>::new(move || on_trigger(Trigger::Interval));
        let set: Function = Reflect::get(&global, &"setInterval".into())?.dyn_into()?;
        let millis = i32::try_from(period.as_millis()).unwrap_or(i32::MAX);
        let id = set
            .call2(&global, tick.as_ref(), &millis.into())?
            .as_f64()
            .unwrap_or(0.0) as i32;
        guard.interval = Some((id, tick));
    }
    Ok(guard)
}
