-- The guided setup (docs/setup.md, issue #4): the setup journal of every tenant write, the Okta groups per
-- role, the Microsoft licenses table and what each group role is licensed with. Non-secret values only.

-- The setup journal: a write is recorded `started` before it is sent and `done` / `failed` after; the next
-- run marks rows it re-planned from the tenant's live state `superseded`.
CREATE TABLE setup_steps (
    id          INTEGER PRIMARY KEY,
    profile_id  TEXT NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
    run_id      TEXT NOT NULL,                            -- uuid of one apply
    operation   TEXT NOT NULL CHECK (operation IN ('groups', 'microsoft_app', 'okta_app')),
    step        TEXT NOT NULL,                            -- e.g. create_group:assignments
    target      TEXT NOT NULL,                            -- what is written: a group name, an app name, ...
    status      TEXT NOT NULL CHECK (status IN ('started', 'done', 'failed', 'superseded')),
    request     TEXT NOT NULL,                            -- JSON, never a secret
    result      TEXT,                                     -- JSON (ids), never a secret
    error       TEXT,
    started_at  TEXT NOT NULL,                            -- RFC 3339, UTC
    finished_at TEXT
) STRICT;
CREATE INDEX setup_steps_by_profile ON setup_steps (profile_id, operation, status);

-- The Okta groups that drive the operations, one per role and profile, with the id and member count last
-- seen on the org (seat warnings use the count without calling Okta).
CREATE TABLE setup_groups (
    profile_id    TEXT NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
    role          TEXT NOT NULL CHECK (role IN ('assignments', 'guests')),
    name          TEXT NOT NULL,
    okta_group_id TEXT,
    member_count  INTEGER,                                -- as counted when the group was last planned
    PRIMARY KEY (profile_id, role)
) STRICT;

-- The Microsoft tenant's subscribed SKUs as of the last refresh (GET /subscribedSkus).
CREATE TABLE licenses (
    profile_id        TEXT NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
    sku_id            TEXT NOT NULL,
    sku_part_number   TEXT NOT NULL,
    product_name      TEXT,
    enabled           INTEGER NOT NULL,
    consumed          INTEGER NOT NULL,
    available         INTEGER NOT NULL,
    suspended         INTEGER NOT NULL,
    warning           INTEGER NOT NULL,
    capability_status TEXT NOT NULL,
    service_plans     TEXT NOT NULL,                      -- JSON array of {servicePlanId, servicePlanName}
    refreshed_at      TEXT NOT NULL,
    PRIMARY KEY (profile_id, sku_id)
) STRICT;

-- The SKUs each group role is licensed with, and the service plans of each left disabled.
CREATE TABLE license_assignments (
    profile_id     TEXT NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
    role           TEXT NOT NULL CHECK (role IN ('assignments', 'guests')),
    sku_id         TEXT NOT NULL,
    disabled_plans TEXT NOT NULL DEFAULT '[]',            -- JSON array of service plan names
    PRIMARY KEY (profile_id, role, sku_id)
) STRICT;

-- Per-profile license settings: the default usageLocation and when the licenses table was last refreshed
-- (kept here too so a tenant with no SKU still shows when it was looked at).
CREATE TABLE license_settings (
    profile_id     TEXT PRIMARY KEY NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
    usage_location TEXT,                                  -- ISO 3166-1 alpha-2, validated by the engine
    refreshed_at   TEXT
) STRICT;
