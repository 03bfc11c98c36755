//! `/book`: the booking wizard. The draft ([`BookingDraft`]) lives in context and in
//! `localStorage`, so a reload or a lost connection never loses what the patient picked or
//! typed. Confirming hands the booking to the SDK's outbox (stored before anything is sent,
//! one idempotency key for every attempt); the page then follows that outbox entry, which
//! this page, another tab or the service worker delivers when Lifeline can be reached.

use std::cell::Cell;

use leptos::prelude::*;
use leptos_router::components::A;
use lifeline_sdk::outbox::Intent;

use super::{error_view, FreshnessNote};
use crate::api::{api, follow_write, queue_write, UiError, WriteProgress};
use crate::device::local_storage;
use crate::state::booking::{slot_choice, BookingDraft, Choice, Step, Submission};
use crate::state::format::money;

/// The `localStorage` key of the booking draft.
pub(crate) const DRAFT_KEY: &str = "lifeline.booking-draft";

thread_local! {
    // Page-wide like the Api: timers and async blocks run outside any reactive owner.
    static DRAFT: Cell<Option<RwSignal<BookingDraft>>> = const { Cell::new(None) };
}

/// Restores the draft from `localStorage`, keeps it saved, and follows a submission that
/// is still in the outbox.
pub fn provide_booking() {
    let mut stored = local_storage()
        .and_then(|s| s.get_item(DRAFT_KEY).ok().flatten())
        .and_then(|json| BookingDraft::from_json(&json))
        .unwrap_or_default();
    stored.resume();
    let pending = stored
        .submission()
        .and_then(Submission::entry_id)
        .map(str::to_owned);
    let draft = RwSignal::new(stored);
    DRAFT.with(|d| d.set(Some(draft)));

    Effect::new(move |_| {
        let d = draft.get();
        if let Some(storage) = local_storage() {
            let _ = match d.to_stored() {
                Some(json) => storage.set_item(DRAFT_KEY, &json),
                None => storage.remove_item(DRAFT_KEY),
            };
        }
    });
    if let Some(entry_id) = pending {
        follow(draft, entry_id);
    }
}

/// The booking draft.
///
/// # Panics
/// When called before [`provide_booking`], which the root component does first.
pub fn use_booking() -> RwSignal<BookingDraft> {
    DRAFT
        .with(Cell::get)
        .expect("use_booking() used before provide_booking()")
}

/// Shows a write's progress in the draft.
fn show(draft: RwSignal<BookingDraft>) -> impl Fn(WriteProgress) {
    move |progress| {
        draft.update(|d| match progress {
            WriteProgress::NotSaved(why) => d.mark_not_saved(why),
            WriteProgress::Stored(id) => d.mark_stored(id),
            WriteProgress::Status(id, status) => d.apply_entry(&id, &status),
            WriteProgress::Gone(id) => d.mark_entry_gone(&id),
        })
    }
}

/// Waits for the stored booking's final answer (from whichever drain delivers it).
fn follow(draft: RwSignal<BookingDraft>, entry_id: String) {
    leptos::task::spawn_local(follow_write(entry_id, show(draft)));
}

/// Submits the draft: stores it in the outbox and sends it now when online. The draft then
/// shows booked, "slot taken" with alternatives, refused, or "waiting to sync" until then.
fn send_booking(draft: RwSignal<BookingDraft>) {
    if let Some(Ok(request)) = draft.try_update(BookingDraft::submit) {
        queue_write(Intent::BookAppointment(request), show(draft));
    }
}

/// Asks for every queued write, the booking included, to be sent now.
fn sync_now() {
    leptos::task::spawn_local(async move {
        let _ = api().client().sync_now().await;
    });
}

fn next_days(n: u32) -> Vec<String> {
    let now = js_sys::Date::now();
    (0..n)
        .map(|i| {
            let day = js_sys::Date::new(&(now + f64::from(i) * 86_400_000.0).into());
            String::from(day.to_iso_string()).chars().take(10).collect()
        })
        .collect()
}

