//! `/status`: connectivity, the session, each API group's breaker, writes waiting to be
//! sent, and how much the browser lets the app store.

use leptos::prelude::*;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

use crate::api::api;
use crate::api::UiError;
use crate::state::format::{breaker_text, entry_status_text};

#[derive(Debug, Clone, PartialEq)]
struct StorageInfo {
    usage: Option<f64>,
    quota: Option<f64>,
    persisted: Option<bool>,
}

async fn storage_info() -> StorageInfo {
    let storage = window().navigator().storage();
    let number = |obj: &JsValue, key: &str| {
        js_sys::Reflect::get(obj, &JsValue::from_str(key))
            .ok()
            .and_then(|v| v.as_f64())
    };
    let (usage, quota) = match storage.estimate() {
        Ok(p) => match JsFuture::from(p).await {
            Ok(est) => (number(&est, "usage"), number(&est, "quota")),
            Err(_) => (None, None),
        },
        Err(_) => (None, None),
    };
    let persisted = match storage.persisted() {
        Ok(p) => JsFuture::from(p).await.ok().and_then(|v| v.as_bool()),
        Err(_) => None,
    };
    StorageInfo {
        usage,
        quota,
        persisted,
    }
}

fn mb(bytes: f64) -> String {
    format!("{:.1} MB", bytes / 1_048_576.0)
}

/// The status page.
#[component]
pub fn StatusPage() -> impl IntoView {
    let status = api().status();
    let storage = LocalResource::new(storage_info);
    // Read again whenever the count of waiting writes changes (any tab or the worker).
    let outbox = LocalResource::new(move || {
        status.pending.track();
        async {
            let client = api().client().clone();
            let user = client
                .current_user()
                .map(|u| u.id.to_string())
                .unwrap_or_default();
            client
                .outbox()
                .entries(&user)
                .await
                .map_err(|e| UiError::new(format!("the outbox could not be read: {e}")))
        }
    });
    let sync = move |_| {
        leptos::task::spawn_local(async move {
            let _ = api().client().sync_now().await;
            outbox.refetch();
        });
    };
    let dismiss = move |id: String| {
        leptos::task::spawn_local(async move {
            let _ = api().client().outbox().dismiss(&id).await;
            outbox.refetch();
        });
    };
    let persist = move |_| {
        leptos::task::spawn_local(async move {
            if let Ok(p) = window().navigator().storage().persist() {
                let _ = JsFuture::from(p).await;
            }
            storage.refetch();
        });
    };

    view! {
        <h1 tabindex="-1">"Status"</h1>
        <dl class="facts">
            <dt>"Network"</dt>
            <dd data-testid="network">{move || if status.online.get() { "online" } else { "offline" }}</dd>
            <dt>"Session"</dt>
            <dd data-testid="session">{move || match status.session.get() {
                None => "checking…".to_owned(),
                Some(s) => format!("{s:?}").to_lowercase(),
            }}</dd>
        </dl>
        <h2>"Services"</h2>
        <table>
            <thead><tr><th scope="col">"Service"</th><th scope="col">"State"</th></tr></thead>
            <tbody>
                {move || status.breakers.get().into_iter().map(|(group, state)| view! {
                    <tr><th scope="row">{group.as_str()}</th><td>{breaker_text(state)}</td></tr>
                }).collect_view()}
            </tbody>
        </table>
        <h2>"Waiting to be sent"</h2>
        {move || match status.pending.get() {
            0 => view! { <p data-testid="outbox">"Nothing is waiting."</p> }.into_any(),
            n => view! {
                <p data-testid="outbox">
                    {format!("{n} change{} waiting to be sent. ", if n == 1 { "" } else { "s" })}
                    <button on:click=sync>"Retry now"</button>
                </p>
            }.into_any(),
        }}
        <h2>"Queued changes"</h2>
        <Transition fallback=|| view! { <p>"Reading queued changes…"</p> }>
            <ErrorBoundary fallback=move |e| crate::routes::error_view(e, move || outbox.refetch())>
                {move || Suspend::new(async move {
                    outbox.await.map(|entries| view! {
                        <ul class="cards" data-testid="sdk-outbox">
                            {entries.into_iter().map(|entry| {
                                let id = entry.id.clone();
                                let attention = entry.status.needs_attention();
                                view! {
                                    <li>
                                        <strong>{entry.intent.kind()}</strong>
                                        {format!(" · {} · {} attempt(s)", entry_status_text(&entry.status), entry.attempts)}
                                        {entry.last_error.map(|e| view! { <span class="muted">{format!(" · last error: {e}")}</span> })}
                                        {attention.then(|| view! {
                                            <button class="secondary" on:click=move |_| dismiss(id.clone())>"Dismiss"</button>
                                        })}
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                        <button on:click=sync>"Send queued changes now"</button>
                    })
                })}
            </ErrorBoundary>
        </Transition>
        <h2>"Storage"</h2>
        <Transition fallback=|| view! { <p>"Checking storage…"</p> }>
            {move || Suspend::new(async move {
                let info = storage.await;
                view! {
                    <p>{match (info.usage, info.quota) {
                        (Some(u), Some(q)) => format!("Using {} of {} available.", mb(u), mb(q)),
                        _ => "The browser does not report storage use.".to_owned(),
                    }}</p>
                    <p>{match info.persisted {
                        Some(true) => "Saved data is protected from automatic clean-up.".to_owned(),
                        Some(false) => "The browser may clear saved data when space runs low.".to_owned(),
                        None => "Storage protection is not available in this browser.".to_owned(),
                    }}</p>
                    {(info.persisted == Some(false)).then(|| view! {
                        <button on:click=persist>"Protect saved data"</button>
                    })}
                }
            })}
        </Transition>
    }
}
