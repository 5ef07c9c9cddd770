-- The risk register: methodology versions, assets, risks with their assets, treating controls and acceptances.
CREATE TABLE risk_methodologies (
    org_id TEXT NOT NULL REFERENCES organisations (id),
    version BIGINT NOT NULL,
    definition TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, version)
);

CREATE TABLE assets (
    org_id TEXT NOT NULL REFERENCES organisations (id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    owner_email TEXT,
    classification TEXT NOT NULL,
    confidentiality BIGINT NOT NULL,
    integrity BIGINT NOT NULL,
    availability BIGINT NOT NULL,
    parent_code TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, code),
    FOREIGN KEY (org_id, parent_code) REFERENCES assets (org_id, code)
);

CREATE TABLE risks (
    org_id TEXT NOT NULL REFERENCES organisations (id),
    code TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    threat TEXT NOT NULL,
    vulnerability TEXT NOT NULL,
    owner_email TEXT NOT NULL,
    methodology_version BIGINT NOT NULL,
    inherent_likelihood BIGINT NOT NULL,
    inherent_impact BIGINT NOT NULL,
    treatment TEXT NOT NULL,
    residual_likelihood BIGINT NOT NULL,
    residual_impact BIGINT NOT NULL,
    residual_justification TEXT NOT NULL,
    review_date DATE NOT NULL,
    closed BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, code),
    FOREIGN KEY (org_id, methodology_version) REFERENCES risk_methodologies (org_id, version)
);

CREATE TABLE risk_assets (
    org_id TEXT NOT NULL,
    risk_code TEXT NOT NULL,
    asset_code TEXT NOT NULL,
    PRIMARY KEY (org_id, risk_code, asset_code),
    FOREIGN KEY (org_id, risk_code) REFERENCES risks (org_id, code),
    FOREIGN KEY (org_id, asset_code) REFERENCES assets (org_id, code)
);

CREATE TABLE risk_controls (
    org_id TEXT NOT NULL,
    risk_code TEXT NOT NULL,
    control_code TEXT NOT NULL,
    planned BOOLEAN NOT NULL,
    due_date DATE,
    PRIMARY KEY (org_id, risk_code, control_code),
    FOREIGN KEY (org_id, risk_code) REFERENCES risks (org_id, code),
    FOREIGN KEY (org_id, control_code) REFERENCES controls (org_id, code)
);

-- Every acceptance is kept; the latest is the one in force.
CREATE TABLE risk_acceptances (
    org_id TEXT NOT NULL,
    risk_code TEXT NOT NULL,
    seq BIGINT NOT NULL,
    accepted_by TEXT NOT NULL,
    accepted_at TIMESTAMPTZ NOT NULL,
    expires_on DATE NOT NULL,
    note TEXT NOT NULL,
    PRIMARY KEY (org_id, risk_code, seq),
    FOREIGN KEY (org_id, risk_code) REFERENCES risks (org_id, code)
);
