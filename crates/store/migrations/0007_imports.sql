-- Anything-as-a-Source imports (docs/imports.md, issue #7): the saved source and mapping per profile and
-- source name, the content hashes of the records last imported (delta imports) and the import schedules.
-- Non-secret values only: a source's credential stays in the OS keychain.

-- One source and its mapping per (profile, source name), as the JSON the engine validated.
CREATE TABLE import_mappings (
    profile_id  TEXT NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
    source_name TEXT NOT NULL,
    mapping     TEXT NOT NULL CHECK (json_valid(mapping)), -- ImportMapping
    source      TEXT NOT NULL CHECK (json_valid(source)),  -- SourceSpec
    updated_at  TEXT NOT NULL,                             -- RFC 3339, UTC
    PRIMARY KEY (profile_id, source_name)
) STRICT;

-- SHA-256 of each mapped record (active flag + sorted profile) after the last completed import that
-- uploaded it.
CREATE TABLE import_hashes (
    profile_id  TEXT NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
    source_name TEXT NOT NULL,
    external_id TEXT NOT NULL,
    hash        BLOB NOT NULL CHECK (length(hash) = 32),
    import_id   TEXT NOT NULL,
    PRIMARY KEY (profile_id, source_name, external_id)
) STRICT, WITHOUT ROWID;

-- When a source is imported on its own: every N minutes, or daily at HH:MM in a time zone.
CREATE TABLE import_schedules (
    profile_id  TEXT NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
    source_name TEXT NOT NULL,
    every_mins  INTEGER CHECK (every_mins IS NULL OR every_mins > 0),
    daily_at    TEXT CHECK (daily_at IS NULL OR daily_at GLOB '[0-2][0-9]:[0-5][0-9]'),
    time_zone   TEXT NOT NULL,                             -- IANA name, e.g. Europe/Berlin
    last_run_at TEXT,                                      -- RFC 3339, UTC
    set_at      TEXT NOT NULL,                             -- RFC 3339, UTC: when the schedule was set
    CHECK ((every_mins IS NULL) <> (daily_at IS NULL)),
    PRIMARY KEY (profile_id, source_name)
) STRICT;
