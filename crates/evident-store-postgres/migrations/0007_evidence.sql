-- Evidence records: the bytes are in the evidence store under their SHA-256 digest; a record is
-- never changed, a correction is a new record that supersedes it (at most once).
CREATE TABLE evidence (
    org_id TEXT NOT NULL REFERENCES organisations (id),
    id TEXT NOT NULL,
    file_name TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size BIGINT NOT NULL CHECK (size > 0),
    digest TEXT NOT NULL,
    effective_on DATE NOT NULL,
    source TEXT NOT NULL,
    description TEXT NOT NULL,
    supersedes TEXT,
    uploaded_by TEXT NOT NULL,
    uploaded_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, supersedes) REFERENCES evidence (org_id, id)
);
CREATE UNIQUE INDEX evidence_supersedes ON evidence (org_id, supersedes);
CREATE INDEX evidence_digest ON evidence (digest);

-- Which controls a record proves, and for which period. The effective date is repeated here so a
-- window's evidence is read from one index.
CREATE TABLE evidence_links (
    org_id TEXT NOT NULL,
    evidence_id TEXT NOT NULL,
    control_id TEXT NOT NULL,
    effective_on DATE NOT NULL,
    period_from DATE,
    period_to DATE,
    PRIMARY KEY (org_id, evidence_id, control_id),
    FOREIGN KEY (org_id, evidence_id) REFERENCES evidence (org_id, id)
);
CREATE INDEX evidence_links_control ON evidence_links (org_id, control_id, effective_on);

-- The newest current record of each control, kept by every write: freshness reads one row per
-- control instead of every record.
CREATE TABLE evidence_latest (
    org_id TEXT NOT NULL,
    control_id TEXT NOT NULL,
    evidence_id TEXT NOT NULL,
    effective_on DATE NOT NULL,
    PRIMARY KEY (org_id, control_id)
);
