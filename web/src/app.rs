//! The app shell: context, router, navigation, the status banner, the update prompt and the
//! service worker's registration.

use leptos::prelude::*;
use leptos_router::components::{Redirect, Route, Router, Routes, A};
use leptos_router::hooks::use_location;
use leptos_router::path;
use lifeline_sdk::SessionState;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::api::{api, provide_api, Api};
use crate::routes::{
    appointments, book, home, login, pay, pharmacies, prescriptions, profile, records, registry,
    status, tracking,
};
use crate::state::banner::{banner, Conditions};

/// The root component.
#[component]
pub fn App(api: Api) -> impl IntoView {
    provide_api(api.clone());
    api.run_background();
    book::provide_booking();
    watch_connectivity(&api);
    register_service_worker(&api);

    view! {
        <Router>
            <a class="skip" href="#main">"Skip to content"</a>
            <header class="top">
                <A href="/">"Lifeline"</A>
                <Nav />
            </header>
            <Banner />
            <UpdatePrompt />
            <main id="main">
                <FocusOnNavigate />
                <Routes fallback=|| view! { <h1 tabindex="-1">"Page not found"</h1> }>
                    <Route path=path!("/login") view=login::Login />
                    <Route path=path!("/register") view=login::Register />
                    <Route path=path!("/status") view=status::StatusPage />
                    <Route
                        path=path!("/account")
                        view=|| view! { <RequireAuth><profile::Account /></RequireAuth> }
                    />
                    <Route path=path!("/registry") view=registry::Registry />
                    <Route
                        path=path!("/records")
                        view=|| view! { <RequireAuth><records::Records /></RequireAuth> }
                    />
                    <Route
                        path=path!("/pharmacies")
                        view=|| view! { <RequireAuth><pharmacies::Pharmacies /></RequireAuth> }
                    />
                    <Route path=path!("/") view=|| view! { <RequireAuth><home::Home /></RequireAuth> } />
                    <Route path=path!("/book") view=|| view! { <RequireAuth><book::Book /></RequireAuth> } />
                    <Route
                        path=path!("/appointments")
                        view=|| view! { <RequireAuth><appointments::Appointments /></RequireAuth> }
                    />
                    <Route
                        path=path!("/tracking")
                        view=|| view! { <RequireAuth><tracking::Tracking /></RequireAuth> }
                    />
                    <Route
                        path=path!("/pay/:id")
                        view=|| view! { <RequireAuth><pay::Pay /></RequireAuth> }
                    />
                    <Route
                        path=path!("/prescriptions")
                        view=|| view! { <RequireAuth><prescriptions::Prescriptions /></RequireAuth> }
                    />
                </Routes>
            </main>
        </Router>
    }
}

#[component]
fn Nav() -> impl IntoView {
    let status = api().status();
    let signed_in = move || status.session.get().is_some_and(SessionState::is_signed_in);
    view! {
        <nav aria-label="Main">
            <Show when=signed_in fallback=|| view! { <A href="/login">"Sign in"</A> }>
                <A href="/">"Home"</A>
                <A href="/book">"Book"</A>
                <A href="/appointments">"Appointments"</A>
                <A href="/prescriptions">"Prescriptions"</A>
                <A href="/records">"Records"</A>
                <A href="/tracking">"Tracking"</A>
                <A href="/pharmacies">"Pharmacies"</A>
                <A href="/account">"Account"</A>
            </Show>
            <A href="/registry">"Registry"</A>
            <A href="/status">"Status"</A>
        </nav>
    }
}

/// Renders its children for a signed-in user (also while the server cannot confirm the
/// session), "loading" until the stored session is read, and the sign-in page otherwise.
#[component]
fn RequireAuth(children: ChildrenFn) -> impl IntoView {
    let status = api().status();
    move || match status.session.get() {
        None => view! { <p role="status">"Loading your account…"</p> }.into_any(),
        Some(s) if s.is_signed_in() => children().into_any(),
        Some(_) => view! { <Redirect path="/login" /> }.into_any(),
    }
}

#[component]
fn Banner() -> impl IntoView {
    let status = api().status();
    let current = move || {
        banner(&Conditions {
            online: status.online.get(),
            session: status.session.get(),
            degraded: status.degraded(),
            pending_writes: status.pending.get(),
        })
    };
    view! {
        <div role="status" aria-live="polite" class="banner-slot">
            {move || current().map(|b| view! {
                <p class=b.kind.class() data-testid="banner">{b.text}</p>
            })}
        </div>
    }
}

