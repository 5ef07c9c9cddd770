-- A control's stable id (kept across renames), its revision (an edit names the one it was based on),
-- and codes unique without regard to case (`iam-01` beside `IAM-01` is refused). The case-free index
-- leads with the code, so a plan made on an empty table never prefers it to the primary key for an
-- exact lookup (it would then scan every control of the organisation).
ALTER TABLE controls ADD COLUMN id TEXT NOT NULL DEFAULT '';
ALTER TABLE controls ADD COLUMN revision BIGINT NOT NULL DEFAULT 1;
UPDATE controls SET id = replace(gen_random_uuid()::text, '-', '') WHERE id = '';
CREATE UNIQUE INDEX controls_id ON controls (id);
CREATE UNIQUE INDEX controls_code_nocase ON controls (lower(code), org_id);

-- A member's display name belongs to the organisation that gave it: nothing about a person in one
-- organisation shows in another.
ALTER TABLE memberships ADD COLUMN display_name TEXT NOT NULL DEFAULT '';
UPDATE memberships SET display_name = (SELECT u.display_name FROM users u WHERE u.id = memberships.user_id);
