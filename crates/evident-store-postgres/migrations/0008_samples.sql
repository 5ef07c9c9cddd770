-- Type 2 samples as drawn (window, table, seed and every sampled occurrence, as JSON), never
-- changed; and the exceptions found, each against one sampled occurrence.
CREATE TABLE samples (
    org_id TEXT NOT NULL REFERENCES organisations (id),
    id TEXT NOT NULL,
    definition TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, id)
);

CREATE TABLE sample_exceptions (
    org_id TEXT NOT NULL,
    sample_id TEXT NOT NULL,
    control_id TEXT NOT NULL,
    occurrence_from DATE NOT NULL,
    occurrence_to DATE NOT NULL,
    note TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, sample_id, control_id, occurrence_from),
    FOREIGN KEY (org_id, sample_id) REFERENCES samples (org_id, id)
);
