//! `/pay/:id`: paying for a `pending_payment` appointment through the provider's inline
//! checkout. The SDK stores the payment reference before the checkout opens, so a reload or
//! a crash while the user pays still ends in a confirmation (see [`PayStep`]).

use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;
use lifeline_sdk::types::appointments::AppointmentStatus;
use uuid::Uuid;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::api::{api, UiError};
use crate::state::format::{money, when};
use crate::state::payment::{PayStep, ScriptLoad, PROVIDER_SCRIPT_TIMEOUT, PROVIDER_SCRIPT_URL};

/// The pay page.
#[component]
pub fn Pay() -> impl IntoView {
    let params = use_params_map();
    let id = params
        .read_untracked()
        .get("id")
        .and_then(|s| Uuid::parse_str(&s).ok());
    let step = RwSignal::new(PayStep::Ready);
    let appointment = LocalResource::new(move || async move {
        let id = id.ok_or_else(|| UiError::new("This payment link is not valid."))?;
        api()
            .client()
            .appointments()
            .get(id)
            .await
            .map(|f| f.value)
            .map_err(UiError::from)
    });
    // A payment started earlier on this device (the page was reloaded, the app closed while
    // paying) is confirmed first.
    if let Some(id) = id {
        leptos::task::spawn_local(async move {
            if let Some(reference) = stored_reference(id).await {
                let _ = step.try_set(PayStep::Confirming {
                    reference: reference.clone(),
                });
                confirm(reference, step).await;
                appointment.refetch();
            }
        });
    }
    let pay = move |_| {
        if let Some(id) = id {
            leptos::task::spawn_local(pay_flow(id, step, appointment));
        }
    };
    let later = move |_| step.set(PayStep::Later);

    view! {
        <h1 tabindex="-1">"Pay for your appointment"</h1>
        <Transition fallback=|| view! { <p>"Loading the appointment…"</p> }>
            {move || Suspend::new(async move {
                match appointment.await {
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(a) => {
                        let payable = a.status == AppointmentStatus::PendingPayment;
                        view! {
                            <p data-testid="pay-appointment">
                                <strong>{when(&a.starts_at)}</strong>
                                " with " {a.doctor_name.clone()}
                                <span class="muted">{format!(" · {}", money(a.fee_minor, &a.currency))}</span>
                            </p>
                            {(!payable && step.get() != PayStep::Confirmed).then(|| view! {
                                <p>{format!("This appointment is {}; there is nothing to pay.", a.status.as_str().replace('_', " "))}</p>
                            })}
                        }
                        .into_any()
                    }
                }
            })}
        </Transition>
        <div data-testid="pay-state" role="status" aria-live="polite">
            <p>{move || step.get().text()}</p>
        </div>
        <Show when=move || step.get().can_retry()>
            <p class="actions">
                <button on:click=pay>
                    {move || if step.get() == PayStep::Ready { "Pay now" } else { "Try again" }}
                </button>
                <Show when=move || step.get().offers_later()>
                    <button class="secondary" on:click=later>"Pay later"</button>
                </Show>
            </p>
        </Show>
        <Show when=move || matches!(step.get(), PayStep::Confirmed | PayStep::Later)>
            <p><A href="/appointments">"See your appointments"</A></p>
        </Show>
    }
}

/// The stored reference of a payment of `id` started on this device and not yet settled.
async fn stored_reference(id: Uuid) -> Option<String> {
    let pending = api().client().payments().pending().await.ok()?;
    pending
        .into_iter()
        .find(|p| p.appointment_id == id)
        .and_then(|p| p.reference)
}

/// Asks the server whether `reference` is paid and moves to what it answered.
async fn confirm(reference: String, step: RwSignal<PayStep>) {
    let next = match api().client().payments().verify(&reference).await {
        Ok(answer) => PayStep::after_verify(answer.status, &answer.appointment_status),
        Err(e) => PayStep::Failed {
            reason: format!(
                "Your payment could not be confirmed yet: {} It is saved on this device and will be checked again when you try again.",
                UiError::from(e)
            ),
        },
    };
    let _ = step.try_set(next);
}

