//! lifeline-web: the Lifeline patient app, a Leptos client-side app over lifeline-sdk.
//!
//! Rendering lives in the browser-only modules ([`app`], `routes`, `api`); the decisions
//! behind it (booking drafts, banner texts, form validation, chart scaling) live in
//! [`state`] as plain structs, tested natively with `cargo test -p lifeline-web`.

pub mod state;

#[cfg(target_arch = "wasm32")]
pub mod api;
#[cfg(target_arch = "wasm32")]
pub mod app;
#[cfg(target_arch = "wasm32")]
mod device;
#[cfg(target_arch = "wasm32")]
mod routes;

/// Builds the SDK client, then mounts the app on `<body>`.
#[cfg(target_arch = "wasm32")]
pub fn start() {
    use leptos::prelude::*;
    // With `panic = "abort"` a panic is a bare "unreachable" trap; say what happened first.
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&format!("lifeline panicked: {info}").into());
    }));
    wasm_bindgen_futures::spawn_local(async {
        let api = api::Api::init().await;
        remove_shell();
        match api {
            Ok(api) => leptos::mount::mount_to_body(move || {
                view! { <app::App api=api /> }
            }),
            Err(e) => leptos::mount::mount_to_body(move || {
                view! { <p role="alert">{format!("Lifeline could not start: {e}")}</p> }
            }),
        }
    });
}

/// Takes away the static shell of `index.html` (on screen while the module loaded), so the
/// app's own header and landmarks are the only ones.
#[cfg(target_arch = "wasm32")]
fn remove_shell() {
    if let Some(shell) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id("shell"))
    {
        shell.remove();
    }
}
