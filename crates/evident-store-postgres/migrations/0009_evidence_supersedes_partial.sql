-- Only corrections name the record they supersede: the index holds those rows alone. As a full
-- index on (org_id, supersedes) it was a candidate for every lookup by organisation, and a plan
-- prepared on an empty table used it to find a record by id, scanning the organisation's evidence.
DROP INDEX evidence_supersedes;
CREATE UNIQUE INDEX evidence_supersedes ON evidence (org_id, supersedes) WHERE supersedes IS NOT NULL;