async fn pay_flow(
    id: Uuid,
    step: RwSignal<PayStep>,
    appointment: LocalResource<Result<lifeline_sdk::types::appointments::Appointment, UiError>>,
) {
    // Already paid from an earlier attempt? Then confirming is all that is left.
    if let Some(reference) = stored_reference(id).await {
        let _ = step.try_set(PayStep::Confirming {
            reference: reference.clone(),
        });
        confirm(reference, step).await;
        if step.try_get_untracked() != Some(PayStep::Ready) {
            appointment.refetch();
            return;
        }
    }
    let _ = step.try_set(PayStep::Starting);
    let started = match api().client().payments().start(id).await {
        Ok(started) => started,
        Err(e) => {
            let _ = step.try_set(PayStep::Failed {
                reason: format!("The payment could not be started: {}", UiError::from(e)),
            });
            return;
        }
    };
    let _ = step.try_set(PayStep::LoadingProvider);
    let load = load_provider_script().await;
    let next = PayStep::after_script(load, started.reference.clone());
    if let PayStep::AtCheckout { reference } = &next {
        let on_success = {
            let reference = reference.clone();
            move || {
                let _ = step.try_set(PayStep::Confirming {
                    reference: reference.clone(),
                });
                leptos::task::spawn_local(async move {
                    confirm(reference, step).await;
                    appointment.refetch();
                });
            }
        };
        let on_close = {
            let reference = reference.clone();
            move || {
                // Closed without paying, or after a decline: the server says which.
                leptos::task::spawn_local(confirm(reference, step));
            }
        };
        let _ = step.try_set(next.clone());
        if open_checkout(reference, on_success, on_close).is_err() {
            let _ = step.try_set(PayStep::after_script(ScriptLoad::Broken, String::new()));
        }
    } else {
        let _ = step.try_set(next);
    }
}

fn checkout_object() -> Option<JsValue> {
    js_sys::Reflect::get(&window(), &JsValue::from_str("LifelinePay"))
        .ok()
        .filter(|v| v.is_object())
}

/// Loads the provider's script once; answers how that went within
/// [`PROVIDER_SCRIPT_TIMEOUT`]. A failed load's element is removed so "Try again" loads it
/// afresh.
async fn load_provider_script() -> ScriptLoad {
    if checkout_object().is_some() {
        return ScriptLoad::Ready;
    }
    let document = document();
    let Ok(script) = document
        .create_element("script")
        .map(|e| e.unchecked_into::<web_sys::HtmlScriptElement>())
    else {
        return ScriptLoad::Failed;
    };
    let (tx, rx) = futures::channel::oneshot::channel::<ScriptLoad>();
    let tx = Rc::new(RefCell::new(Some(tx)));
    let settle = move |tx: &Rc<RefCell<Option<futures::channel::oneshot::Sender<ScriptLoad>>>>,
                       load: ScriptLoad| {
        if let Some(tx) = tx.borrow_mut().take() {
            let _ = tx.send(load);
        }
    };
    let on_load = {
        let tx = tx.clone();
        Closure::once_into_js(move || {
            let load = if checkout_object().is_some() {
                ScriptLoad::Ready
            } else {
                ScriptLoad::Broken
            };
            settle(&tx, load);
        })
    };
    let on_error = {
        let tx = tx.clone();
        Closure::once_into_js(move || settle(&tx, ScriptLoad::Failed))
    };
    script.set_onload(Some(on_load.unchecked_ref()));
    script.set_onerror(Some(on_error.unchecked_ref()));
    script.set_async(true);
    script.set_src(PROVIDER_SCRIPT_URL);
    {
        let tx = tx.clone();
        set_timeout(
            move || settle(&tx, ScriptLoad::TimedOut),
            PROVIDER_SCRIPT_TIMEOUT,
        );
    }
    let appended = document
        .body()
        .map(|body| body.append_child(&script).is_ok())
        .unwrap_or(false);
    if !appended {
        return ScriptLoad::Failed;
    }
    let load = rx.await.unwrap_or(ScriptLoad::Failed);
    if load != ScriptLoad::Ready {
        script.remove();
    }
    load
}

/// `LifelinePay.setup({ reference, onSuccess, onClose }).openIframe()`.
fn open_checkout(
    reference: &str,
    on_success: impl FnOnce() + 'static,
    on_close: impl FnOnce() + 'static,
) -> Result<(), JsValue> {
    let pay = checkout_object().ok_or_else(|| JsValue::from_str("no checkout"))?;
    let setup: js_sys::Function =
        js_sys::Reflect::get(&pay, &JsValue::from_str("setup"))?.dyn_into()?;
    let options = js_sys::Object::new();
    js_sys::Reflect::set(
        &options,
        &JsValue::from_str("reference"),
        &JsValue::from_str(reference),
    )?;
    js_sys::Reflect::set(
        &options,
        &JsValue::from_str("onSuccess"),
        &Closure::once_into_js(move |_: JsValue| on_success()),
    )?;
    js_sys::Reflect::set(
        &options,
        &JsValue::from_str("onClose"),
        &Closure::once_into_js(on_close),
    )?;
    let handle = setup.call1(&pay, &options)?;
    let open: js_sys::Function =
        js_sys::Reflect::get(&handle, &JsValue::from_str("openIframe"))?.dyn_into()?;
    open.call0(&handle)?;
    Ok(())
}
