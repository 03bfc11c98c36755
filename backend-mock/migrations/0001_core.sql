-- Core schema: users, auth, hospitals, departments, doctors, slots, appointments, idempotency.
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
