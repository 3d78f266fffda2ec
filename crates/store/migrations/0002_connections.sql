-- Connection settings of a profile (issue #3). Non-secret values only; the secrets themselves are in the
-- OS keychain, indexed by the credentials table.
ALTER TABLE profiles ADD COLUMN ms_credential_kind TEXT
    CHECK (ms_credential_kind IN ('secret', 'certificate'));
ALTER TABLE profiles ADD COLUMN okta_auth TEXT
    CHECK (okta_auth IN ('apiToken', 'serviceApp'));
ALTER TABLE profiles ADD COLUMN okta_client_id TEXT;
ALTER TABLE profiles ADD COLUMN okta_key_id TEXT;
ALTER TABLE profiles ADD COLUMN okta_identity_source_id TEXT;
-- JSON array of operation ids; every operation but imports by default.
ALTER TABLE profiles ADD COLUMN operations TEXT NOT NULL
    DEFAULT '["licenses","memberAccounts","profileSync","guests","deactivation","activation","managerEmail"]';

-- Profiles made before this version (sandbox profiles) connect with what they stored.
UPDATE profiles SET ms_credential_kind = 'secret'
    WHERE ms_client_id IS NOT NULL AND EXISTS (
        SELECT 1 FROM credentials c WHERE c.profile_id = profiles.id AND c.kind = 'entra.client_secret');
UPDATE profiles SET okta_auth = 'apiToken'
    WHERE EXISTS (
        SELECT 1 FROM credentials c WHERE c.profile_id = profiles.id AND c.kind = 'okta.api_token');