#[component]
fn UpdatePrompt() -> impl IntoView {
    let status = api().status();
    let update = move |_| {
        if let Some(waiting) = waiting_worker() {
            UPDATE_REQUESTED.with(|r| r.set(true));
            let _ = waiting.post_message(&JsValue::from_str("skip-waiting"));
        }
    };
    view! {
        <Show when=move || status.update_waiting.get()>
            <div class="update" role="alert">
                <p>"A new version of Lifeline is ready."</p>
                <button on:click=update>"Update now"</button>
            </div>
        </Show>
    }
}

/// Moves focus to the page's heading after each navigation, so screen readers announce it.
#[component]
fn FocusOnNavigate() -> impl IntoView {
    let location = use_location();
    Effect::new(move |prev: Option<String>| {
        let path = location.pathname.get();
        if prev.is_some_and(|p| p != path) {
            request_animation_frame(|| {
                if let Some(h1) = document()
                    .query_selector("main h1")
                    .ok()
                    .flatten()
                    .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
                {
                    let _ = h1.focus();
                }
            });
        }
        path
    });
}

fn watch_connectivity(api: &Api) {
    let status = api.status();
    let on = window_event_listener(leptos::ev::online, move |_| status.online.set(true));
    let off = window_event_listener(leptos::ev::offline, move |_| status.online.set(false));
    // The app lives as long as the page: the listeners are never removed.
    std::mem::forget((on, off));
}

thread_local! {
    static UPDATE_REQUESTED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static REGISTRATION: std::cell::RefCell<Option<web_sys::ServiceWorkerRegistration>> =
        const { std::cell::RefCell::new(None) };
}

fn service_worker_container() -> Option<web_sys::ServiceWorkerContainer> {
    let navigator = window().navigator();
    let has =
        js_sys::Reflect::has(&navigator, &JsValue::from_str("serviceWorker")).unwrap_or(false);
    has.then(|| navigator.service_worker())
}

/// Asks the browser for a Background Sync under the outbox tag, so queued writes are sent
/// when the connection returns even if the page is closed by then (where the browser has
/// Background Sync; elsewhere the page's own triggers do it).
pub fn request_background_sync() {
    let Some(reg) = REGISTRATION.with(|r| r.borrow().clone()) else {
        return;
    };
    let Ok(sync) = js_sys::Reflect::get(&reg, &JsValue::from_str("sync")) else {
        return;
    };
    let register = js_sys::Reflect::get(&sync, &JsValue::from_str("register"))
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
    if let Some(register) = register {
        if let Ok(promise) = register.call1(&sync, &JsValue::from_str("lifeline-outbox")) {
            if let Ok(promise) = promise.dyn_into::<js_sys::Promise>() {
                // Refused (permission, unsupported): the page's triggers remain.
                let ignore = Closure::<dyn FnMut(JsValue)>::new(|_: JsValue| {});
                let _ = promise.catch(&ignore);
                ignore.forget();
            }
        }
    }
}

fn waiting_worker() -> Option<web_sys::ServiceWorker> {
    REGISTRATION.with(|r| r.borrow().as_ref().and_then(|reg| reg.waiting()))
}

/// Registers `/sw.js`, shows the update prompt when a new worker waits, and reloads once the
/// new worker takes over. The worker sends queued writes itself on Background Sync; the page
/// learns each entry's outcome through the outbox's BroadcastChannel.
fn register_service_worker(api: &Api) {
    let Some(container) = service_worker_container() else {
        return;
    };
    let status = api.status();

    let on_controller = Closure::<dyn FnMut()>::new(move || {
        // Reload only for the update the user asked for; a first install just claims the page.
        if UPDATE_REQUESTED.with(std::cell::Cell::get) {
            let _ = window().location().reload();
        }
    });
    container.set_oncontrollerchange(Some(on_controller.as_ref().unchecked_ref()));
    on_controller.forget();

    let promise = container.register("/sw.js");
    leptos::task::spawn_local(async move {
        let Ok(reg) = wasm_bindgen_futures::JsFuture::from(promise).await else {
            return;
        };
        let reg: web_sys::ServiceWorkerRegistration = reg.unchecked_into();
        REGISTRATION.with(|r| *r.borrow_mut() = Some(reg.clone()));
        let check = move || {
            let waiting = waiting_worker().is_some();
            let controlled = service_worker_container()
                .and_then(|c| c.controller())
                .is_some();
            status.update_waiting.set(waiting && controlled);
        };
        check();
        let on_update = Closure::<dyn FnMut()>::new(move || {
            if let Some(installing) =
                REGISTRATION.with(|r| r.borrow().as_ref().and_then(|reg| reg.installing()))
            {
                let on_state = Closure::<dyn FnMut()>::new(check);
                installing.set_onstatechange(Some(on_state.as_ref().unchecked_ref()));
                on_state.forget();
            }
        });
        reg.set_onupdatefound(Some(on_update.as_ref().unchecked_ref()));
        on_update.forget();
    });
}
