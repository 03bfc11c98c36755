//! The pages, one module each, and the pieces they share.

pub mod appointments;
pub mod book;
pub mod home;
pub mod login;
pub mod pay;
pub mod pharmacies;
pub mod prescriptions;
pub mod profile;
pub mod records;
pub mod registry;
pub mod status;
pub mod tracking;

use leptos::prelude::*;
use lifeline_sdk::Freshness;

use crate::state::format::freshness_text;

/// "Saved copy from 12 minutes ago" under data that came from the cache.
#[component]
pub fn FreshnessNote(freshness: Freshness) -> impl IntoView {
    freshness_text(freshness).map(|text| view! { <p class="stale" data-testid="stale">{text}</p> })
}

/// The error view inside every page's `ErrorBoundary`: what went wrong and a retry button.
pub fn error_view(
    errors: ArcRwSignal<Errors>,
    retry: impl Fn() + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let messages = move || {
        errors
            .get()
            .into_iter()
            .map(|(_, e)| view! { <li>{e.to_string()}</li> })
            .collect_view()
    };
    view! {
        <div class="error" role="alert">
            <p>"Something went wrong:"</p>
            <ul>{messages}</ul>
            <button on:click=move |_| retry()>"Try again"</button>
        </div>
    }
}
