-- Passkeys (WebAuthn). Portable SQL (SQLite + PostgreSQL).

-- One row per registered passkey, under its `passkey` method (removing the
-- method removes the credential). `public_key` is the relying party's
-- stored credential (COSE key and flags) as JSON; `sign_count` is the
-- authenticator's signature counter, the truth the JSON's copy defers to.
-- `user_handle` is the random id the authenticator returns with a
-- discoverable assertion (never the user name); `cloned_at` is set when a
-- counter failed to increase: the credential is refused from then on.
CREATE TABLE passkeys (
    method_id     TEXT PRIMARY KEY REFERENCES auth_methods (id) ON DELETE CASCADE,
    user_id       TEXT NOT NULL,
    credential_id TEXT NOT NULL UNIQUE,   -- base64url, as the browser sends it
    user_handle   TEXT NOT NULL,
    public_key    TEXT NOT NULL,
    sign_count    BIGINT NOT NULL,
    name          TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT,
    cloned_at     BIGINT
);
CREATE INDEX passkeys_user ON passkeys (user_id);

-- Ceremonies begun and not yet finished: the relying party's state (its
-- challenge) as JSON, single use, short-lived, bound to what began it (a
-- session, a reset flow, or a sign-in page's own token). The id is a
-- bearer secret: only its SHA-256 is stored.
CREATE TABLE passkey_ceremonies (
    id_hash    TEXT PRIMARY KEY,
    purpose    TEXT NOT NULL,             -- register | reset | sign_in
    bound_to   TEXT NOT NULL,
    user_id    TEXT,
    state      TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX passkey_ceremonies_expiry ON passkey_ceremonies (expires_at);
