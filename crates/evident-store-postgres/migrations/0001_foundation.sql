-- Organisations, users, memberships, adopted frameworks, controls, mappings and the audit log.
CREATE TABLE organisations (
    id TEXT PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    -- The chain head: the last audit record's position and hash, updated with every append.
    audit_head_seq BIGINT NOT NULL,
    audit_head_hash TEXT NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE memberships (
    org_id TEXT NOT NULL REFERENCES organisations (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    role TEXT NOT NULL,
    joined_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, user_id)
);

CREATE TABLE adoptions (
    org_id TEXT NOT NULL REFERENCES organisations (id),
    framework_id TEXT NOT NULL,
    categories TEXT NOT NULL,
    scope TEXT NOT NULL,
    target_date DATE,
    adopted_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, framework_id)
);

CREATE TABLE controls (
    org_id TEXT NOT NULL REFERENCES organisations (id),
    code TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    owner_email TEXT,
    frequency TEXT NOT NULL,
    status TEXT NOT NULL,
    retired_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, code)
);

CREATE TABLE mappings (
    org_id TEXT NOT NULL,
    control_code TEXT NOT NULL,
    framework_id TEXT NOT NULL,
    requirement_ref TEXT NOT NULL,
    coverage TEXT NOT NULL,
    rationale TEXT NOT NULL,
    PRIMARY KEY (org_id, control_code, framework_id, requirement_ref),
    FOREIGN KEY (org_id, control_code) REFERENCES controls (org_id, code)
);

CREATE TABLE audit_log (
    org_id TEXT NOT NULL REFERENCES organisations (id),
    seq BIGINT NOT NULL,
    id TEXT NOT NULL UNIQUE,
    at TIMESTAMPTZ NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    before_json TEXT,
    after_json TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (org_id, seq)
);
