-- Frameworks an organisation imports itself (its own policy, a customer's requirements, a
-- regulator's list), kept as the JSON of their description and requirements and validated again
-- on every read. An id never changes content: a new version of a framework is a new id.
CREATE TABLE imported_frameworks (
    org_id TEXT NOT NULL REFERENCES organisations (id),
    framework_id TEXT NOT NULL,
    definition TEXT NOT NULL,
    digest TEXT NOT NULL,
    imported_by TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    PRIMARY KEY (org_id, framework_id)
);

CREATE TRIGGER imported_frameworks_no_update BEFORE UPDATE ON imported_frameworks
BEGIN
    SELECT RAISE(ABORT, 'an imported framework never changes: import a new version under a new id');
END;
