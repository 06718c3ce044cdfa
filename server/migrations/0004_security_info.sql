-- Combined security-info registration: when a session last proved the
-- password (sensitive changes need it within 10 minutes) and how it was opened.
ALTER TABLE sessions ADD COLUMN auth_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN via TEXT NOT NULL DEFAULT 'password';

-- Methods being added. Bound to the session that started them; the
-- enrollment id is a bearer secret, so only its SHA-256 is stored. An
-- authenticator's secret is sealed like a registered one; a code is kept only
-- as its keyed hash.
CREATE TABLE enrollments (
    id_hash       TEXT PRIMARY KEY,
    session_hash  TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    kind          TEXT NOT NULL,
    target        TEXT,
    secret_sealed TEXT,
    code_hash     TEXT,
    attempts      BIGINT NOT NULL DEFAULT 0,
    sent_at       BIGINT,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX enrollments_session ON enrollments (session_hash);

-- Single-use recovery codes, as keyed hashes, under their `recovery_code` method.
CREATE TABLE recovery_codes (
    method_id TEXT NOT NULL REFERENCES auth_methods (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at   BIGINT,
    PRIMARY KEY (method_id, code_hash)
);

-- When the user last registered everything or confirmed their methods.
CREATE TABLE security_info_reviews (
    user_id     TEXT PRIMARY KEY,
    reviewed_at BIGINT NOT NULL
);

-- Temporary Access Passes issued by the helpdesk, as keyed hashes.
CREATE TABLE access_passes (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    pass_hash  TEXT NOT NULL,
    one_time   BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX access_passes_user ON access_passes (user_id);
