-- The licensing lifecycle (docs/licensing.md, issue #6): the lifecycle settings per profile, the license
-- snapshots taken when an account is disabled, the stages (delayed work such as the license removal of a
-- staged deactivation), the seat counts over time, and the link from an undo run to the run it undoes.
-- Non-secret values only.

-- One JSON document per profile (`LifecycleSettings`), validated by the engine before it is written.
CREATE TABLE lifecycle_settings (
    profile_id TEXT PRIMARY KEY NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
    json       TEXT NOT NULL CHECK (json_valid(json))
) STRICT;

-- A user's direct licenses when the account was disabled; activation restores exactly these.
CREATE TABLE license_snapshots (
    profile_id   TEXT NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
    okta_user_id TEXT NOT NULL,
    entra_id     TEXT NOT NULL,
    licenses     TEXT NOT NULL CHECK (json_valid(licenses)), -- JSON [{skuId, skuPartNumber, disabledPlans}]
    taken_at     TEXT NOT NULL,                              -- RFC 3339, UTC
    run_id       TEXT,                                       -- the run that took it
    restored_at  TEXT,
    PRIMARY KEY (profile_id, okta_user_id)
) STRICT;

-- Delayed work, run when due. A stage is scheduled by one step of one run (at most once: the unique key).
CREATE TABLE stages (
    id               INTEGER PRIMARY KEY,
    profile_id       TEXT NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
    okta_user_id     TEXT NOT NULL,
    user_label       TEXT NOT NULL,
    entra_id         TEXT NOT NULL,
    kind             TEXT NOT NULL,                          -- 'removeLicenses'
    due_at           TEXT NOT NULL,                          -- RFC 3339, UTC
    status           TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed', 'cancelled')),
    scheduled_by_run TEXT NOT NULL,
    scheduled_by_seq INTEGER NOT NULL,
    run_id           TEXT,                                   -- the stage's own run
    created_at       TEXT NOT NULL,
    started_at       TEXT,
    finished_at      TEXT,
    late_secs        INTEGER,
    cancel_reason    TEXT,
    UNIQUE (scheduled_by_run, scheduled_by_seq)
) STRICT;
CREATE INDEX stages_due ON stages (status, due_at);

-- Seat counts per SKU, one point per SKU each time the licenses were re-read after a run that wrote.
CREATE TABLE seat_history (
    profile_id      TEXT NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
    sku_id          TEXT NOT NULL,
    sku_part_number TEXT NOT NULL,
    consumed        INTEGER NOT NULL,
    enabled         INTEGER NOT NULL,
    taken_at        TEXT NOT NULL,
    run_id          TEXT
) STRICT;
CREATE INDEX seat_history_profile ON seat_history (profile_id, taken_at);

-- runs: the `undo_of` column, and the `schedule` and `undo` triggers in the trigger check. SQLite cannot
-- change a CHECK in place, so `runs` is rebuilt. `run_steps` references `runs` with ON DELETE CASCADE:
-- its rows are copied aside first and the table is recreated after, so dropping the old `runs` deletes no
-- step.
CREATE TABLE run_steps_copy AS SELECT * FROM run_steps;
DROP TABLE run_steps;

CREATE TABLE runs_new (
    id          TEXT PRIMARY KEY,                         -- uuid
    profile_id  TEXT NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
    operation   TEXT NOT NULL,                            -- an OperationId, e.g. memberAccounts
    trigger     TEXT NOT NULL CHECK (trigger IN ('manual', 'reconcile', 'systemLog', 'testRun', 'schedule',
                                                 'undo')),
    scope       TEXT,                                     -- JSON array of Okta user ids; NULL = every member
    status      TEXT NOT NULL CHECK (status IN ('planned', 'running', 'succeeded', 'partial', 'failed',
                                                'interrupted', 'cancelled', 'discarded')),
    plan        TEXT NOT NULL,                            -- JSON: the planned changes and skipped users
    guard       TEXT,                                     -- JSON GuardStop, NULL when the guard did not stop
    created_at  TEXT NOT NULL,                            -- RFC 3339, UTC
    started_at  TEXT,
    finished_at TEXT,
    counts      TEXT,                                     -- JSON: users, changes, done, failed, ...
    undo_of     TEXT                                      -- uuid of the run an undo run undoes
) STRICT;
INSERT INTO runs_new (id, profile_id, operation, trigger, scope, status, plan, guard, created_at, started_at,
    finished_at, counts)
SELECT id, profile_id, operation, trigger, scope, status, plan, guard, created_at, started_at, finished_at,
    counts
FROM runs ORDER BY rowid;
DROP TABLE runs;
ALTER TABLE runs_new RENAME TO runs;
CREATE INDEX runs_by_profile ON runs (profile_id, created_at);
CREATE INDEX runs_by_status ON runs (status);
CREATE INDEX runs_by_undo_of ON runs (undo_of);

CREATE TABLE run_steps (
    id             INTEGER PRIMARY KEY,
    run_id         TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq            INTEGER NOT NULL,
    okta_user_id   TEXT NOT NULL,
    user_label     TEXT NOT NULL,
    kind           TEXT NOT NULL,                         -- a ChangeKind, e.g. createUser
    target         TEXT NOT NULL,                         -- the UPN, mail or Entra id written
    status         TEXT NOT NULL CHECK (status IN ('pending', 'started', 'done', 'failed', 'skipped',
                                                   'superseded')),
    request        TEXT,                                  -- JSON summary, never a password
    response       TEXT,                                  -- JSON summary
    http_status    INTEGER,
    vendor_code    TEXT,
    vendor_message TEXT,
    request_id     TEXT,
    fix            TEXT,
    started_at     TEXT,
    finished_at    TEXT,
    duration_ms    INTEGER,
    UNIQUE (run_id, seq)
) STRICT;
INSERT INTO run_steps (id, run_id, seq, okta_user_id, user_label, kind, target, status, request, response,
    http_status, vendor_code, vendor_message, request_id, fix, started_at, finished_at, duration_ms)
SELECT id, run_id, seq, okta_user_id, user_label, kind, target, status, request, response, http_status,
    vendor_code, vendor_message, request_id, fix, started_at, finished_at, duration_ms
FROM run_steps_copy ORDER BY id;
DROP TABLE run_steps_copy;
CREATE INDEX run_steps_by_user ON run_steps (okta_user_id);
CREATE INDEX run_steps_by_status ON run_steps (status);
