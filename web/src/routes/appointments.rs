//! `/appointments`: the patient's appointments, with cancel.

use leptos::prelude::*;
use leptos_router::components::A;
use lifeline_sdk::api::AppointmentFilter;
use lifeline_sdk::types::appointments::AppointmentStatus;
use uuid::Uuid;

use super::{error_view, FreshnessNote};
use crate::api::{api, UiError};
use crate::state::format::{money, when};

/// The appointments page.
#[component]
pub fn Appointments() -> impl IntoView {
    let list = LocalResource::new(|| async {
        api()
            .client()
            .appointments()
            .list(AppointmentFilter::default())
            .await
            .map_err(UiError::from)
    });
    let notice = RwSignal::new(None::<String>);
    let cancel = move |id: Uuid| {
        leptos::task::spawn_local(async move {
            match api().client().appointments().cancel(id, None).await {
                Ok(_) => {
                    notice.set(Some("Appointment cancelled.".to_owned()));
                    list.refetch();
                }
                Err(e) => notice.set(Some(format!("Could not cancel: {}", UiError::from(e)))),
            }
        });
    };

    view! {
        <h1 tabindex="-1">"Appointments"</h1>
        {move || notice.get().map(|n| view! { <p role="status" class="notice">{n}</p> })}
        <Transition fallback=|| view! { <p>"Loading appointments…"</p> }>
            <ErrorBoundary fallback=move |e| error_view(e, move || list.refetch())>
                {move || Suspend::new(async move {
                    list.await.map(|fetched| view! {
                        <FreshnessNote freshness=fetched.freshness />
                        <ul class="cards" data-testid="appointments">
                            {fetched.value.into_iter().map(|a| {
                                let cancellable = matches!(a.status, AppointmentStatus::Confirmed | AppointmentStatus::PendingPayment);
                                let id = a.id;
                                let payable = a.status == AppointmentStatus::PendingPayment;
                                view! {
                                    <li>
                                        <strong>{when(&a.starts_at)}</strong>
                                        " with " {a.doctor_name}
                                        <span class="muted">{format!(" · {} · {}", a.status.as_str().replace('_', " "), money(a.fee_minor, &a.currency))}</span>
                                        {payable.then(|| view! {
                                            <A href=format!("/pay/{id}")>"Pay"</A>
                                        })}
                                        {cancellable.then(|| view! {
                                            <button class="secondary" on:click=move |_| cancel(id)>"Cancel"</button>
                                        })}
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
