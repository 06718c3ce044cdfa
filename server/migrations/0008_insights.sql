-- Usage & insights (issue 18). Portable SQL (SQLite + PostgreSQL).

-- The kind of each method a session proved with a step-up, and when:
-- Usage & insights opens for an administrator whose session proved two
-- different kinds within the step-up window. Goes with its session.
CREATE TABLE session_proofs (
    session_hash TEXT NOT NULL REFERENCES sessions (id_hash) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    at           BIGINT NOT NULL,
    PRIMARY KEY (session_hash, kind)
);

-- Spike alerts: when each kind (resets, blocks) was last sent. A node
-- claims an alert by moving `sent_at` with one conditional statement, so
-- however many nodes share the store, each alert goes at most once an hour.
CREATE TABLE alerts_sent (
    kind    TEXT PRIMARY KEY,
    sent_at BIGINT NOT NULL
);

-- The figures count events by activity and time; retention deletes by
-- activity and time.
CREATE INDEX audit_events_activity ON audit_events (activity, at);
