//! `/tracking`: kick counter, contraction timer and cycle tracker. Entries are kept in
//! `localStorage` and queued in the SDK's outbox (`Intent::TrackingUpsert`), so they are
//! recorded offline and sent when the connection returns; each tracker draws its history.

use leptos::prelude::*;
use lifeline_sdk::outbox::{EntryStatus, Intent};
use lifeline_sdk::types::tracking::TrackingKind;
use uuid::Uuid;

use crate::api::{api, UiError};
use crate::device::local_storage;
use crate::state::chart::Frame;
use crate::state::tracking::{chart_values, merge_server, storage_key, waiting, Entry, SyncState};

const FRAME: Frame = Frame {
    width: 300.0,
    height: 80.0,
    margin: 6.0,
};

fn now_iso() -> String {
    String::from(js_sys::Date::new_0().to_iso_string())
}

fn load(kind: TrackingKind) -> Vec<Entry> {
    local_storage()
        .and_then(|s| s.get_item(&storage_key(kind)).ok().flatten())
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default()
}

fn save(kind: TrackingKind, entries: &[Entry]) {
    if let (Some(storage), Ok(json)) = (local_storage(), serde_json::to_string(entries)) {
        let _ = storage.set_item(&storage_key(kind), &json);
    }
}

/// One tracker's entries as a signal, kept in `localStorage` and in step with the outbox.
#[derive(Clone, Copy)]
struct Tracker {
    kind: TrackingKind,
    entries: RwSignal<Vec<Entry>>,
    error: RwSignal<Option<String>>,
}

impl Tracker {
    fn new(kind: TrackingKind) -> Self {
        let tracker = Self {
            kind,
            entries: RwSignal::new(load(kind)),
            error: RwSignal::new(None),
        };
        for entry in tracker.entries.get_untracked() {
            if let SyncState::Waiting { outbox_id } = entry.sync {
                tracker.follow(entry.id, outbox_id);
            }
        }
        // The server's copy (other devices' entries); offline, the device's copy stands.
        leptos::task::spawn_local(async move {
            if let Ok(page) = api().client().tracking().changes(kind, None).await {
                tracker.update(|entries| merge_server(entries, &page.value.items));
            }
        });
        tracker
    }

    /// Changes the entries in storage and, while the page still shows them, on screen (a
    /// task may finish after the page was left or re-rendered).
    fn update(&self, f: impl FnOnce(&mut Vec<Entry>)) {
        let mut entries = self
            .entries
            .try_get_untracked()
            .unwrap_or_else(|| load(self.kind));
        f(&mut entries);
        save(self.kind, &entries);
        let _ = self.entries.try_set(entries);
    }

    /// Records `data` now: stored on the device, queued in the outbox, sent when possible.
    fn record(self, data: serde_json::Value) {
        let entry = Entry {
            id: Uuid::new_v4(),
            updated_at: now_iso(),
            data,
            sync: SyncState::Waiting {
                outbox_id: String::new(),
            },
        };
        self.error.set(None);
        leptos::task::spawn_local(async move {
            let intent = Intent::TrackingUpsert {
                kind: self.kind,
                items: vec![entry.input()],
            };
            match api().client().queue(intent).await {
                Ok(queued) => {
                    let id = entry.id;
                    self.update(|entries| {
                        entries.push(Entry {
                            sync: SyncState::Waiting {
                                outbox_id: queued.id.clone(),
                            },
                            ..entry
                        });
                        entries.sort_by(|a, b| a.started().cmp(b.started()));
                    });
                    self.follow(id, queued.id);
                    // Offline, a send would only fail (and count against the service's
                    // breaker); the app's sync triggers send it once the connection returns.
                    if api().status().online.get_untracked() {
                        let _ = api().client().sync_now().await;
                    }
                }
                Err(e) => {
                    let _ = self
                        .error
                        .try_set(Some(format!("Not saved: {}", UiError::from(e))));
                }
            }
        });
    }

    /// Marks entry `id` synced (or refused) once its outbox entry settles.
    fn follow(self, id: Uuid, outbox_id: String) {
        leptos::task::spawn_local(async move {
            let sync = match api().client().outbox().wait(&outbox_id).await {
                Ok(EntryStatus::Confirmed { .. }) => SyncState::Synced,
                Ok(EntryStatus::Rejected { message, .. }) => SyncState::Refused(message),
                Ok(other) => SyncState::Refused(format!("{other:?}")),
                // Gone from the outbox (dismissed, or signed out): nothing left to wait for.
                Err(_) => return,
            };
            self.update(|entries| {
                if let Some(e) = entries.iter_mut().find(|e| e.id == id) {
                    e.sync = sync;
                }
            });
        });
    }
}

/// The tracking page.
#[component]
pub fn Tracking() -> impl IntoView {
    view! {
        <h1 tabindex="-1">"Health tracking"</h1>
        <p class="muted">"Entries are saved on this device first and sync when you are online."</p>
        <KickCounter />
        <ContractionTimer />
        <CycleTracker />
    }
}

