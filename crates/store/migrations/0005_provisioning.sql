-- Provisioning settings (docs/provisioning.md "Settings", issue #5): one JSON document per profile with the
-- username format, the attribute mapping, the guest settings, the blast-radius guard and the trigger
-- intervals. Validated by the engine before it is written; never a secret.

CREATE TABLE provisioning_settings (
    profile_id TEXT PRIMARY KEY NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
    json       TEXT NOT NULL CHECK (json_valid(json))
) STRICT;