/// The booking page.
#[component]
pub fn Book() -> impl IntoView {
    let draft = use_booking();
    let step = Memo::new(move |_| draft.with(BookingDraft::step));

    view! {
        <h1 tabindex="-1">"Book an appointment"</h1>
        <Summary draft=draft />
        {move || match draft.get().submission().cloned() {
            Some(Submission::Confirmed { .. }) => view! { <Done draft=draft /> }.into_any(),
            Some(Submission::Queued { .. }) => view! {
                <div class="notice" role="status" data-testid="booking-state">
                    <p><strong>"Waiting to sync."</strong> " Your booking is saved on this device and will be sent as soon as Lifeline can be reached. You can close the app."</p>
                    <button on:click=move |_| sync_now()>"Try now"</button>
                </div>
            }.into_any(),
            Some(Submission::Saving | Submission::Sending { .. }) => view! { <p role="status" data-testid="booking-state">"Booking…"</p> }.into_any(),
            other => {
                let taken = matches!(other, Some(Submission::SlotTaken { .. }));
                let rejected = match &other {
                    Some(Submission::Rejected { message }) => Some(message.clone()),
                    _ => None,
                };
                let not_saved = match other {
                    Some(Submission::NotSaved { message }) => Some(message),
                    _ => None,
                };
                view! {
                    {taken.then(|| view! { <p class="error" role="alert" data-testid="booking-state">"That slot was just taken. Pick another time."</p> })}
                    {rejected.map(|m| view! { <p class="error" role="alert" data-testid="booking-state">{format!("The booking was refused: {m}")}</p> })}
                    {not_saved.map(|m| view! { <p class="error" role="alert" data-testid="booking-state">{format!("The booking could not be saved on this device, so nothing was sent: {m}. Try again.")}</p> })}
                    {move || match step.get() {
                        Step::Hospital => view! { <PickHospital draft=draft /> }.into_any(),
                        Step::Department => view! { <PickDepartment draft=draft /> }.into_any(),
                        Step::Doctor => view! { <PickDoctor draft=draft /> }.into_any(),
                        Step::Day => view! { <PickDay draft=draft /> }.into_any(),
                        Step::Slot => view! { <PickSlot draft=draft /> }.into_any(),
                        Step::Reason => view! { <Reason draft=draft /> }.into_any(),
                        Step::Confirm => view! { <Confirm draft=draft /> }.into_any(),
                    }}
                    {move || (step.get() != Step::Hospital).then(|| view! {
                        <button class="secondary" on:click=move |_| draft.update(BookingDraft::back)>"Back"</button>
                    })}
                }.into_any()
            }
        }}
    }
}

#[component]
fn Summary(draft: RwSignal<BookingDraft>) -> impl IntoView {
    move || {
        let d = draft.get();
        let parts: Vec<String> = [
            d.hospital().map(|c| c.label.clone()),
            d.department().map(|c| c.label.clone()),
            d.doctor().map(|c| c.label.clone()),
            d.day().map(str::to_owned),
            d.slot().map(|c| c.label.clone()),
        ]
        .into_iter()
        .flatten()
        .collect();
        (!parts.is_empty())
            .then(|| view! { <p class="muted" data-testid="draft-summary">{parts.join(" › ")}</p> })
    }
}

/// A list of choices as buttons.
fn choices(
    items: Vec<Choice>,
    on_pick: impl Fn(Choice) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    if items.is_empty() {
        return view! { <p>"Nothing available here."</p> }.into_any();
    }
    view! {
        <ul class="choices">
            {items.into_iter().map(|c| {
                let label = c.label.clone();
                view! { <li><button on:click=move |_| on_pick(c.clone())>{label}</button></li> }
            }).collect_view()}
        </ul>
    }
    .into_any()
}

