-- Core schema: users, auth, hospitals, departments, doctors, slots, appointments, idempotency.
-- Portable SQL: ids are UUID text, timestamps RFC 3339 UTC text (sortable), money in minor units.
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE hospitals (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    city TEXT NOT NULL,
    address TEXT NOT NULL,
    phone TEXT NOT NULL
);

CREATE TABLE departments (
    id TEXT PRIMARY KEY,
    hospital_id TEXT NOT NULL REFERENCES hospitals(id),
    name TEXT NOT NULL,
    fee_minor INTEGER NOT NULL DEFAULT 0 CHECK (fee_minor >= 0),
    currency TEXT NOT NULL DEFAULT 'NGN'
);
CREATE INDEX departments_hospital ON departments(hospital_id);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    -- Stored lowercased, so the unique constraint is case-insensitive.
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('patient', 'doctor', 'admin')),
    phone TEXT,
    date_of_birth TEXT,
    gender TEXT,
    address TEXT,
    primary_hospital_id TEXT REFERENCES hospitals(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE doctors (
    id TEXT PRIMARY KEY,
    department_id TEXT NOT NULL REFERENCES departments(id),
    -- The account a doctor signs in with, when there is one.
    user_id TEXT UNIQUE REFERENCES users(id),
    name TEXT NOT NULL,
    specialty TEXT NOT NULL
);
CREATE INDEX doctors_department ON doctors(department_id);

-- Refresh tokens are stored as SHA-256 hashes. Each login starts a family; each refresh
-- marks the used token rotated and adds the next one. A rotated token used again revokes the family.
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    family_id TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    rotated_at TEXT,
    revoked_at TEXT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);

CREATE TABLE slots (
    id TEXT PRIMARY KEY,
    doctor_id TEXT NOT NULL REFERENCES doctors(id),
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    UNIQUE (doctor_id, starts_at)
);

CREATE TABLE appointments (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    doctor_id TEXT NOT NULL REFERENCES doctors(id),
    department_id TEXT NOT NULL REFERENCES departments(id),
    hospital_id TEXT NOT NULL REFERENCES hospitals(id),
    slot_id TEXT NOT NULL REFERENCES slots(id),
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending_payment', 'confirmed', 'cancelled', 'completed')),
    reason TEXT,
    fee_minor INTEGER NOT NULL,
    currency TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
-- A slot has at most one booking that is not cancelled: the database, not a check-then-insert,
-- decides who wins a race (partial unique index; PostgreSQL supports the same statement).
CREATE UNIQUE INDEX appointments_active_slot ON appointments(slot_id) WHERE status <> 'cancelled';
CREATE INDEX appointments_user ON appointments(user_id, starts_at);
CREATE INDEX appointments_doctor ON appointments(doctor_id, starts_at);

-- Idempotency keys: the (user, key) primary key is the claim; status/body stay NULL while the
-- first request runs, then hold its outcome for replay until expires_at.
CREATE TABLE idempotency_keys (
    user_id TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status INTEGER,
    body TEXT,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (user_id, idem_key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys(expires_at);
