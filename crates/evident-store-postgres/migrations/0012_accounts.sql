-- Accounts, sessions and API tokens (what the server signs people and programs in with), and the
-- installation's own audit log, for what belongs to no organisation (accounts and sessions).
--
-- An account is a user (`users`, by e-mail; members are linked to it) who can sign in: the
-- argon2id hash of their password (a PHC string), never the password.
CREATE TABLE accounts (
    user_id TEXT PRIMARY KEY REFERENCES users (id),
    password_hash TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    password_changed_at TIMESTAMPTZ NOT NULL,
    disabled_at TIMESTAMPTZ
);

-- A signed-in browser. The cookie holds a random secret; only its SHA-256 is stored, so a copy of
-- the database signs no one in. `id` is the session's public handle, named in the audit log.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Failed sign-ins, counted over a window for the lockout (any e-mail, known or not); rows older
-- than the window are deleted as new ones come.
CREATE TABLE login_failures (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    at TIMESTAMPTZ NOT NULL
);
CREATE INDEX login_failures_email ON login_failures (email, at);
CREATE INDEX login_failures_at ON login_failures (at);

-- API tokens: scoped to one organisation and a role, shown once, stored as the secret's SHA-256.
-- A name is never reused in its organisation, so `token:NAME by EMAIL` in the audit log names one.
CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations (id),
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX api_tokens_name ON api_tokens (org_id, name);

-- The installation's audit log: one hash chain like an organisation's, with its head in the one
-- row of `installation` (made by the first write, so a fresh database holds no row at all).
CREATE TABLE installation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    audit_head_seq BIGINT NOT NULL,
    audit_head_hash TEXT NOT NULL
);

CREATE TABLE installation_log (
    seq BIGINT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    at TIMESTAMPTZ NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    before_json TEXT,
    after_json TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
