-- Domain schema: payments, prescriptions, medical records and OTP, pharmacies, tracking, registry.
CREATE TABLE IF NOT EXISTS domain_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
