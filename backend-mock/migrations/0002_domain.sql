-- Domain schema: payments, prescriptions, medical records and OTP, pharmacies, tracking, registry.
-- Same conventions as 0001: ids are UUID text, timestamps RFC 3339 UTC text, money in minor units.
CREATE TABLE IF NOT EXISTS domain_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

-- Payments as the API sees them. One payment (one provider reference) per appointment: a
-- declined card is retried on the same reference, so an appointment can never be charged twice.
CREATE TABLE payments (
    reference TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    appointment_id TEXT NOT NULL UNIQUE REFERENCES appointments(id),
    amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
    currency TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'success', 'failed')),
    created_at TEXT NOT NULL,
    paid_at TEXT,
    -- How many times this payment confirmed its appointment: 0 or 1, never more.
    confirmations INTEGER NOT NULL DEFAULT 0 CHECK (confirmations IN (0, 1)),
    confirmed_at TEXT
);
CREATE INDEX payments_user ON payments(user_id, created_at);

-- The built-in provider's own ledger, kept apart from `payments` as a real provider's would be:
-- the reconciler compares the two.
CREATE TABLE provider_transactions (
    reference TEXT PRIMARY KEY,
    access_code TEXT NOT NULL UNIQUE,
    amount_minor INTEGER NOT NULL,
    currency TEXT NOT NULL,
    email TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'success', 'failed')),
    card_last4 TEXT,
    failure_reason TEXT,
    created_at TEXT NOT NULL,
    paid_at TEXT,
    webhook_attempts INTEGER NOT NULL DEFAULT 0,
    webhook_delivered_at TEXT
);
CREATE INDEX provider_transactions_status ON provider_transactions(status);

CREATE TABLE pharmacies (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    city TEXT NOT NULL,
    phone TEXT NOT NULL,
    lat REAL NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lng REAL NOT NULL CHECK (lng BETWEEN -180 AND 180),
    open_24h INTEGER NOT NULL DEFAULT 0
);

-- One nominated pharmacy per user: the primary key is the rule.
CREATE TABLE pharmacy_nominations (
    user_id TEXT PRIMARY KEY REFERENCES users(id),
    pharmacy_id TEXT NOT NULL REFERENCES pharmacies(id),
    nominated_at TEXT NOT NULL
);

CREATE TABLE prescriptions (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES users(id),
    doctor_id TEXT NOT NULL REFERENCES users(id),
    -- JSON array of {name, dosage, duration, instructions}.
    medicines TEXT NOT NULL,
    notes TEXT,
    issued_at TEXT NOT NULL
);
CREATE INDEX prescriptions_patient ON prescriptions(patient_id, issued_at);

-- At most one order per prescription: the unique key, not a check-then-insert, decides.
CREATE TABLE prescription_orders (
    id TEXT PRIMARY KEY,
    prescription_id TEXT NOT NULL UNIQUE REFERENCES prescriptions(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    pharmacy_id TEXT NOT NULL REFERENCES pharmacies(id),
    status TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- Medical record entries; `data` is the JSON of the category's wire type.
CREATE TABLE medical_record_entries (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    category TEXT NOT NULL CHECK (category IN
        ('condition', 'medication', 'allergy', 'vital', 'lab_result', 'immunization')),
    data TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX medical_record_entries_user ON medical_record_entries(user_id, category, recorded_at);

-- One live code per user, stored as a salted SHA-256 hash. `failed_attempts` counts wrong
-- codes since the last success; reaching the limit sets `locked_until`.
CREATE TABLE otp_codes (
    user_id TEXT PRIMARY KEY REFERENCES users(id),
    code_hash TEXT,
    salt TEXT,
    expires_at TEXT,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until TEXT,
    created_at TEXT NOT NULL
);

-- Medical-record access tokens, stored as SHA-256 hashes.
CREATE TABLE med_access_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX med_access_tokens_user ON med_access_tokens(user_id);

-- Outgoing mail. Without a mail relay this is where messages are delivered; in dev mode
-- `/__dev/mailbox` reads it.
CREATE TABLE mailbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX mailbox_email ON mailbox(email, id);

-- Synced tracking items. `cursor` comes from `sync_counter` and grows on every change, so a
-- client asking for `since=` its last cursor gets every change after it, tombstones included.
CREATE TABLE tracking_items (
    user_id TEXT NOT NULL REFERENCES users(id),
    kind TEXT NOT NULL CHECK (kind IN ('kick-sessions', 'cycles', 'contractions')),
    id TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    data TEXT,
    cursor INTEGER NOT NULL,
    PRIMARY KEY (user_id, kind, id)
);
CREATE INDEX tracking_items_cursor ON tracking_items(user_id, kind, cursor);

CREATE TABLE sync_counter (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO sync_counter (name, value) VALUES ('tracking', 0);

CREATE TABLE registry_entries (
    license_number TEXT PRIMARY KEY,
    full_name TEXT NOT NULL,
    profession TEXT NOT NULL,
    specialty TEXT NOT NULL,
    region TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'expired')),
    registered_on TEXT NOT NULL,
    expires_on TEXT NOT NULL
);
CREATE INDEX registry_entries_name ON registry_entries(full_name);
