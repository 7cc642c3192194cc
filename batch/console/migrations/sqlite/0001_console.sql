-- 0001: the operator console's tables; times in Unix microseconds.
-- console_users: local users, the argon2id hash with its parameters.
CREATE TABLE console_users (
    name          TEXT    PRIMARY KEY,
    role          TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL
);
-- console_sessions: server-side sessions, keyed by the SHA-256 of the
-- cookie's token (the token itself is never stored).
CREATE TABLE console_sessions (
    id         TEXT    PRIMARY KEY,
    user_name  TEXT    NOT NULL,
    remote     TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    last_seen  BIGINT  NOT NULL
);
CREATE INDEX console_sessions_user ON console_sessions (user_name);
-- console_audit: who did what, when, from where; target holds our ids,
-- counts and types, never patient data.
CREATE TABLE console_audit (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        BIGINT  NOT NULL,
    user_name TEXT    NOT NULL,
    remote    TEXT    NOT NULL,
    action    TEXT    NOT NULL,
    target    TEXT    NOT NULL
);
CREATE INDEX console_audit_user ON console_audit (user_name, id);
CREATE INDEX console_audit_action ON console_audit (action, id);
-- console_login_attempts: failed logins, for rate limiting per user and
-- per remote address.
CREATE TABLE console_login_attempts (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        BIGINT  NOT NULL,
    user_name TEXT    NOT NULL,
    remote    TEXT    NOT NULL
);
CREATE INDEX console_login_attempts_user ON console_login_attempts (user_name, at);
CREATE INDEX console_login_attempts_remote ON console_login_attempts (remote, at);