#[component]
fn History(tracker: Tracker, label: &'static str, describe: fn(&Entry) -> String) -> impl IntoView {
    let points = move || chart_values(tracker.kind, &tracker.entries.get());
    view! {
        {move || tracker.error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        <svg
            viewBox=format!("0 0 {} {}", FRAME.width, FRAME.height)
            width=FRAME.width
            height=FRAME.height
            role="img"
            aria-label=label
            class="chart"
        >
            <polyline
                points=move || FRAME.polyline(&points())
                fill="none"
                stroke="currentColor"
                stroke-width="2"
            />
        </svg>
        <p class="muted">
            {move || match waiting(&tracker.entries.get()) {
                0 => String::new(),
                n => format!("{n} waiting to sync"),
            }}
        </p>
        <ul class="cards" data-testid=format!("tracking-{}", tracker.kind.as_str())>
            {move || tracker.entries.get().into_iter().rev().take(5).map(|e| view! {
                <li>{describe(&e)} <span class="muted">{format!(" · {}", e.sync.label())}</span></li>
            }).collect_view()}
        </ul>
    }
}

fn short_time(iso: &str) -> String {
    iso.get(..16).unwrap_or(iso).replace('T', " ")
}

#[component]
fn KickCounter() -> impl IntoView {
    let tracker = Tracker::new(TrackingKind::KickSessions);
    let session = RwSignal::new(None::<(String, i64)>);
    let finish = move |_| {
        if let Some((started_at, kicks)) = session.get_untracked() {
            session.set(None);
            tracker.record(serde_json::json!({
                "started_at": started_at, "ended_at": now_iso(), "kicks": kicks,
            }));
        }
    };
    view! {
        <section aria-labelledby="kicks">
            <h2 id="kicks">"Kick counter"</h2>
            {move || match session.get() {
                None => view! {
                    <button on:click=move |_| session.set(Some((now_iso(), 0)))>"Start counting"</button>
                }.into_any(),
                Some((_, kicks)) => view! {
                    <p role="status" data-testid="kick-count">{format!("{kicks} kicks")}</p>
                    <button on:click=move |_| session.update(|s| if let Some(s) = s { s.1 += 1 })>"Kick"</button>
                    <button class="secondary" on:click=finish>"Finish session"</button>
                }.into_any(),
            }}
            <History tracker label="Kicks per session" describe=|e| format!(
                "{}: {} kicks", short_time(e.started()), e.data["kicks"].as_i64().unwrap_or(0)
            ) />
        </section>
    }
}

#[component]
fn ContractionTimer() -> impl IntoView {
    let tracker = Tracker::new(TrackingKind::Contractions);
    let started = RwSignal::new(None::<(String, f64)>);
    let stop = move |_| {
        if let Some((started_at, t0)) = started.get_untracked() {
            started.set(None);
            let seconds = ((js_sys::Date::now() - t0) / 1000.0).round().max(1.0) as i64;
            tracker.record(serde_json::json!({
                "started_at": started_at, "duration_seconds": seconds,
            }));
        }
    };
    view! {
        <section aria-labelledby="contractions">
            <h2 id="contractions">"Contraction timer"</h2>
            {move || match started.get() {
                None => view! {
                    <button on:click=move |_| started.set(Some((now_iso(), js_sys::Date::now())))>"Contraction started"</button>
                }.into_any(),
                Some(_) => view! {
                    <p role="status">"Timing…"</p>
                    <button on:click=stop>"Contraction ended"</button>
                }.into_any(),
            }}
            <History tracker label="Seconds per contraction" describe=|e| format!(
                "{}: {} s", short_time(e.started()), e.data["duration_seconds"].as_i64().unwrap_or(0)
            ) />
        </section>
    }
}

#[component]
fn CycleTracker() -> impl IntoView {
    let tracker = Tracker::new(TrackingKind::Cycles);
    let date = RwSignal::new(now_iso().get(..10).unwrap_or_default().to_owned());
    let flow = RwSignal::new("medium".to_owned());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let day = date.get_untracked();
        if day.len() != 10 {
            tracker
                .error
                .set(Some("Pick the day the period started.".to_owned()));
            return;
        }
        tracker.record(serde_json::json!({
            "start_date": day, "flow": flow.get_untracked(), "symptoms": [],
        }));
    };
    view! {
        <section aria-labelledby="cycles">
            <h2 id="cycles">"Cycle tracker"</h2>
            <form on:submit=submit>
                <label for="cycle-start">"Period started on"</label>
                <input id="cycle-start" type="date" bind:value=date />
                <label for="cycle-flow">"Flow"</label>
                <select id="cycle-flow" on:change:target=move |ev| flow.set(ev.target().value())>
                    <option value="light">"Light"</option>
                    <option value="medium" selected>"Medium"</option>
                    <option value="heavy">"Heavy"</option>
                </select>
                <button type="submit">"Save period start"</button>
            </form>
            <History tracker label="Days between cycles" describe=|e| format!(
                "{} ({})", e.started(), e.data["flow"].as_str().unwrap_or("")
            ) />
        </section>
    }
}
