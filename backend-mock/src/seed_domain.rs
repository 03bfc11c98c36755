//! Demo data of the domain groups (pharmacies, registry, prescriptions, records, tracking),
//! called by `seed` in dev mode.

use sqlx::SqlitePool;
use uuid::Uuid;

/// Seeds demo data for the domain groups; `patient` and `doctor` are the demo users' ids.
pub async fn seed(
    _db: &SqlitePool,
    _seed: u64,
    _patient: Uuid,
    _doctor: Uuid,
) -> Result<(), sqlx::Error> {
    Ok(())
}