#[component]
fn PickHospital(draft: RwSignal<BookingDraft>) -> impl IntoView {
    let list = LocalResource::new(|| async {
        api()
            .client()
            .hospitals()
            .list()
            .await
            .map_err(UiError::from)
    });
    view! {
        <h2>"Hospital"</h2>
        <Transition fallback=|| view! { <p>"Loading hospitals…"</p> }>
            <ErrorBoundary fallback=move |e| error_view(e, move || list.refetch())>
                {move || Suspend::new(async move {
                    list.await.map(|f| {
                        let items = f.value.iter().map(|h| Choice { id: h.id, label: format!("{} ({})", h.name, h.city) }).collect();
                        view! { <FreshnessNote freshness=f.freshness />{choices(items, move |c| draft.update(|d| d.choose_hospital(c)))} }
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn PickDepartment(draft: RwSignal<BookingDraft>) -> impl IntoView {
    let list = LocalResource::new(move || async move {
        let id = draft
            .with_untracked(|d| d.hospital().map(|c| c.id))
            .unwrap_or_default();
        api()
            .client()
            .appointments()
            .departments(id)
            .await
            .map_err(UiError::from)
    });
    view! {
        <h2>"Department"</h2>
        <Transition fallback=|| view! { <p>"Loading departments…"</p> }>
            <ErrorBoundary fallback=move |e| error_view(e, move || list.refetch())>
                {move || Suspend::new(async move {
                    list.await.map(|f| {
                        let items = f.value.iter().map(|d| Choice { id: d.id, label: format!("{} · {}", d.name, money(d.fee_minor, &d.currency)) }).collect();
                        view! { <FreshnessNote freshness=f.freshness />{choices(items, move |c| draft.update(|d| d.choose_department(c)))} }
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn PickDoctor(draft: RwSignal<BookingDraft>) -> impl IntoView {
    let list = LocalResource::new(move || async move {
        let id = draft
            .with_untracked(|d| d.department().map(|c| c.id))
            .unwrap_or_default();
        api()
            .client()
            .appointments()
            .doctors(id)
            .await
            .map_err(UiError::from)
    });
    view! {
        <h2>"Doctor"</h2>
        <Transition fallback=|| view! { <p>"Loading doctors…"</p> }>
            <ErrorBoundary fallback=move |e| error_view(e, move || list.refetch())>
                {move || Suspend::new(async move {
                    list.await.map(|f| {
                        let items = f.value.iter().map(|d| Choice { id: d.id, label: format!("{} ({})", d.name, d.specialty) }).collect();
                        view! { <FreshnessNote freshness=f.freshness />{choices(items, move |c| draft.update(|d| d.choose_doctor(c)))} }
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn PickDay(draft: RwSignal<BookingDraft>) -> impl IntoView {
    view! {
        <h2>"Day"</h2>
        <ul class="choices">
            {next_days(7).into_iter().map(|day| {
                let label = day.clone();
                view! { <li><button on:click=move |_| draft.update(|d| d.choose_day(day.clone()))>{label}</button></li> }
            }).collect_view()}
        </ul>
    }
}

#[component]
fn PickSlot(draft: RwSignal<BookingDraft>) -> impl IntoView {
    let list = LocalResource::new(move || async move {
        let (doctor, day) = draft.with_untracked(|d| {
            (
                d.doctor().map(|c| c.id).unwrap_or_default(),
                d.day().unwrap_or_default().to_owned(),
            )
        });
        api()
            .client()
            .appointments()
            .availability(doctor, &day)
            .await
            .map_err(UiError::from)
    });
    let alternatives = move || match draft.get().submission() {
        Some(Submission::SlotTaken { alternatives }) if !alternatives.is_empty() => {
            Some(alternatives.clone())
        }
        _ => None,
    };
    view! {
        {move || alternatives().map(|alts| view! {
            <h2>"Other free times"</h2>
            {choices(alts, move |c| draft.update(|d| d.choose_slot(c)))}
        })}
        <h2>"Time"</h2>
        <Transition fallback=|| view! { <p>"Loading free times…"</p> }>
            <ErrorBoundary fallback=move |e| error_view(e, move || list.refetch())>
                {move || Suspend::new(async move {
                    list.await.map(|f| {
                        let items = f.value.slots.iter().filter(|s| s.free).map(slot_choice).collect();
                        view! { <FreshnessNote freshness=f.freshness />{choices(items, move |c| draft.update(|d| d.choose_slot(c)))} }
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn Reason(draft: RwSignal<BookingDraft>) -> impl IntoView {
    let error = RwSignal::new(None::<String>);
    let next = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let outcome = draft.try_update(BookingDraft::finish_reason);
        error.set(outcome.and_then(Result::err).map(|e| e.to_string()));
    };
    view! {
        <form on:submit=next>
            <h2>"Reason"</h2>
            <div class="field">
                <label for="reason">"What is the visit about? (optional)"</label>
                <textarea
                    id="reason"
                    aria-describedby="reason-error"
                    prop:value=move || draft.with(|d| d.reason().to_owned())
                    on:input=move |ev| draft.update(|d| d.set_reason(event_target_value(&ev)))
                ></textarea>
                <p id="reason-error" class="field-error">{move || error.get()}</p>
            </div>
            <button type="submit">"Continue"</button>
        </form>
    }
}

#[component]
fn Confirm(draft: RwSignal<BookingDraft>) -> impl IntoView {
    view! {
        <h2>"Confirm"</h2>
        <p>{move || {
            let d = draft.get();
            format!(
                "{} on {} at {}, {}.",
                d.doctor().map(|c| c.label.clone()).unwrap_or_default(),
                d.day().unwrap_or_default(),
                d.slot().map(|c| c.label.clone()).unwrap_or_default(),
                d.hospital().map(|c| c.label.clone()).unwrap_or_default(),
            )
        }}</p>
        <button on:click=move |_| send_booking(draft)>"Confirm booking"</button>
    }
}

#[component]
fn Done(draft: RwSignal<BookingDraft>) -> impl IntoView {
    view! {
        <div class="notice" role="status" data-testid="booking-state">
            <p><strong>"Booked."</strong> " Your appointment is confirmed."</p>
            <p><A href="/appointments">"See your appointments"</A></p>
            <button class="secondary" on:click=move |_| draft.set(BookingDraft::default())>"Book another"</button>
        </div>
    }
}
