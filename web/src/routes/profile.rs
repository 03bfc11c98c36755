//! `/account`: the patient's profile, their primary hospital, and signing out (with a
//! warning first when queued changes would be deleted).

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use lifeline_sdk::types::profile::Profile;
use lifeline_sdk::SessionState;
use uuid::Uuid;

use super::login::TextField;
use super::{error_view, FreshnessNote};
use crate::api::{api, UiError};
use crate::state::profile::{sign_out_warning, ProfileForm, GENDERS};
use crate::state::validation::{message_for, FieldError};

fn today() -> String {
    String::from(js_sys::Date::new_0().to_iso_string())
        .chars()
        .take(10)
        .collect()
}

/// The account page.
#[component]
pub fn Account() -> impl IntoView {
    let profile = LocalResource::new(|| async {
        api().client().profile().get().await.map_err(UiError::from)
    });
    view! {
        <h1 tabindex="-1">"Your account"</h1>
        <section aria-labelledby="profile-heading">
            <h2 id="profile-heading">"Profile"</h2>
            <Transition fallback=|| view! { <p>"Loading your profile…"</p> }>
                <ErrorBoundary fallback=move |e| error_view(e, move || profile.refetch())>
                    {move || Suspend::new(async move {
                        profile.await.map(|fetched| view! {
                            <FreshnessNote freshness=fetched.freshness />
                            <ProfileEditor original=fetched.value />
                        })
                    })}
                </ErrorBoundary>
            </Transition>
        </section>
        <PrimaryHospital />
        <SignOut />
    }
}

#[component]
fn ProfileEditor(original: Profile) -> impl IntoView {
    let form = ProfileForm::from_profile(&original);
    let original = RwSignal::new(original);
    let name = RwSignal::new(form.name);
    let phone = RwSignal::new(form.phone);
    let date_of_birth = RwSignal::new(form.date_of_birth);
    let gender = RwSignal::new(form.gender);
    let address = RwSignal::new(form.address);
    let errors = RwSignal::new(Vec::<FieldError>::new());
    let outcome = RwSignal::new(None::<Result<&'static str, String>>);
    let busy = RwSignal::new(false);

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let typed = ProfileForm {
            name: name.get(),
            phone: phone.get(),
            date_of_birth: date_of_birth.get(),
            gender: gender.get(),
            address: address.get(),
        };
        let found = typed.check(&today());
        errors.set(found.clone());
        outcome.set(None);
        if !found.is_empty() {
            return;
        }
        let Some(update) = typed.changes(&original.get_untracked()) else {
            outcome.set(Some(Ok("Nothing has changed.")));
            return;
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            match api().client().profile().update(&update).await {
                Ok(saved) => {
                    original.set(saved);
                    outcome.set(Some(Ok("Saved.")));
                }
                // What was typed stays in the form, so nothing is lost; the patient can retry.
                Err(e) => outcome.set(Some(Err(format!(
                    "Not saved: {}. Your changes are still in the form.",
                    UiError::from(e)
                )))),
            }
            busy.set(false);
        });
    };

    view! {
        <form on:submit=submit novalidate>
            <TextField id="name" label="Full name" kind="text" value=name errors=errors autocomplete="name" />
            <TextField id="phone" label="Phone (optional)" kind="tel" value=phone errors=errors autocomplete="tel" />
            <TextField id="date_of_birth" label="Date of birth, YYYY-MM-DD (optional)" kind="text" value=date_of_birth errors=errors autocomplete="bday" />
            <div class="field">
                <label for="gender">"Gender (optional)"</label>
                <select
                    id="gender"
                    aria-describedby="gender-error"
                    prop:value=move || gender.get()
                    on:change=move |ev| gender.set(event_target_value(&ev))
                >
                    {GENDERS.iter().map(|(value, label)| view! { <option value=*value>{*label}</option> }).collect_view()}
                </select>
                <p id="gender-error" class="field-error">{move || message_for(&errors.get(), "gender")}</p>
            </div>
            <TextField id="address" label="Address (optional)" kind="text" value=address errors=errors autocomplete="street-address" />
            {move || outcome.get().map(|o| match o {
                Ok(text) => view! { <p role="status" data-testid="profile-outcome">{text}</p> }.into_any(),
                Err(text) => view! { <p class="error" role="alert" data-testid="profile-outcome">{text}</p> }.into_any(),
            })}
            <button type="submit" disabled=move || busy.get()>
                {move || if busy.get() { "Saving…" } else { "Save profile" }}
            </button>
        </form>
    }
}

