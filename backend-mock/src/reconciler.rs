//! The payment reconciler: heals "paid but no appointment".
//!
//! A charge can succeed at the provider while the API never hears of it: the webhook failed
//! every retry, the server was down, the client closed the tab before verifying. Every few
//! seconds the reconciler compares the provider's ledger with the API's and settles each
//! successful charge whose payment or appointment is not yet marked, through the same
//! [`settle`](crate::routes::payments::settle) the webhook and verification use, so the
//! appointment is still confirmed exactly once.

use std::time::Duration;

use crate::{AppResult, AppState};

/// How often [`spawn`] reconciles.
pub const INTERVAL: Duration = Duration::from_secs(5);

/// Runs [`reconcile_once`] every [`INTERVAL`] until the runtime stops; errors are logged and
/// the next round tries again.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(INTERVAL);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            match reconcile_once(&state).await {
                Ok(0) => {}
                Ok(healed) => tracing::info!(healed, "reconciler confirmed paid appointments"),
                Err(err) => tracing::warn!(error = %err, "reconciliation round failed"),
            }
        }
    })
}

/// One reconciliation round; returns how many appointments it confirmed.
///
/// # Errors
/// Database failures while listing the charges to settle (a failure settling one charge is
/// logged and left for the next round).
pub async fn reconcile_once(state: &AppState) -> AppResult<usize> {
    let references: Vec<String> = sqlx::query_scalar(
        "SELECT p.reference FROM payments p \
         JOIN provider_transactions t ON t.reference = p.reference \
         JOIN appointments a ON a.id = p.appointment_id \
         WHERE t.status = 'success' AND (p.status <> 'success' OR a.status = 'pending_payment') \
         ORDER BY t.paid_at",
    )
    .fetch_all(&state.db)
    .await?;
    let mut healed = 0;
    for reference in references {
        match crate::routes::payments::settle(state, &reference).await {
            Ok(true) => {
                tracing::info!(reference, "reconciler settled a paid charge");
                healed += 1;
            }
            Ok(false) => {}
            Err(err) => tracing::warn!(error = %err, reference, "could not settle a paid charge"),
        }
    }
    Ok(healed)
}
