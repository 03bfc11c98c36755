//! `/appointments`: the patient's appointments, with pay, cancel and reschedule.

use leptos::prelude::*;
use leptos_router::components::A;
use lifeline_sdk::api::AppointmentFilter;
use lifeline_sdk::types::appointments::{Appointment, AppointmentStatus, Slot};
use uuid::Uuid;

use super::{error_view, FreshnessNote};
use crate::api::{api, send_write, UiError};
use crate::state::format::{money, when};
use crate::state::reschedule::{alternatives, label, offered, Outcome};
use crate::state::write::WriteKind;
use lifeline_sdk::outbox::Intent;

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
    let moving = RwSignal::new(None::<Appointment>);
    let cancel = move |id: Uuid| {
        let intent = Intent::CancelAppointment {
            id,
            body: Default::default(),
        };
        send_write(WriteKind::Cancel, intent, move |n| {
            notice.set(Some(n.text().to_owned()));
            if n.is_final() {
                list.refetch();
            }
        });
    };

    let done = move |moved: Option<String>| {
        moving.set(None);
        if let Some(text) = moved {
            notice.set(Some(text));
            list.refetch();
        }
    };

    view! {
        <h1 tabindex="-1">"Appointments"</h1>
        {move || notice.get().map(|n| view! { <p role="status" class="notice">{n}</p> })}
        {move || moving.get().map(|a| view! {
            <Reschedule appointment=a on_done=done />
        })}
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
                                let this = a.clone();
                                view! {
                                    <li>
                                        <strong>{when(&a.starts_at)}</strong>
                                        " with " {a.doctor_name}
                                        <span class="muted">{format!(" · {} · {}", a.status.as_str().replace('_', " "), money(a.fee_minor, &a.currency))}</span>
                                        {payable.then(|| view! {
                                            <A href=format!("/pay/{id}")>"Pay"</A>
                                        })}
                                        {cancellable.then(|| view! {
                                            <button class="secondary" on:click=move |_| {
                                                notice.set(None);
                                                moving.set(Some(this.clone()));
                                            }>"Reschedule"</button>
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

/// Picks another free slot of the same doctor; "slot taken" offers the server's
/// alternatives.
#[component]
fn Reschedule(
    appointment: Appointment,
    on_done: impl Fn(Option<String>) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let current = appointment.slot_id;
    let doctor = appointment.doctor_id;
    let id = appointment.id;
    let date = RwSignal::new(
        appointment
            .starts_at
            .get(..10)
            .unwrap_or_default()
            .to_owned(),
    );
    let outcome = RwSignal::new(None::<Outcome>);
    let slots = LocalResource::new(move || {
        let day = date.get();
        async move {
            api()
                .client()
                .appointments()
                .availability(doctor, &day)
                .await
                .map(|f| offered(&f.value.slots, current))
                .map_err(UiError::from)
        }
    });
    let choose = move |slot: Slot| {
        outcome.set(None);
        leptos::task::spawn_local(async move {
            let result = api().client().appointments().reschedule(id, slot.id).await;
            match result {
                Ok(moved) => on_done(Some(Outcome::Moved(when(&moved.starts_at)).text())),
                Err(e) if e.is_conflict() => {
                    outcome.set(Some(Outcome::SlotTaken(alternatives(e.details(), current))));
                    slots.refetch();
                }
                Err(e) => outcome.set(Some(Outcome::Failed(UiError::from(e).to_string()))),
            }
        });
    };
    let buttons = move |list: Vec<Slot>| {
        list.into_iter()
            .map(|s| {
                let text = label(&s);
                let slot_id = s.id.to_string();
                view! { <li><button data-slot=slot_id on:click=move |_| choose(s.clone())>{text}</button></li> }
            })
            .collect_view()
    };
    view! {
        <section class="reschedule" aria-labelledby="reschedule" data-testid="reschedule">
            <h2 id="reschedule">{format!("Reschedule with {}", appointment.doctor_name)}</h2>
            {move || outcome.get().map(|o| {
                let alts = match &o {
                    Outcome::SlotTaken(alts) => alts.clone(),
                    _ => Vec::new(),
                };
                view! {
                    <p role="alert">{o.text()}</p>
                    <ul class="choices" data-testid="alternatives">{buttons(alts)}</ul>
                }
            })}
            <label for="reschedule-day">"Day"</label>
            <input id="reschedule-day" type="date" bind:value=date />
            <Transition fallback=|| view! { <p>"Loading free times…"</p> }>
                {move || Suspend::new(async move {
                    match slots.await {
                        Ok(list) if list.is_empty() => view! { <p>"No free times that day."</p> }.into_any(),
                        Ok(list) => view! { <ul class="choices" data-testid="free-slots">{buttons(list)}</ul> }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
            <button class="secondary" on:click=move |_| on_done(None)>"Close"</button>
        </section>
    }
}