#[component]
fn PrimaryHospital() -> impl IntoView {
    let data = LocalResource::new(|| async {
        let client = api().client().clone();
        let hospitals = client.hospitals().list().await.map_err(UiError::from)?;
        let primary = client.hospitals().primary().await.map_err(UiError::from)?;
        Ok::<_, UiError>((hospitals, primary))
    });
    let outcome = RwSignal::new(None::<Result<String, String>>);
    let choose = move |id: Uuid| {
        leptos::task::spawn_local(async move {
            match api().client().hospitals().set_primary(id).await {
                Ok(set) => {
                    let name = set.hospital.map(|h| h.name).unwrap_or_default();
                    outcome.set(Some(Ok(format!("{name} is now your primary hospital."))));
                    data.refetch();
                }
                Err(e) => outcome.set(Some(Err(format!("Not changed: {}", UiError::from(e))))),
            }
        });
    };
    view! {
        <section aria-labelledby="hospital-heading">
            <h2 id="hospital-heading">"Primary hospital"</h2>
            <Transition fallback=|| view! { <p>"Loading hospitals…"</p> }>
                <ErrorBoundary fallback=move |e| error_view(e, move || data.refetch())>
                    {move || Suspend::new(async move {
                        data.await.map(|(hospitals, primary)| {
                            let current = primary.value.hospital.map(|h| h.id);
                            view! {
                                <FreshnessNote freshness=hospitals.freshness />
                                <p data-testid="primary-hospital">{match hospitals.value.iter().find(|h| Some(h.id) == current) {
                                    Some(h) => format!("Your primary hospital is {}.", h.name),
                                    None => "You have not chosen a primary hospital yet.".to_owned(),
                                }}</p>
                                <ul class="choices">
                                    {hospitals.value.into_iter().filter(|h| Some(h.id) != current).map(|h| {
                                        let id = h.id;
                                        view! { <li><button class="secondary" on:click=move |_| choose(id)>{format!("Make {} ({}) my primary hospital", h.name, h.city)}</button></li> }
                                    }).collect_view()}
                                </ul>
                            }
                        })
                    })}
                </ErrorBoundary>
            </Transition>
            {move || outcome.get().map(|o| match o {
                Ok(text) => view! { <p role="status">{text}</p> }.into_any(),
                Err(text) => view! { <p class="error" role="alert">{text}</p> }.into_any(),
            })}
        </section>
    }
}

#[component]
fn SignOut() -> impl IntoView {
    let status = api().status();
    let confirming = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let failure = RwSignal::new(None::<String>);
    let navigate = use_navigate();
    let sign_out = move || {
        busy.set(true);
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            let api = api();
            match api.client().auth().logout().await {
                Ok(()) => {
                    // The booking draft and the health-tracking history are this patient's
                    // too; the SDK has already wiped its own stores.
                    crate::device::forget();
                    api.status().pending.set(0);
                    api.status().session.set(Some(SessionState::Anonymous));
                    navigate("/login", Default::default());
                }
                Err(e) => failure.set(Some(format!("Signing out failed: {}", UiError::from(e)))),
            }
            busy.set(false);
        });
    };
    let sign_out_now = sign_out.clone();
    let ask = move |_| {
        if sign_out_warning(status.pending.get_untracked()).is_some() {
            confirming.set(true);
        } else {
            sign_out_now();
        }
    };
    view! {
        <section aria-labelledby="signout-heading">
            <h2 id="signout-heading">"Sign out"</h2>
            {move || match (confirming.get(), sign_out_warning(status.pending.get())) {
                (true, Some(warning)) => {
                    let sign_out = sign_out.clone();
                    view! {
                        <div class="notice" role="alert" data-testid="signout-warning">
                            <p><strong>{warning}</strong> " Wait until they are sent, or sign out anyway."</p>
                            <button on:click=move |_| sign_out() disabled=move || busy.get()>"Sign out and delete them"</button>
                            <button class="secondary" on:click=move |_| confirming.set(false)>"Stay signed in"</button>
                        </div>
                    }.into_any()
                }
                _ => {
                    let ask = ask.clone();
                    view! { <button on:click=ask disabled=move || busy.get()>"Sign out"</button> }.into_any()
                }
            }}
            {move || failure.get().map(|f| view! { <p class="error" role="alert">{f}</p> })}
        </section>
    }
}
