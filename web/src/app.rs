//! The app shell: router, navigation, banner.

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes, A};
use leptos_router::path;

/// The root component.
#[component]
pub fn App() -> impl IntoView {
    view! {
        <Router>
            <header class="top"><A href="/">"Lifeline"</A></header>
            <main id="main">
                <Routes fallback=|| view! { <p>"Page not found"</p> }>
                    <Route path=path!("/") view=|| view! { <h1>"Home"</h1> } />
                </Routes>
            </main>
        </Router>
    }
}
