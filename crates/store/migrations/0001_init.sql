-- Profiles: one Okta org + one Microsoft tenant pair. Non-secret settings only.
CREATE TABLE profiles (
    id               TEXT PRIMARY KEY NOT NULL,            -- uuid
    name             TEXT NOT NULL COLLATE NOCASE UNIQUE,  -- unique ignoring (ASCII) case
    kind             TEXT NOT NULL CHECK (kind IN ('sandbox', 'tenant')),
    okta_org_url     TEXT NOT NULL,
    entra_login_url  TEXT NOT NULL,
    graph_url        TEXT NOT NULL,
    ms_tenant        TEXT,
    ms_client_id     TEXT,
    embedded_sandbox INTEGER NOT NULL DEFAULT 0 CHECK (embedded_sandbox IN (0, 1)),
    wizard_step      TEXT NOT NULL,
    created_at       TEXT NOT NULL,                        -- RFC 3339, UTC
    updated_at       TEXT NOT NULL
) STRICT;

-- Small key/value settings, e.g. the active profile id.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT;

-- Metadata about the secrets each profile keeps in the OS keychain, never the values.
-- It is also the index of keychain entries per profile, since keychains cannot be enumerated.
CREATE TABLE credentials (
    profile_id   TEXT NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,                            -- e.g. okta.api_token, entra.client_secret
    label        TEXT NOT NULL,
    hint         TEXT,                                     -- last 4 chars of the secret's id, never of the secret
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    expires_at   TEXT,
    PRIMARY KEY (profile_id, kind)
) STRICT;
