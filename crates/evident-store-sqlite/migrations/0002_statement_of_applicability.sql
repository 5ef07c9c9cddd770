-- The Statement of Applicability: the organisation's decision per Annex A control, and approved versions.
CREATE TABLE soa_decisions (
    org_id TEXT NOT NULL REFERENCES organisations (id),
    framework_id TEXT NOT NULL,
    requirement_ref TEXT NOT NULL,
    applicable BOOLEAN NOT NULL,
    reasons TEXT NOT NULL,
    justification TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (org_id, framework_id, requirement_ref)
);

-- An approved version is a snapshot that never changes.
CREATE TABLE soa_versions (
    org_id TEXT NOT NULL REFERENCES organisations (id),
    framework_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    approved_by TEXT NOT NULL,
    approved_at TEXT NOT NULL,
    rows_json TEXT NOT NULL,
    digest TEXT NOT NULL,
    PRIMARY KEY (org_id, framework_id, version)
);

CREATE TRIGGER soa_versions_no_update BEFORE UPDATE ON soa_versions
BEGIN
    SELECT RAISE(ABORT, 'approved SoA versions are immutable');
END;

CREATE TRIGGER soa_versions_no_delete BEFORE DELETE ON soa_versions
BEGIN
    SELECT RAISE(ABORT, 'approved SoA versions are immutable');
END;
