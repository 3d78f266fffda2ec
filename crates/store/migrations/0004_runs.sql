-- Provisioning runs (docs/provisioning.md, issue #5): one plan of one operation for a scope, then its apply;
-- the run journal of every vendor write (a step is recorded `started` before it is sent and `done` /
-- `failed` after); the links between Okta users and the Entra users they were provisioned to or matched
-- with; and the saved System Log cursors. Non-secret values only: no initial password, no token.

CREATE TABLE runs (
    id          TEXT PRIMARY KEY,                         -- uuid
    profile_id  TEXT NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
    operation   TEXT NOT NULL,                            -- an OperationId, e.g. memberAccounts
    trigger     TEXT NOT NULL CHECK (trigger IN ('manual', 'reconcile', 'systemLog', 'testRun')),
    scope       TEXT,                                     -- JSON array of Okta user ids; NULL = every member
    status      TEXT NOT NULL CHECK (status IN ('planned', 'running', 'succeeded', 'partial', 'failed',
                                                'interrupted', 'cancelled', 'discarded')),
    plan        TEXT NOT NULL,                            -- JSON: the planned changes and skipped users
    guard       TEXT,                                     -- JSON GuardStop, NULL when the guard did not stop
    created_at  TEXT NOT NULL,                            -- RFC 3339, UTC
    started_at  TEXT,
    finished_at TEXT,
    counts      TEXT                                      -- JSON: users, changes, done, failed, ...
) STRICT;
CREATE INDEX runs_by_profile ON runs (profile_id, created_at);
CREATE INDEX runs_by_status ON runs (status);

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
CREATE INDEX run_steps_by_user ON run_steps (okta_user_id);
CREATE INDEX run_steps_by_status ON run_steps (status);

CREATE TABLE links (
    profile_id   TEXT NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
    okta_user_id TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('member', 'guest')),
    entra_id     TEXT NOT NULL,
    upn          TEXT,
    mail         TEXT,
    linked_at    TEXT NOT NULL,
    PRIMARY KEY (profile_id, okta_user_id, kind)
) STRICT;
CREATE INDEX links_by_entra ON links (profile_id, entra_id);

CREATE TABLE cursors (
    profile_id TEXT NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
    name       TEXT NOT NULL CHECK (name IN ('systemLog')),
    value      TEXT NOT NULL,                             -- the saved `next` URL
    updated_at TEXT NOT NULL,
    PRIMARY KEY (profile_id, name)
) STRICT;
