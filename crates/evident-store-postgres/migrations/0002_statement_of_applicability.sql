-- The Statement of Applicability: the organisation's decision per Annex A control, and approved versions.
CREATE TABLE soa_decisions (
    org_id TEXT NOT NULL REFERENCES organisations (id),
    framework_id TEXT NOT NULL,
    requirement_ref TEXT NOT NULL,
    applicable BOOLEAN NOT NULL,
    reasons TEXT NOT NULL,
    justification TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, framework_id, requirement_ref)
);

-- An approved version is a snapshot that never changes.
CREATE TABLE soa_versions (
    org_id TEXT NOT NULL REFERENCES organisations (id),
    framework_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    approved_by TEXT NOT NULL,
    approved_at TIMESTAMPTZ NOT NULL,
    rows_json TEXT NOT NULL,
    digest TEXT NOT NULL,
    PRIMARY KEY (org_id, framework_id, version)
);

CREATE FUNCTION evident_soa_versions_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'approved SoA versions are immutable';
END;
$$;

CREATE TRIGGER soa_versions_immutable BEFORE UPDATE OR DELETE ON soa_versions
    FOR EACH ROW EXECUTE FUNCTION evident_soa_versions_immutable();
