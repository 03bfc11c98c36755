//! Demo data of the domain groups: pharmacies and the professional registry (reference data a
//! demo needs to search), and the demo patient's prescriptions and medical records. Called by
//! `seed` in dev mode on every start: each part is written once and kept afterwards. Ids and
//! choices derive from the seed, so servers started with the same seed agree.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::SqlitePool;
use time::Duration;
use uuid::Uuid;

use crate::db::{now, ts};

/// Name, address, city, phone, latitude, longitude, open 24 hours.
const PHARMACIES: [(&str, &str, &str, &str, f64, f64, bool); 12] = [
    (
        "HealthPlus Pharmacy Ikoyi",
        "23 Awolowo Road, Ikoyi",
        "Lagos",
        "+234 1 555 0301",
        6.4474,
        3.4346,
        true,
    ),
    (
        "MedPlus Lekki Phase 1",
        "5 Admiralty Way, Lekki",
        "Lagos",
        "+234 1 555 0302",
        6.4478,
        3.4723,
        false,
    ),
    (
        "Alpha Pharmacy Surulere",
        "88 Adeniran Ogunsanya Street, Surulere",
        "Lagos",
        "+234 1 555 0303",
        6.4969,
        3.3553,
        false,
    ),
    (
        "Bola Chemists Yaba",
        "14 Herbert Macaulay Way, Yaba",
        "Lagos",
        "+234 1 555 0304",
        6.5095,
        3.3711,
        true,
    ),
    (
        "Marina Care Pharmacy",
        "3 Marina Road, Lagos Island",
        "Lagos",
        "+234 1 555 0305",
        6.4531,
        3.3958,
        false,
    ),
    (
        "Ikeja City Pharmacy",
        "40 Obafemi Awolowo Way, Ikeja",
        "Lagos",
        "+234 1 555 0306",
        6.6018,
        3.3515,
        true,
    ),
    (
        "Wuse Market Pharmacy",
        "Plot 12, Wuse Zone 5",
        "Abuja",
        "+234 9 555 0307",
        9.0579,
        7.4691,
        false,
    ),
    (
        "Garki Family Pharmacy",
        "7 Ahmadu Bello Way, Garki",
        "Abuja",
        "+234 9 555 0308",
        9.0317,
        7.4869,
        true,
    ),
    (
        "Maitama Health Store",
        "21 Aguiyi Ironsi Street, Maitama",
        "Abuja",
        "+234 9 555 0309",
        9.0833,
        7.4967,
        false,
    ),
    (
        "Central Area Pharmacy",
        "2 Independence Avenue, Central Area",
        "Abuja",
        "+234 9 555 0310",
        9.0563,
        7.4985,
        false,
    ),
    (
        "Ring Road Pharmacy",
        "55 Ring Road",
        "Ibadan",
        "+234 2 555 0311",
        7.3775,
        3.9470,
        false,
    ),
    (
        "GRA Pharmacy Port Harcourt",
        "9 Tombia Street, GRA",
        "Port Harcourt",
        "+234 84 555 0312",
        4.8156,
        7.0498,
        true,
    ),
];

const FIRST_NAMES: [&str; 16] = [
    "Amaka", "Bolaji", "Chidi", "Dupe", "Efe", "Folake", "Garba", "Hauwa", "Ikenna", "Jide",
    "Kemi", "Ladi", "Nkechi", "Obinna", "Sade", "Tunde",
];
const LAST_NAMES: [&str; 12] = [
    "Abubakar", "Adebayo", "Akande", "Balogun", "Eze", "Lawal", "Nnamdi", "Obi", "Ogunleye",
    "Olatunji", "Suleiman", "Uche",
];
/// Profession, licence code, specialties.
const PROFESSIONS: [(&str, &str, &[&str]); 4] = [
    (
        "Doctor",
        "MED",
        &[
            "General practice",
            "Cardiology",
            "Paediatrics",
            "Obstetrics",
            "Surgery",
        ],
    ),
    (
        "Nurse",
        "NUR",
        &["Midwifery", "Critical care", "Community health"],
    ),
    (
        "Pharmacist",
        "PHA",
        &["Clinical pharmacy", "Community pharmacy"],
    ),
    (
        "Laboratory scientist",
        "LAB",
        &["Haematology", "Microbiology"],
    ),
];
const REGIONS: [&str; 6] = ["Lagos", "FCT Abuja", "Oyo", "Rivers", "Kano", "Enugu"];
/// How many registry entries the demo has.
const REGISTRY_ENTRIES: usize = 36;

