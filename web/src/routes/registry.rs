//! `/registry`: check a health professional's licence in the public registry.

use leptos::prelude::*;

use super::FreshnessNote;
use crate::api::{api, UiError};

/// The registry page.
#[component]
pub fn Registry() -> impl IntoView {
    let licence = RwSignal::new(String::new());
    let submitted = RwSignal::new(None::<String>);
    let result = LocalResource::new(move || {
        let number = submitted.get();
        async move {
            match number {
                None => Ok(None),
                Some(n) => api()
                    .client()
                    .registry()
                    .verify(&n)
                    .await
                    .map(Some)
                    .map_err(UiError::from),
            }
        }
    });
    view! {
        <h1 tabindex="-1">"Verify a licence"</h1>
        <form on:submit=move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let n = licence.get().trim().to_owned();
            if !n.is_empty() {
                submitted.set(Some(n));
            }
        }>
            <div class="field">
                <label for="licence">"Licence number"</label>
                <input id="licence" prop:value=move || licence.get()
                    on:input=move |ev| licence.set(event_target_value(&ev)) />
            </div>
            <button type="submit">"Verify"</button>
        </form>
        <Transition fallback=|| view! { <p>"Checking…"</p> }>
            {move || Suspend::new(async move {
                match result.await {
                    Ok(None) => ().into_any(),
                    Ok(Some(f)) => {
                        let v = f.value;
                        let verdict = if v.valid { "Valid licence" } else { "Not a valid licence" };
                        view! {
                            <FreshnessNote freshness=f.freshness />
                            <div class="notice" role="status" data-testid="verification">
                                <p><strong>{verdict}</strong></p>
                                <p>{format!("{} · {} · {} · expires {}", v.full_name, v.profession, v.status, v.expires_on)}</p>
                            </div>
                        }.into_any()
                    }
                    Err(e) if e.to_string() == "Not found." => view! {
                        <p class="error" role="alert" data-testid="verification">"No licence with this number is registered."</p>
                    }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}
