//! Seeding. Reference data (hospitals, departments, doctors, 14 days of 30-minute slots) is
//! always there, so a production-mode server can take bookings; demo accounts and their
//! appointments exist only in dev mode. Everything is derived from `config.seed`, so two
//! servers started with the same seed have the same ids.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use sha2::{Digest, Sha256};
use sqlx::{QueryBuilder, Sqlite, SqlitePool};
use time::{Duration, OffsetDateTime, Time};
use uuid::Uuid;

use crate::auth::{hash_password, Role};
use crate::db::ts;
use crate::{AppResult, AppState};

/// The demo patient's login (dev mode).
pub const DEMO_PATIENT_EMAIL: &str = "patient@demo.lifeline";
/// The demo patient's password (dev mode).
pub const DEMO_PATIENT_PASSWORD: &str = "demo-patient-pass";
/// The demo doctor's login (dev mode).
pub const DEMO_DOCTOR_EMAIL: &str = "doctor@demo.lifeline";
/// The demo doctor's password (dev mode).
pub const DEMO_DOCTOR_PASSWORD: &str = "demo-doctor-pass";

/// Days of slots kept ahead, starting today.
pub const SLOT_DAYS: i64 = 14;
/// Slots a doctor has per day: 08:00 to 16:00 UTC, 30 minutes each.
pub const SLOTS_PER_DAY: i64 = 16;
/// Minutes a slot lasts.
pub const SLOT_MINUTES: i64 = 30;

const HOSPITALS: [(&str, &str, &str, &str); 2] = [
    (
        "Lifeline General Hospital",
        "Lagos",
        "12 Marina Road, Lagos Island",
        "+234 1 555 0100",
    ),
    (
        "Riverside Specialist Hospital",
        "Abuja",
        "4 Independence Avenue, Central Area",
        "+234 9 555 0200",
    ),
];

/// Department name, specialty of its doctors, fee in kobo (0 = free).
const DEPARTMENTS: [(&str, &str, i64); 4] = [
    ("General Practice", "General practitioner", 0),
    ("Cardiology", "Cardiologist", 1_500_000),
    ("Paediatrics", "Paediatrician", 500_000),
    ("Obstetrics and Gynaecology", "Obstetrician", 1_000_000),
];

const FIRST_NAMES: [&str; 16] = [
    "Adaeze",
    "Babajide",
    "Chiamaka",
    "Damilola",
    "Emeka",
    "Funmilayo",
    "Gbenga",
    "Halima",
    "Ifeanyi",
    "Jumoke",
    "Kelechi",
    "Lola",
    "Musa",
    "Ngozi",
    "Olumide",
    "Zainab",
];
const LAST_NAMES: [&str; 12] = [
    "Adeyemi", "Bello", "Chukwu", "Danjuma", "Eze", "Fashola", "Ibrahim", "Nwosu", "Okafor",
    "Okonkwo", "Oyelaran", "Yusuf",
];

/// Seeds reference data always, and in dev mode the demo accounts with past and future
/// appointments, then the domain groups' demo data. Safe to run on every start: existing rows
/// are kept and the slot window is extended to today plus [`SLOT_DAYS`].
///
/// # Errors
/// Database failures.
pub async fn seed(state: &AppState) -> AppResult<()> {
    let db = &state.db;
    let mut rng = StdRng::seed_from_u64(state.config.seed);
    let hospitals: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM hospitals")
        .fetch_one(db)
        .await?;
    if hospitals == 0 {
        seed_reference(db, &mut rng).await?;
    }
    seed_slots(db, state.config.seed, crate::db::now()).await?;
    if state.config.dev {
        let (patient, doctor) = seed_demo(db, &mut rng).await?;
        crate::seed_domain::seed(db, state.config.seed, patient, doctor).await?;
    }
    state.reference.reload(db).await?;
    Ok(())
}

/// A UUID (version 4 layout) drawn from the seeded generator.
pub fn seeded_uuid(rng: &mut StdRng) -> Uuid {
    uuid::Builder::from_random_bytes(rng.gen()).into_uuid()
}

