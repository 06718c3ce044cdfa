-- Security hardening. Portable SQL (SQLite + PostgreSQL).

-- A proof in flight holds its flow: a concurrent proof of the same flow is
-- refused (409), never evaluated, and never counted as a failure.
ALTER TABLE reset_flows ADD COLUMN busy_until BIGINT;

-- Proof budgets, reserved atomically before a proof is evaluated: failures
-- plus proofs in flight in the current 24-hour window, per subject (the
-- identifier as typed, and the account behind it).
CREATE TABLE proof_budget (
    subject      TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    used         BIGINT NOT NULL,      -- failures + proofs being evaluated
    failed       BIGINT NOT NULL
);

-- Per-IP windows, shared by every node: key = bucket | client (IPv6 per /64).
CREATE TABLE ip_windows (
    key          TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    hits         BIGINT NOT NULL
);
CREATE INDEX ip_windows_start ON ip_windows (window_start);

-- When a code last went to an address or number, per account: one cooldown,
-- whichever route asked for the code.
CREATE TABLE send_log (
    account     TEXT NOT NULL,
    target_hash TEXT NOT NULL,
    at          BIGINT NOT NULL,
    PRIMARY KEY (account, target_hash)
);

-- Step-up: when this session last proved a method the user already had.
ALTER TABLE sessions ADD COLUMN mfa_at BIGINT NOT NULL DEFAULT 0;

-- Session epochs: a session is live only while its epoch is its user's.
-- A reset or a change of password moves the user's epoch (before and after
-- the directory write), so a sign-in that checked the old password while it
-- ran cannot leave a session behind.
ALTER TABLE sessions ADD COLUMN epoch BIGINT NOT NULL DEFAULT 0;
CREATE TABLE session_epochs (
    user_id TEXT PRIMARY KEY,
    epoch   BIGINT NOT NULL
);

-- Sign-in checks in flight per name, reserved before the password is
-- checked, so concurrent guesses never pass the 10-failure lock.
ALTER TABLE signin_throttle ADD COLUMN pending BIGINT NOT NULL DEFAULT 0;
ALTER TABLE signin_throttle ADD COLUMN pending_at BIGINT NOT NULL DEFAULT 0;

-- A step-up proof being made: one per session. An emailed or texted code is
-- kept only as its keyed hash.
CREATE TABLE stepup_challenges (
    session_hash TEXT PRIMARY KEY,
    method_id    TEXT NOT NULL,
    code_hash    TEXT,
    attempts     BIGINT NOT NULL DEFAULT 0,
    sent_at      BIGINT,
    expires_at   BIGINT NOT NULL
);

-- A session opened with a Temporary Access Pass lives only while its pass
-- does: revoked, replaced or expired, the session ends with it.
ALTER TABLE sessions ADD COLUMN pass_id TEXT;

-- Temporary Access Passes: who issued each, and revocation.
ALTER TABLE access_passes ADD COLUMN issued_by TEXT;
ALTER TABLE access_passes ADD COLUMN revoked_at BIGINT;
