-- Portal sessions. The cookie carries a 256-bit token; only its SHA-256 is stored.
CREATE TABLE sessions (
    id_hash    TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Failed sign-ins per account: 10 failures lock for 1 minute, and each further
-- 10 doubles the lock. Kept by the portal whatever the directory.
CREATE TABLE signin_throttle (
    user_id      TEXT PRIMARY KEY,
    failures     BIGINT NOT NULL,
    locked_until BIGINT
);
