-- The durable outbox: every mail and text waits here until a transport takes
-- it, written in the same transaction as the change that causes it, so a
-- crash, a restart or a relay that is down loses nothing. Portable SQL
-- (SQLite + PostgreSQL).
CREATE TABLE outbox (
    id          TEXT PRIMARY KEY,      -- also the mail's Message-ID, so a relay can drop a duplicate
    kind        TEXT NOT NULL,         -- message | reset_code (resolved to a message when its turn comes)
    channel     TEXT NOT NULL,         -- mail | sms
    account     TEXT,                  -- the user it concerns, for the audit record of a failure
    subject     TEXT,                  -- a reset code's flow subject: a newer code for it supersedes this one
    payload     TEXT NOT NULL,         -- sealed JSON with the key outside the database: it holds codes
    created_at  BIGINT NOT NULL,
    not_after   BIGINT,                -- never sent from this time on (a code's expiry)
    next_at     BIGINT NOT NULL,       -- not tried before this time
    attempts    BIGINT NOT NULL DEFAULT 0,
    lease_until BIGINT NOT NULL DEFAULT 0, -- a worker holds it until then; a node that dies frees it
    last_error  TEXT                   -- why the last try failed (never a body or an address)
);
CREATE INDEX outbox_due ON outbox (next_at);
CREATE INDEX outbox_subject ON outbox (subject);

-- Facts about the store itself. `key_fingerprint`: a one-way digest of the
-- master key that sealed it, so a node started with another key (a second
-- node given a fresh one, a restored backup without its key) refuses to
-- start instead of failing to open, or dropping, what the others sealed.
CREATE TABLE store_meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
