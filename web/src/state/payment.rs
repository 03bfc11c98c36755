//! The pay page's steps: start the payment, load the provider's checkout script, wait for
//! the user at checkout, confirm with the server. Every step that can fail says why and
//! what the user can do next; none leaves a disabled button without an explanation.

use std::time::Duration;

use lifeline_types::payments::PaymentStatus;

/// How long the provider's checkout script may take to load before the page gives up on it.
pub const PROVIDER_SCRIPT_TIMEOUT: Duration = Duration::from_secs(8);

/// Where the provider's inline checkout script is served.
pub const PROVIDER_SCRIPT_URL: &str = "/provider/inline.js";

/// How a load of the provider's script ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptLoad {
    /// Loaded, and it defined the checkout object.
    Ready,
    /// Loaded, but the checkout object is missing (a wrong or tampered script).
    Broken,
    /// The browser reported an error (blocked, offline, not found).
    Failed,
    /// Nothing happened within [`PROVIDER_SCRIPT_TIMEOUT`].
    TimedOut,
}

/// Where the payment of one appointment stands on this page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayStep {
    /// Nothing started yet: offer "Pay".
    Ready,
    /// Asking the server for a payment reference.
    Starting,
    /// Loading the provider's checkout script.
    LoadingProvider,
    /// The checkout is open; the user is paying.
    AtCheckout {
        /// The payment reference.
        reference: String,
    },
    /// The provider's checkout could not be shown; offer "Try again" and "Pay later".
    ProviderUnavailable {
        /// Why, for the user.
        reason: String,
    },
    /// Paid at checkout (or started earlier on this device); asking the server to confirm.
    Confirming {
        /// The payment reference.
        reference: String,
    },
    /// The server confirmed the payment and the appointment.
    Confirmed,
    /// The payment failed or could not be confirmed; offer "Try again".
    Failed {
        /// Why, for the user.
        reason: String,
    },
    /// The user chose to pay later; the appointment stays reserved as pending payment.
    Later,
}

impl PayStep {
    /// The sentence shown for this step.
    pub fn text(&self) -> String {
        match self {
            Self::Ready => "This appointment is reserved until it is paid.".to_owned(),
            Self::Starting => "Starting your payment…".to_owned(),
            Self::LoadingProvider => "Opening the secure checkout…".to_owned(),
            Self::AtCheckout { .. } => "Complete the payment in the checkout window.".to_owned(),
            Self::ProviderUnavailable { reason } | Self::Failed { reason } => reason.clone(),
            Self::Confirming { .. } => "Confirming your payment…".to_owned(),
            Self::Confirmed => "Payment confirmed — your appointment is booked".to_owned(),
            Self::Later => {
                "You can pay later from your appointments; the appointment stays reserved until then."
                    .to_owned()
            }
        }
    }

    /// Whether the user can act now ("Pay", "Try again"); the waiting steps show progress
    /// instead of buttons.
    pub fn can_retry(&self) -> bool {
        matches!(
            self,
            Self::Ready | Self::ProviderUnavailable { .. } | Self::Failed { .. } | Self::Later
        )
    }

    /// Whether "Pay later" is offered alongside "Try again".
    pub fn offers_later(&self) -> bool {
        matches!(self, Self::ProviderUnavailable { .. } | Self::Failed { .. })
    }

    /// The step once the provider's script load ended, for the payment `reference`.
    pub fn after_script(load: ScriptLoad, reference: String) -> Self {
        let reason = match load {
            ScriptLoad::Ready => return Self::AtCheckout { reference },
            ScriptLoad::Broken => {
                "The payment service sent a checkout we could not open. Try again, or pay later."
            }
            ScriptLoad::Failed => {
                "The payment service could not be loaded (it may be blocked or you may be offline). Try again, or pay later."
            }
            ScriptLoad::TimedOut => {
                "The payment service did not answer in time. Try again, or pay later."
            }
        };
        Self::ProviderUnavailable {
            reason: reason.to_owned(),
        }
    }

    /// The step once the server answered a verification. A payment still `pending` went
    /// unpaid at checkout (closed, or declined and then closed): the user may pay again.
    pub fn after_verify(status: PaymentStatus, appointment_status: &str) -> Self {
        match status {
            PaymentStatus::Success if appointment_status == "confirmed" => Self::Confirmed,
            PaymentStatus::Success => Self::Failed {
                reason: format!(
                    "Your payment went through, but the appointment is now {}. Contact the hospital; you will not be charged twice.",
                    appointment_status.replace('_', " ")
                ),
            },
            PaymentStatus::Failed => Self::Failed {
                reason: "The payment was declined. Try again with another card, or pay later."
                    .to_owned(),
            },
            PaymentStatus::Pending => Self::Ready,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loaded_script_opens_the_checkout() {
        assert_eq!(
            PayStep::after_script(ScriptLoad::Ready, "ref-1".into()),
            PayStep::AtCheckout {
                reference: "ref-1".into()
            }
        );
    }

    #[test]
    fn a_blocked_or_slow_script_explains_and_offers_retry_and_later() {
        for load in [ScriptLoad::Failed, ScriptLoad::TimedOut, ScriptLoad::Broken] {
            let step = PayStep::after_script(load, "ref-1".into());
            assert!(
                matches!(step, PayStep::ProviderUnavailable { .. }),
                "{load:?}"
            );
            assert!(step.can_retry() && step.offers_later(), "{load:?}");
            assert!(step.text().contains("Try again"), "{load:?}");
        }
        assert!(PayStep::after_script(ScriptLoad::TimedOut, String::new())
            .text()
            .contains("in time"));
        assert!(PayStep::after_script(ScriptLoad::Failed, String::new())
            .text()
            .contains("could not be loaded"));
    }

    #[test]
    fn verification_outcomes() {
        assert_eq!(
            PayStep::after_verify(PaymentStatus::Success, "confirmed"),
            PayStep::Confirmed
        );
        assert_eq!(
            PayStep::Confirmed.text(),
            "Payment confirmed — your appointment is booked"
        );
        let declined = PayStep::after_verify(PaymentStatus::Failed, "pending_payment");
        assert!(declined.text().contains("declined") && declined.offers_later());
        let odd = PayStep::after_verify(PaymentStatus::Success, "cancelled");
        assert!(odd.text().contains("cancelled"));
        assert_eq!(
            PayStep::after_verify(PaymentStatus::Pending, "pending_payment"),
            PayStep::Ready
        );
    }

    #[test]
    fn waiting_steps_show_progress_not_buttons() {
        for step in [
            PayStep::Starting,
            PayStep::LoadingProvider,
            PayStep::AtCheckout {
                reference: "r".into(),
            },
            PayStep::Confirming {
                reference: "r".into(),
            },
            PayStep::Confirmed,
        ] {
            assert!(!step.can_retry(), "{step:?}");
        }
        assert_eq!(
            PayStep::Confirming {
                reference: "r".into()
            }
            .text(),
            "Confirming your payment…"
        );
    }

    #[test]
    fn the_script_timeout_is_a_few_seconds() {
        assert_eq!(PROVIDER_SCRIPT_TIMEOUT, Duration::from_secs(8));
    }
}
