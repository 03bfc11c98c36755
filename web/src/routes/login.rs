//! Sign-in and registration.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;
use lifeline_sdk::types::auth::RegisterRequest;

use crate::api::{api, UiError};
use crate::state::validation::{self, message_for, FieldError};

/// `/login`.
#[component]
pub fn Login() -> impl IntoView {
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let errors = RwSignal::new(Vec::<FieldError>::new());
    let failure = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let navigate = use_navigate();

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let found = validation::login(&email.get(), &password.get());
        errors.set(found.clone());
        if !found.is_empty() {
            return;
        }
        busy.set(true);
        failure.set(None);
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            let api = api();
            match api
                .client()
                .auth()
                .login(email.get_untracked().trim(), &password.get_untracked())
                .await
            {
                Ok(_) => {
                    if let Some(user) = api.client().current_user() {
                        crate::device::signed_in(&user.id.to_string());
                    }
                    api.status().session.set(Some(api.client().session_state()));
                    navigate("/", Default::default());
                }
                Err(e) => failure.set(Some(UiError::from(e).to_string())),
            }
            busy.set(false);
        });
    };

    view! {
        <h1 tabindex="-1">"Sign in"</h1>
        <form on:submit=submit novalidate>
            <TextField id="email" label="Email" kind="email" value=email errors=errors autocomplete="username" />
            <TextField id="password" label="Password" kind="password" value=password errors=errors autocomplete="current-password" />
            {move || failure.get().map(|f| view! { <p class="error" role="alert">{f}</p> })}
            <button type="submit" disabled=move || busy.get()>
                {move || if busy.get() { "Signing in…" } else { "Sign in" }}
            </button>
        </form>
        <p>"New here? " <A href="/register">"Create an account"</A></p>
    }
}

/// `/register`.
#[component]
pub fn Register() -> impl IntoView {
    let name = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let errors = RwSignal::new(Vec::<FieldError>::new());
    let failure = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let navigate = use_navigate();

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let found =
            validation::register(&name.get(), &email.get(), &password.get(), &confirm.get());
        errors.set(found.clone());
        if !found.is_empty() {
            return;
        }
        busy.set(true);
        failure.set(None);
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            let api = api();
            let request = RegisterRequest {
                email: email.get_untracked().trim().to_owned(),
                password: password.get_untracked(),
                name: name.get_untracked().trim().to_owned(),
            };
            let outcome = match api.client().auth().register(&request).await {
                Ok(_) => api
                    .client()
                    .auth()
                    .login(&request.email, &request.password)
                    .await
                    .map(|_| ()),
                Err(e) => Err(e),
            };
            match outcome {
                Ok(()) => {
                    if let Some(user) = api.client().current_user() {
                        crate::device::signed_in(&user.id.to_string());
                    }
                    api.status().session.set(Some(api.client().session_state()));
                    navigate("/", Default::default());
                }
                Err(e) if e.status() == Some(409) => failure.set(Some(
                    "An account with this email already exists.".to_owned(),
                )),
                Err(e) => failure.set(Some(UiError::from(e).to_string())),
            }
            busy.set(false);
        });
    };

    view! {
        <h1 tabindex="-1">"Create an account"</h1>
        <form on:submit=submit novalidate>
            <TextField id="name" label="Full name" kind="text" value=name errors=errors autocomplete="name" />
            <TextField id="email" label="Email" kind="email" value=email errors=errors autocomplete="email" />
            <TextField id="password" label="Password (at least 8 characters)" kind="password" value=password errors=errors autocomplete="new-password" />
            <TextField id="confirm" label="Repeat the password" kind="password" value=confirm errors=errors autocomplete="new-password" />
            {move || failure.get().map(|f| view! { <p class="error" role="alert">{f}</p> })}
            <button type="submit" disabled=move || busy.get()>"Create account"</button>
        </form>
        <p>"Already registered? " <A href="/login">"Sign in"</A></p>
    }
}

/// A labelled input with its error message tied to it by `aria-describedby`.
#[component]
pub fn TextField(
    id: &'static str,
    label: &'static str,
    kind: &'static str,
    value: RwSignal<String>,
    errors: RwSignal<Vec<FieldError>>,
    autocomplete: &'static str,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    let message = move || message_for(&errors.get(), id);
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <input
                id=id
                name=id
                type=kind
                autocomplete=autocomplete
                aria-invalid=move || if message().is_some() { "true" } else { "false" }
                aria-describedby=error_id.clone()
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
            />
            <p id=error_id class="field-error">{message}</p>
        </div>
    }
}

/// Component tests, in the browser: the accessible wiring every form field of the app relies on.
#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    use leptos::prelude::*;
    use wasm_bindgen::JsCast;
    use wasm_bindgen_test::*;

    use super::TextField;
    use crate::state::validation::{self, FieldError};

    wasm_bindgen_test_configure!(run_in_browser);

    #[wasm_bindgen_test]
    async fn a_field_is_labelled_its_error_announced_and_typing_reaches_the_signal() {
        let document = document();
        let host: web_sys::HtmlElement = document.create_element("div").unwrap().unchecked_into();
        document.body().unwrap().append_child(&host).unwrap();
        let value = RwSignal::new(String::new());
        let errors = RwSignal::new(Vec::<FieldError>::new());
        let _mounted = leptos::mount::mount_to(host.clone(), move || {
            view! {
                <TextField id="email" label="Email" kind="email" value=value errors=errors autocomplete="username" />
            }
        });

        let input: web_sys::HtmlInputElement = document
            .get_element_by_id("email")
            .unwrap()
            .unchecked_into();
        let label = host.query_selector("label").unwrap().unwrap();
        assert_eq!(label.get_attribute("for").as_deref(), Some("email"));
        assert_eq!(
            input.get_attribute("aria-describedby").as_deref(),
            Some("email-error")
        );
        assert_eq!(
            input.get_attribute("aria-invalid").as_deref(),
            Some("false")
        );
        let message = || {
            document
                .get_element_by_id("email-error")
                .unwrap()
                .text_content()
        };
        assert_eq!(message().as_deref(), Some(""));

        errors.set(validation::login("not an email", "long enough password"));
        leptos::task::tick().await;
        assert_eq!(input.get_attribute("aria-invalid").as_deref(), Some("true"));
        let shown = message().unwrap_or_default();
        assert!(
            !shown.is_empty(),
            "the email error is in the element the input points to"
        );

        errors.set(Vec::new());
        leptos::task::tick().await;
        assert_eq!(
            input.get_attribute("aria-invalid").as_deref(),
            Some("false")
        );

        input.set_value("ada@example.org");
        input
            .dispatch_event(&web_sys::Event::new("input").unwrap())
            .unwrap();
        assert_eq!(value.get_untracked(), "ada@example.org");
        host.remove();
    }
}