/// A UUID derived from a name, stable across restarts with the same seed.
fn derived_uuid(seed: u64, name: &str) -> Uuid {
    let digest = Sha256::new()
        .chain_update(seed.to_le_bytes())
        .chain_update(name.as_bytes())
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

async fn seed_reference(db: &SqlitePool, rng: &mut StdRng) -> AppResult<()> {
    let mut names: Vec<(&str, &str)> = FIRST_NAMES
        .iter()
        .flat_map(|f| LAST_NAMES.iter().map(move |l| (*f, *l)))
        .collect();
    names.shuffle(rng);
    let mut names = names.into_iter();
    let mut tx = db.begin().await?;
    for (name, city, address, phone) in HOSPITALS {
        let hospital = seeded_uuid(rng);
        sqlx::query(
            "INSERT INTO hospitals (id, name, city, address, phone) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(hospital.to_string())
        .bind(name)
        .bind(city)
        .bind(address)
        .bind(phone)
        .execute(&mut *tx)
        .await?;
        for (department_name, specialty, fee) in DEPARTMENTS {
            let department = seeded_uuid(rng);
            sqlx::query(
                "INSERT INTO departments (id, hospital_id, name, fee_minor, currency) \
                 VALUES (?, ?, ?, ?, 'NGN')",
            )
            .bind(department.to_string())
            .bind(hospital.to_string())
            .bind(department_name)
            .bind(fee)
            .execute(&mut *tx)
            .await?;
            for _ in 0..3 {
                let (first, last) = names.next().unwrap_or(("Amaka", "Obi"));
                sqlx::query(
                    "INSERT INTO doctors (id, department_id, name, specialty) VALUES (?, ?, ?, ?)",
                )
                .bind(seeded_uuid(rng).to_string())
                .bind(department.to_string())
                .bind(format!("Dr. {first} {last}"))
                .bind(specialty)
                .execute(&mut *tx)
                .await?;
            }
        }
    }
    tx.commit().await?;
    Ok(())
}

/// The start of slot `index` (0-based) on the day `day`.
pub fn slot_start(day: time::Date, index: i64) -> OffsetDateTime {
    day.with_time(Time::from_hms(8, 0, 0).unwrap_or(Time::MIDNIGHT))
        .assume_utc()
        + Duration::minutes(SLOT_MINUTES * index)
}

/// Ensures every doctor has slots from today to today + [`SLOT_DAYS`]; existing slots stay.
async fn seed_slots(db: &SqlitePool, seed: u64, now: OffsetDateTime) -> AppResult<()> {
    let doctors: Vec<String> = sqlx::query_scalar("SELECT id FROM doctors ORDER BY id")
        .fetch_all(db)
        .await?;
    let mut tx = db.begin().await?;
    for doctor in &doctors {
        let mut rows = Vec::with_capacity((SLOT_DAYS * SLOTS_PER_DAY) as usize);
        for day in 0..SLOT_DAYS {
            let date = now.date() + Duration::days(day);
            for index in 0..SLOTS_PER_DAY {
                let start = slot_start(date, index);
                let starts_at = ts(start);
                let id = derived_uuid(seed, &format!("slot:{doctor}:{starts_at}"));
                rows.push((
                    id.to_string(),
                    starts_at,
                    ts(start + Duration::minutes(SLOT_MINUTES)),
                ));
            }
        }
        let mut insert: QueryBuilder<Sqlite> =
            QueryBuilder::new("INSERT INTO slots (id, doctor_id, starts_at, ends_at) ");
        insert.push_values(rows, |mut b, (id, starts_at, ends_at)| {
            b.push_bind(id)
                .push_bind(doctor.clone())
                .push_bind(starts_at)
                .push_bind(ends_at);
        });
        insert.push(" ON CONFLICT (doctor_id, starts_at) DO NOTHING");
        insert.build().execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Creates the demo patient and doctor when missing; returns their ids.
async fn seed_demo(db: &SqlitePool, rng: &mut StdRng) -> AppResult<(Uuid, Uuid)> {
    let patient_id = seeded_uuid(rng);
    let doctor_user_id = seeded_uuid(rng);
    let existing: Option<String> = sqlx::query_scalar("SELECT id FROM users WHERE email = ?")
        .bind(DEMO_PATIENT_EMAIL)
        .fetch_optional(db)
        .await?;
    if let Some(patient) = existing {
        let doctor: Option<String> = sqlx::query_scalar("SELECT id FROM users WHERE email = ?")
            .bind(DEMO_DOCTOR_EMAIL)
            .fetch_optional(db)
            .await?;
        let doctor = doctor
            .map(|d| crate::db::uuid(&d))
            .unwrap_or(doctor_user_id);
        return Ok((crate::db::uuid(&patient), doctor));
    }

    let patient_hash = hash_password(DEMO_PATIENT_PASSWORD).await?;
    let doctor_hash = hash_password(DEMO_DOCTOR_PASSWORD).await?;
    // The demo doctor is the first General Practice doctor of the first hospital (by name).
    let (doctor_row, doctor_name, department, hospital, fee): (
        String,
        String,
        String,
        String,
        i64,
    ) = sqlx::query_as(
        "SELECT d.id, d.name, p.id, h.id, p.fee_minor FROM doctors d \
             JOIN departments p ON p.id = d.department_id JOIN hospitals h ON h.id = p.hospital_id \
             WHERE p.fee_minor = 0 ORDER BY h.name, d.name LIMIT 1",
    )
    .fetch_one(db)
    .await?;
    // A doctor of a paid department, for a booking waiting for payment.
    let (paid_doctor, paid_department, paid_hospital, paid_fee): (String, String, String, i64) =
        sqlx::query_as(
            "SELECT d.id, p.id, p.hospital_id, p.fee_minor FROM doctors d \
             JOIN departments p ON p.id = d.department_id WHERE p.fee_minor > 0 \
             AND p.hospital_id = ? ORDER BY p.name, d.name LIMIT 1",
        )
        .bind(&hospital)
        .fetch_one(db)
        .await?;

    let now = crate::db::now();
    let now_text = ts(now);
    let mut tx = db.begin().await?;
    for (id, email, hash, name, role) in [
        (
            patient_id,
            DEMO_PATIENT_EMAIL,
            &patient_hash,
            "Ada Okafor",
            Role::Patient,
        ),
        (
            doctor_user_id,
            DEMO_DOCTOR_EMAIL,
            &doctor_hash,
            doctor_name.as_str(),
            Role::Doctor,
        ),
    ] {
        sqlx::query(
            "INSERT INTO users (id, email, password_hash, name, role, primary_hospital_id, \
             created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(email)
        .bind(hash)
        .bind(name)
        .bind(role.as_str())
        .bind(&hospital)
        .bind(&now_text)
        .bind(&now_text)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query("UPDATE doctors SET user_id = ? WHERE id = ?")
        .bind(doctor_user_id.to_string())
        .bind(&doctor_row)
        .execute(&mut *tx)
        .await?;

    // Two past visits (their slots are added: the slot window starts today), one confirmed
    // visit in a free department and one waiting for payment in a paid one.
    let today = now.date();
    let visits = [
        (
            &doctor_row,
            &department,
            &hospital,
            fee,
            slot_start(today - Duration::days(30), 2),
            "completed",
            "Annual check-up",
        ),
        (
            &doctor_row,
            &department,
            &hospital,
            fee,
            slot_start(today - Duration::days(7), 5),
            "completed",
            "Follow-up on blood pressure",
        ),
        (
            &doctor_row,
            &department,
            &hospital,
            fee,
            slot_start(today + Duration::days(2), 4),
            "confirmed",
            "Persistent cough",
        ),
        (
            &paid_doctor,
            &paid_department,
            &paid_hospital,
            paid_fee,
            slot_start(today + Duration::days(5), 6),
            "pending_payment",
            "Heart palpitations",
        ),
    ];
    for (doctor, department, hospital, fee, start, status, reason) in visits {
        let starts_at = ts(start);
        let ends_at = ts(start + Duration::minutes(SLOT_MINUTES));
        let slot = derived_uuid(0, &format!("demo-slot:{doctor}:{starts_at}"));
        sqlx::query(
            "INSERT INTO slots (id, doctor_id, starts_at, ends_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (doctor_id, starts_at) DO NOTHING",
        )
        .bind(slot.to_string())
        .bind(doctor)
        .bind(&starts_at)
        .bind(&ends_at)
        .execute(&mut *tx)
        .await?;
        let slot: String =
            sqlx::query_scalar("SELECT id FROM slots WHERE doctor_id = ? AND starts_at = ?")
                .bind(doctor)
                .bind(&starts_at)
                .fetch_one(&mut *tx)
                .await?;
        sqlx::query(
            "INSERT INTO appointments (id, user_id, doctor_id, department_id, hospital_id, slot_id, \
             starts_at, ends_at, status, reason, fee_minor, currency, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'NGN', ?, ?)",
        )
        .bind(seeded_uuid(rng).to_string())
        .bind(patient_id.to_string())
        .bind(doctor)
        .bind(department)
        .bind(hospital)
        .bind(slot)
        .bind(&starts_at)
        .bind(&ends_at)
        .bind(status)
        .bind(reason)
        .bind(fee)
        .bind(&now_text)
        .bind(&now_text)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok((patient_id, doctor_user_id))
}
