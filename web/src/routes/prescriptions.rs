//! `/prescriptions`: prescriptions and refill orders.

use leptos::prelude::*;
use uuid::Uuid;

use super::{error_view, FreshnessNote};
use crate::api::{api, send_write, UiError};
use crate::state::format::when;
use crate::state::write::WriteKind;
use lifeline_sdk::outbox::Intent;

/// The prescriptions page.
#[component]
pub fn Prescriptions() -> impl IntoView {
    let list = LocalResource::new(|| async {
        api()
            .client()
            .prescriptions()
            .list()
            .await
            .map_err(UiError::from)
    });
    let notice = RwSignal::new(None::<String>);
    let order = move |id: Uuid| {
        let intent = Intent::OrderPrescription {
            id,
            body: Default::default(),
        };
        send_write(WriteKind::Refill, intent, move |n| {
            notice.set(Some(n.text().to_owned()));
            if n.is_final() {
                list.refetch();
            }
        });
    };
    view! {
        <h1 tabindex="-1">"Prescriptions"</h1>
        {move || notice.get().map(|n| view! { <p role="status" class="notice">{n}</p> })}
        <Transition fallback=|| view! { <p>"Loading prescriptions…"</p> }>
            <ErrorBoundary fallback=move |e| error_view(e, move || list.refetch())>
                {move || Suspend::new(async move {
                    list.await.map(|fetched| view! {
                        <FreshnessNote freshness=fetched.freshness />
                        <ul class="cards">
                            {fetched.value.into_iter().map(|p| {
                                let id = p.id;
                                let medicines = p.medicines.iter().map(|m| format!("{} {} for {}", m.name, m.dosage, m.duration)).collect::<Vec<_>>().join("; ");
                                view! {
                                    <li>
                                        <strong>{medicines}</strong>
                                        <span class="muted">{format!(" · issued {} · {}", when(&p.issued_at), p.status)}</span>
                                        {match p.order {
                                            Some(o) => view! { <span class="muted">{format!(" · order {}", o.status)}</span> }.into_any(),
                                            None => view! { <button on:click=move |_| order(id)>"Order refill"</button> }.into_any(),
                                        }}
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
