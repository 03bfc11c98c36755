//! `/`: what is next for the patient, and whether everything is in sync.

use leptos::prelude::*;
use leptos_router::components::A;
use lifeline_sdk::api::AppointmentFilter;
use lifeline_sdk::types::appointments::AppointmentStatus;

use super::{error_view, FreshnessNote};
use crate::api::{api, UiError};
use crate::state::format::{money, when};

/// The home page.
#[component]
pub fn Home() -> impl IntoView {
    let status = api().status();
    let user = api().client().current_user();
    let appointments = LocalResource::new(|| async {
        api()
            .client()
            .appointments()
            .list(AppointmentFilter::default())
            .await
            .map_err(UiError::from)
    });
    let prescriptions = LocalResource::new(|| async {
        api()
            .client()
            .prescriptions()
            .list()
            .await
            .map_err(UiError::from)
    });

    view! {
        <h1 tabindex="-1">{format!("Hello, {}", user.map(|u| u.name).unwrap_or_default())}</h1>
        <section aria-labelledby="next-heading">
            <h2 id="next-heading">"Next appointments"</h2>
            <Transition fallback=|| view! { <p>"Loading appointments…"</p> }>
                <ErrorBoundary fallback=move |e| error_view(e, move || appointments.refetch())>
                    {move || Suspend::new(async move {
                        appointments.await.map(|fetched| {
                            let upcoming: Vec<_> = fetched
                                .value
                                .into_iter()
                                .filter(|a| matches!(a.status, AppointmentStatus::Confirmed | AppointmentStatus::PendingPayment))
                                .take(5)
                                .collect();
                            view! {
                                <FreshnessNote freshness=fetched.freshness />
                                {if upcoming.is_empty() {
                                    view! { <p>"No upcoming appointments. " <A href="/book">"Book one"</A></p> }.into_any()
                                } else {
                                    view! {
                                        <ul class="cards" data-testid="upcoming">
                                            {upcoming.into_iter().map(|a| view! {
                                                <li>
                                                    <strong>{when(&a.starts_at)}</strong>
                                                    " with " {a.doctor_name}
                                                    <span class="muted">{format!(" · {} · {}", a.status.as_str().replace('_', " "), money(a.fee_minor, &a.currency))}</span>
                                                </li>
                                            }).collect_view()}
                                        </ul>
                                    }.into_any()
                                }}
                            }
                        })
                    })}
                </ErrorBoundary>
            </Transition>
        </section>
        <section aria-labelledby="rx-heading">
            <h2 id="rx-heading">"Prescriptions"</h2>
            <Transition fallback=|| view! { <p>"Loading prescriptions…"</p> }>
                <ErrorBoundary fallback=move |e| error_view(e, move || prescriptions.refetch())>
                    {move || Suspend::new(async move {
                        prescriptions.await.map(|fetched| {
                            let active = fetched.value.iter().filter(|p| p.order.is_none()).count();
                            view! {
                                <FreshnessNote freshness=fetched.freshness />
                                <p>
                                    {format!("{active} prescription(s) ready to order. ")}
                                    <A href="/prescriptions">"See prescriptions"</A>
                                </p>
                            }
                        })
                    })}
                </ErrorBoundary>
            </Transition>
        </section>
        <section aria-labelledby="sync-heading">
            <h2 id="sync-heading">"Sync"</h2>
            <p data-testid="sync-summary">
                {move || match status.pending.get() {
                    0 => "Everything you did is saved on the server.".to_owned(),
                    1 => "1 change is waiting to be sent.".to_owned(),
                    n => format!("{n} changes are waiting to be sent."),
                }}
                " " <A href="/status">"Details"</A>
            </p>
        </section>
    }
}
