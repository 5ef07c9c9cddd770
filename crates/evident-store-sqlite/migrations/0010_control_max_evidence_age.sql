-- A control's own limit on the age of its evidence, in days, replacing its frequency's interval
-- in freshness ("monthly, but never older than 10 days"). NULL: the frequency alone decides.
ALTER TABLE controls ADD COLUMN max_evidence_age_days INTEGER
    CHECK (max_evidence_age_days BETWEEN 1 AND 1830);
