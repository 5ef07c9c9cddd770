-- Read models kept as rendered JSON, LZ4-compressed (readiness, the controls list), each under the key of what it
-- was computed from: the audit chain head, the day and the build. Never organisation state: any
-- row can be deleted and is recomputed; a row whose key no longer matches is never served.
CREATE TABLE derived (
    org_id TEXT NOT NULL REFERENCES organisations (id),
    name TEXT NOT NULL,
    key TEXT NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (org_id, name)
);