/// A UUID derived from the seed and a name, stable across restarts.
fn derived_uuid(seed: u64, name: &str) -> Uuid {
    let digest = Sha256::new()
        .chain_update(b"domain:")
        .chain_update(seed.to_le_bytes())
        .chain_update(name.as_bytes())
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

async fn count(db: &SqlitePool, sql: &str, bind: Option<&str>) -> Result<i64, sqlx::Error> {
    let mut q = sqlx::query_scalar::<_, i64>(sql);
    if let Some(b) = bind {
        q = q.bind(b.to_string());
    }
    q.fetch_one(db).await
}

/// Seeds demo data for the domain groups; `patient` and `doctor` are the demo users' ids.
///
/// # Errors
/// Database failures.
pub async fn seed(
    db: &SqlitePool,
    seed: u64,
    patient: Uuid,
    doctor: Uuid,
) -> Result<(), sqlx::Error> {
    if count(db, "SELECT COUNT(*) FROM pharmacies", None).await? == 0 {
        seed_pharmacies(db, seed).await?;
    }
    if count(db, "SELECT COUNT(*) FROM registry_entries", None).await? == 0 {
        seed_registry(db, seed).await?;
    }
    let patient_text = patient.to_string();
    if count(
        db,
        "SELECT COUNT(*) FROM prescriptions WHERE patient_id = ?",
        Some(&patient_text),
    )
    .await?
        == 0
    {
        seed_prescriptions(db, seed, patient, doctor).await?;
    }
    if count(
        db,
        "SELECT COUNT(*) FROM medical_record_entries WHERE user_id = ?",
        Some(&patient_text),
    )
    .await?
        == 0
    {
        seed_records(db, seed, patient).await?;
    }
    Ok(())
}

async fn seed_pharmacies(db: &SqlitePool, seed: u64) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    for (name, address, city, phone, lat, lng, open_24h) in PHARMACIES {
        sqlx::query(
            "INSERT INTO pharmacies (id, name, address, city, phone, lat, lng, open_24h) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(derived_uuid(seed, name).to_string())
        .bind(name)
        .bind(address)
        .bind(city)
        .bind(phone)
        .bind(lat)
        .bind(lng)
        .bind(open_24h)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

async fn seed_registry(db: &SqlitePool, seed: u64) -> Result<(), sqlx::Error> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x7265_6769_7374_7279);
    let today = now().date();
    let mut tx = db.begin().await?;
    for i in 0..REGISTRY_ENTRIES {
        let (profession, code, specialties) = PROFESSIONS[i % PROFESSIONS.len()];
        let first = FIRST_NAMES[rng.gen_range(0..FIRST_NAMES.len())];
        let last = LAST_NAMES[rng.gen_range(0..LAST_NAMES.len())];
        let title = if profession == "Doctor" { "Dr " } else { "" };
        let year = rng.gen_range(2008..=2024);
        let license = format!("PHB-{code}-{year}-{:05}", 10 + i);
        let registered = time::Date::from_calendar_date(year, time::Month::January, 1)
            .unwrap_or(today)
            + Duration::days(rng.gen_range(0..360));
        // Every 9th licence is suspended, every 7th ran out last year; the rest are current.
        let (status, expires) = if i % 9 == 4 {
            ("suspended", today + Duration::days(rng.gen_range(30..700)))
        } else if i % 7 == 5 {
            ("expired", today - Duration::days(rng.gen_range(30..365)))
        } else {
            ("active", today + Duration::days(rng.gen_range(60..1100)))
        };
        sqlx::query(
            "INSERT INTO registry_entries (license_number, full_name, profession, specialty, \
             region, status, registered_on, expires_on) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&license)
        .bind(format!("{title}{first} {last}"))
        .bind(profession)
        .bind(specialties[rng.gen_range(0..specialties.len())])
        .bind(REGIONS[rng.gen_range(0..REGIONS.len())])
        .bind(status)
        .bind(date_text(registered))
        .bind(date_text(expires))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

fn date_text(d: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

async fn seed_prescriptions(
    db: &SqlitePool,
    seed: u64,
    patient: Uuid,
    doctor: Uuid,
) -> Result<(), sqlx::Error> {
    let at = now();
    let prescriptions = [
        (
            "amoxicillin",
            json!([
                {"name": "Amoxicillin 500 mg capsules", "dosage": "1 capsule", "duration": "7 days", "instructions": "Three times a day, finish the course"},
                {"name": "Paracetamol 500 mg tablets", "dosage": "2 tablets", "duration": "5 days", "instructions": "Every 6 hours when needed, at most 8 a day"}
            ]),
            Some("Review if the fever persists after 3 days"),
            Duration::days(2),
        ),
        (
            "ferrous",
            json!([
                {"name": "Ferrous sulphate 200 mg tablets", "dosage": "1 tablet", "duration": "3 months", "instructions": "Once a day with orange juice, not with tea"},
                {"name": "Folic acid 5 mg tablets", "dosage": "1 tablet", "duration": "3 months", "instructions": "Once a day"}
            ]),
            None,
            Duration::days(20),
        ),
        (
            "amlodipine",
            json!([
                {"name": "Amlodipine 5 mg tablets", "dosage": "1 tablet", "duration": "30 days", "instructions": "Once a day in the morning"}
            ]),
            Some("Check blood pressure weekly"),
            Duration::days(45),
        ),
    ];
    let mut tx = db.begin().await?;
    for (name, medicines, notes, age) in prescriptions {
        sqlx::query(
            "INSERT INTO prescriptions (id, patient_id, doctor_id, medicines, notes, issued_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(derived_uuid(seed, &format!("prescription:{patient}:{name}")).to_string())
        .bind(patient.to_string())
        .bind(doctor.to_string())
        .bind(medicines.to_string())
        .bind(notes)
        .bind(ts(at - age))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

async fn seed_records(db: &SqlitePool, seed: u64, patient: Uuid) -> Result<(), sqlx::Error> {
    let at = now();
    let day = |days: i64| date_text((at - Duration::days(days)).date());
    let when = |days: i64| ts(at - Duration::days(days));
    let entries = vec![
        (
            "condition",
            json!({"name": "Iron-deficiency anaemia", "status": "active", "diagnosed_on": day(25)}),
            25,
        ),
        (
            "condition",
            json!({"name": "Hypertension, stage 1", "status": "active", "diagnosed_on": day(400)}),
            400,
        ),
        (
            "condition",
            json!({"name": "Malaria (P. falciparum)", "status": "resolved", "diagnosed_on": day(180)}),
            180,
        ),
        (
            "medication",
            json!({"name": "Ferrous sulphate", "dosage": "200 mg", "frequency": "once a day", "started_on": day(20), "active": true}),
            20,
        ),
        (
            "medication",
            json!({"name": "Amlodipine", "dosage": "5 mg", "frequency": "once a day", "started_on": day(45), "active": true}),
            45,
        ),
        (
            "medication",
            json!({"name": "Artemether-lumefantrine", "dosage": "80/480 mg", "frequency": "twice a day for 3 days", "started_on": day(180), "active": false}),
            180,
        ),
        (
            "allergy",
            json!({"substance": "Penicillin", "reaction": "Hives", "severity": "moderate"}),
            900,
        ),
        (
            "allergy",
            json!({"substance": "Groundnuts", "reaction": "Swelling of the lips", "severity": "severe"}),
            1500,
        ),
        (
            "vital",
            json!({"kind": "blood_pressure", "value": "138/88", "unit": "mmHg", "recorded_at": when(2)}),
            2,
        ),
        (
            "vital",
            json!({"kind": "blood_pressure", "value": "142/90", "unit": "mmHg", "recorded_at": when(30)}),
            30,
        ),
        (
            "vital",
            json!({"kind": "heart_rate", "value": "76", "unit": "bpm", "recorded_at": when(2)}),
            2,
        ),
        (
            "vital",
            json!({"kind": "weight", "value": "68.4", "unit": "kg", "recorded_at": when(2)}),
            2,
        ),
        (
            "vital",
            json!({"kind": "temperature", "value": "36.8", "unit": "°C", "recorded_at": when(2)}),
            2,
        ),
        (
            "lab_result",
            json!({"test": "Haemoglobin", "value": "10.2", "unit": "g/dL", "reference_range": "12.0-15.5", "flag": "low", "taken_at": when(25)}),
            25,
        ),
        (
            "lab_result",
            json!({"test": "Ferritin", "value": "9", "unit": "ng/mL", "reference_range": "15-150", "flag": "low", "taken_at": when(25)}),
            25,
        ),
        (
            "lab_result",
            json!({"test": "Fasting glucose", "value": "5.1", "unit": "mmol/L", "reference_range": "3.9-5.6", "flag": "normal", "taken_at": when(60)}),
            60,
        ),
        (
            "lab_result",
            json!({"test": "Creatinine", "value": "72", "unit": "µmol/L", "reference_range": "45-90", "flag": "normal", "taken_at": when(60)}),
            60,
        ),
        (
            "immunization",
            json!({"vaccine": "Tetanus-diphtheria (Td)", "dose": "booster", "given_on": day(300)}),
            300,
        ),
        (
            "immunization",
            json!({"vaccine": "Hepatitis B", "dose": "3 of 3", "given_on": day(1200)}),
            1200,
        ),
        (
            "immunization",
            json!({"vaccine": "Yellow fever", "dose": "single dose", "given_on": day(2500)}),
            2500,
        ),
    ];
    let mut tx = db.begin().await?;
    for (index, (category, data, age)) in entries.into_iter().enumerate() {
        sqlx::query(
            "INSERT INTO medical_record_entries (id, user_id, category, data, recorded_at) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(derived_uuid(seed, &format!("record:{patient}:{index}")).to_string())
        .bind(patient.to_string())
        .bind(category)
        .bind(data.to_string())
        .bind(ts(at - Duration::days(age)))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}
