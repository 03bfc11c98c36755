//! `/records`: medical records behind a one-time code sent by email.

use std::time::Duration;

use leptos::prelude::*;
use lifeline_sdk::types::records::MedicalRecords;

use super::FreshnessNote;
use crate::api::{api, UiError};
use crate::state::otp::{plausible_code, OtpFailure, OtpStep};

/// The local clock time `wait` from now, `"14:05"`.
fn clock_after(wait: Duration) -> String {
    let at = js_sys::Date::new(&(js_sys::Date::now() + wait.as_secs_f64() * 1000.0).into());
    format!("{:02}:{:02}", at.get_hours(), at.get_minutes())
}

/// The sentence for a failed code request or check. `locked_until` (epoch ms) remembers a
/// lock the server reported, so a refusal by the records breaker (which opens on those
/// answers) during the lock still says when to try again.
fn failure(e: &lifeline_sdk::Error, locked_until: RwSignal<Option<f64>>) -> String {
    let now = js_sys::Date::now();
    let kind = if e.is_circuit_open() {
        match locked_until.get_untracked().filter(|until| *until > now) {
            Some(until) => OtpFailure::Locked {
                wait: Duration::from_secs_f64((until - now) / 1000.0),
            },
            None => OtpFailure::Paused,
        }
    } else if e.status().is_some() {
        OtpFailure::from_answer(e.status(), e.code(), e.details(), e.retry_after())
    } else {
        OtpFailure::Unreachable
    };
    match kind {
        OtpFailure::Locked { wait } => {
            locked_until.set(Some(now + wait.as_secs_f64() * 1000.0));
            kind.text(Some(&clock_after(wait)))
        }
        _ => kind.text(None),
    }
}

/// The medical records page.
#[component]
pub fn Records() -> impl IntoView {
    let step = RwSignal::new(OtpStep::Start);
    let code = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let records = RwSignal::new(None::<(MedicalRecords, lifeline_sdk::Freshness)>);
    let locked_until = RwSignal::new(None::<f64>);

    let load = move || {
        leptos::task::spawn_local(async move {
            match api().client().records().list().await {
                Ok(f) => {
                    records.set(Some((f.value, f.freshness)));
                    step.set(OtpStep::Unlocked);
                }
                Err(e) => error.set(Some(UiError::from(e).to_string())),
            }
        });
    };
    let request = move |_| {
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            match api().client().records().request_otp().await {
                Ok(_) => step.set(OtpStep::CodeSent),
                Err(e) => error.set(Some(failure(&e, locked_until))),
            }
            busy.set(false);
        });
    };
    let verify = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let typed = code.get().trim().to_owned();
        if !plausible_code(&typed) {
            error.set(Some("Enter the 6-digit code from the email.".to_owned()));
            return;
        }
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            match api().client().records().verify_otp(&typed).await {
                Ok(_) => load(),
                Err(e) => error.set(Some(failure(&e, locked_until))),
            }
            busy.set(false);
        });
    };

    view! {
        <h1 tabindex="-1">"Medical records"</h1>
        {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        {move || match step.get() {
            OtpStep::Start => view! {
                <p>"Your records are protected. We will email you a one-time code to open them."</p>
                <button on:click=request disabled=move || busy.get()>"Email me a code"</button>
            }.into_any(),
            OtpStep::CodeSent => view! {
                <form on:submit=verify>
                    <div class="field">
                        <label for="otp">"The 6-digit code from the email"</label>
                        <input id="otp" inputmode="numeric" autocomplete="one-time-code"
                            prop:value=move || code.get()
                            on:input=move |ev| code.set(event_target_value(&ev)) />
                    </div>
                    <button type="submit" disabled=move || busy.get()>"Open my records"</button>
                    " "
                    <button type="button" class="secondary" on:click=request>"Send a new code"</button>
                </form>
            }.into_any(),
            OtpStep::Unlocked => view! {
                {move || records.get().map(|(r, freshness)| view! {
                    <FreshnessNote freshness=freshness />
                    <h2>"Conditions"</h2>
                    <ul class="cards" data-testid="conditions">
                        {r.conditions.into_iter().map(|c| view! {
                            <li>{format!("{} · {} · since {}", c.name, c.status, c.diagnosed_on)}</li>
                        }).collect_view()}
                    </ul>
                    <h2>"Medications"</h2>
                    <ul class="cards">
                        {r.medications.into_iter().map(|m| view! {
                            <li>{format!("{} {} · {}", m.name, m.dosage, m.frequency)}</li>
                        }).collect_view()}
                    </ul>
                    <h2>"Allergies"</h2>
                    <ul class="cards">
                        {r.allergies.into_iter().map(|a| view! {
                            <li>{format!("{}: {} ({})", a.substance, a.reaction, a.severity)}</li>
                        }).collect_view()}
                    </ul>
                })}
            }.into_any(),
        }}
    }
}
