-- Import runs (docs/imports.md "Plan and apply"): the import-specific part of a run of operation
-- `imports` (the run itself and its steps are in `runs` / `run_steps`): the source imported, the
-- `ImportPlan` and where its spool is. Non-secret values only.
CREATE TABLE import_runs (
    run_id      TEXT PRIMARY KEY NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    profile_id  TEXT NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
    source_name TEXT NOT NULL,
    plan        TEXT NOT NULL CHECK (json_valid(plan)), -- the ImportPlan
    spool_path  TEXT NOT NULL,
    created_at  TEXT NOT NULL                           -- RFC 3339, UTC
) STRICT;

CREATE INDEX import_runs_by_profile ON import_runs (profile_id, source_name, created_at);
