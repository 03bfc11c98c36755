//! `/pharmacies`: search pharmacies and nominate one for prescriptions.

use leptos::prelude::*;
use uuid::Uuid;

use super::{error_view, FreshnessNote};
use crate::api::{api, send_write, UiError};
use crate::state::write::{WriteKind, WriteNotice};
use lifeline_sdk::outbox::Intent;

/// The pharmacies page.
#[component]
pub fn Pharmacies() -> impl IntoView {
    let query = RwSignal::new(String::new());
    let submitted = RwSignal::new(String::new());
    let notice = RwSignal::new(None::<String>);
    let results = LocalResource::new(move || {
        let q = submitted.get();
        async move {
            let q = Some(q.trim().to_owned()).filter(|q| !q.is_empty());
            api()
                .client()
                .pharmacies()
                .search(q.as_deref(), None)
                .await
                .map_err(UiError::from)
        }
    });
    let nominated = LocalResource::new(|| async {
        api()
            .client()
            .pharmacies()
            .nominated()
            .await
            .map(|f| f.value.pharmacy.name)
            .ok()
    });
    let nominate = move |id: Uuid, name: String| {
        send_write(
            WriteKind::Nominate,
            Intent::NominatePharmacy { id },
            move |n| {
                notice.set(Some(match &n {
                    WriteNotice::Done(_) => format!("{name} is now your pharmacy."),
                    other => other.text().to_owned(),
                }));
                if n.is_final() {
                    nominated.refetch();
                }
            },
        );
    };
    view! {
        <h1 tabindex="-1">"Pharmacies"</h1>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                nominated.await.map(|name| view! { <p data-testid="nominated">{format!("Your pharmacy: {name}")}</p> })
            })}
        </Transition>
        {move || notice.get().map(|n| view! { <p role="status" class="notice">{n}</p> })}
        <form role="search" on:submit=move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            submitted.set(query.get());
        }>
            <div class="field">
                <label for="pharmacy-q">"Name or city"</label>
                <input id="pharmacy-q" type="search" prop:value=move || query.get()
                    on:input=move |ev| query.set(event_target_value(&ev)) />
            </div>
            <button type="submit">"Search"</button>
        </form>
        <Transition fallback=|| view! { <p>"Searching…"</p> }>
            <ErrorBoundary fallback=move |e| error_view(e, move || results.refetch())>
                {move || Suspend::new(async move {
                    results.await.map(|f| view! {
                        <FreshnessNote freshness=f.freshness />
                        <ul class="cards" data-testid="pharmacies">
                            {f.value.into_iter().map(|p| {
                                let id = p.id;
                                let name = p.name.clone();
                                view! {
                                    <li>
                                        <strong>{p.name}</strong>
                                        <span class="muted">{format!(" · {}, {} · {}", p.address, p.city, p.phone)}</span>
                                        <button class="secondary" on:click=move |_| nominate(id, name.clone())>"Nominate"</button>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}
