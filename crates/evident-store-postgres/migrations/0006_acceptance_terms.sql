-- What an acceptance was given for: the residual rating and treatment at the time. When the risk is
-- re-rated or re-treated, the acceptance no longer holds. Empty for acceptances recorded before.
ALTER TABLE risk_acceptances ADD COLUMN residual_likelihood BIGINT;
ALTER TABLE risk_acceptances ADD COLUMN residual_impact BIGINT;
ALTER TABLE risk_acceptances ADD COLUMN treatment TEXT;
