-- Registered methods, the reset flow, one-time codes, CAPTCHA challenges,
-- per-account throttling and the audit trail. Portable SQL (SQLite + PostgreSQL).

CREATE TABLE auth_methods (
    id             TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind           TEXT NOT NULL,          -- email | sms | authenticator
    target         TEXT,                   -- address or E.164 number (needed to deliver codes)
    secret_sealed  TEXT,                   -- authenticator secret, encrypted with a key outside the database
    totp_last_step BIGINT,                 -- the last accepted TOTP step: never accepted again
    is_default     BIGINT NOT NULL DEFAULT 0,
    created_at     BIGINT NOT NULL,
    confirmed_at   BIGINT NOT NULL
);
CREATE INDEX auth_methods_user ON auth_methods (user_id);

-- The flow id is a bearer secret: only its SHA-256 is stored.
CREATE TABLE reset_flows (
    id_hash    TEXT PRIMARY KEY,
    user_id    TEXT REFERENCES users (id) ON DELETE CASCADE,  -- NULL for a decoy flow
    subject    TEXT NOT NULL,          -- throttling key: the account, or the decoy identifier
    state      TEXT NOT NULL,          -- JSON FlowState; only the server reads it
    version    BIGINT NOT NULL DEFAULT 0,
    ip         TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX reset_flows_expiry ON reset_flows (expires_at);

CREATE TABLE reset_codes (
    id         TEXT PRIMARY KEY,
    flow_hash  TEXT NOT NULL REFERENCES reset_flows (id_hash) ON DELETE CASCADE,
    method_id  TEXT NOT NULL,          -- the offered method id within the flow
    code_hash  TEXT NOT NULL,          -- HMAC(pepper, flow ‖ code)
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX reset_codes_flow ON reset_codes (flow_hash);

CREATE TABLE pow_challenges (
    id         TEXT PRIMARY KEY,
    prefix     TEXT NOT NULL,
    difficulty BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- Failed proofs and sent codes, per account (or decoy identifier), for the
-- 5-failures-in-24h block and the 10-codes-in-10-minutes cap.
CREATE TABLE throttle_events (
    subject TEXT NOT NULL,
    kind    TEXT NOT NULL,             -- fail | send
    at      BIGINT NOT NULL
);
CREATE INDEX throttle_events_lookup ON throttle_events (subject, kind, at);

CREATE TABLE sspr_blocks (
    subject TEXT PRIMARY KEY,
    until   BIGINT NOT NULL
);

CREATE TABLE audit_events (
    id       TEXT PRIMARY KEY,
    at       BIGINT NOT NULL,
    activity TEXT NOT NULL,            -- Entra's activity names
    actor    TEXT NOT NULL,            -- user name, or the identifier typed for a decoy
    target   TEXT,
    method   TEXT,
    result   TEXT NOT NULL,            -- success | failure
    ip       TEXT NOT NULL,
    flow     TEXT,                     -- a short prefix of the flow's hash, never the flow id
    detail   TEXT
);
CREATE INDEX audit_events_at ON audit_events (at);
