-- The built-in directory. Portable SQL: runs unchanged on SQLite and PostgreSQL.
-- Integers are BIGINT (i64 on both), times are Unix seconds, flags are 0/1.

CREATE TABLE users (
    id                  TEXT PRIMARY KEY,
    username            TEXT NOT NULL,
    email               TEXT,
    display_name        TEXT NOT NULL,
    mobile              TEXT,
    password_hash       TEXT NOT NULL,
    is_admin            BIGINT NOT NULL DEFAULT 0,
    enabled             BIGINT NOT NULL DEFAULT 1,
    failed_logins       BIGINT NOT NULL DEFAULT 0,
    locked_until        BIGINT,
    password_changed_at BIGINT NOT NULL,
    created_at          BIGINT NOT NULL
);
-- Log-in names and addresses are compared case-insensitively: stored lowercased.
CREATE UNIQUE INDEX users_username ON users (username);
CREATE UNIQUE INDEX users_email ON users (email);

CREATE TABLE dir_groups (
    id   TEXT PRIMARY KEY,
    name TEXT NOT NULL
);
CREATE UNIQUE INDEX dir_groups_name ON dir_groups (name);

-- A member is a user or a group (nested groups).
CREATE TABLE dir_group_members (
    group_id     TEXT NOT NULL REFERENCES dir_groups (id) ON DELETE CASCADE,
    member_user  TEXT REFERENCES users (id) ON DELETE CASCADE,
    member_group TEXT REFERENCES dir_groups (id) ON DELETE CASCADE,
    CHECK ((member_user IS NULL) <> (member_group IS NULL))
);
CREATE UNIQUE INDEX dir_members_user ON dir_group_members (group_id, member_user) WHERE member_user IS NOT NULL;
CREATE UNIQUE INDEX dir_members_group ON dir_group_members (group_id, member_group) WHERE member_group IS NOT NULL;
CREATE INDEX dir_members_by_user ON dir_group_members (member_user);
CREATE INDEX dir_members_by_group ON dir_group_members (member_group);
