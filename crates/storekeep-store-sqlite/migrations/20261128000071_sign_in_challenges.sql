-- The second step of a sign-in with MFA (issue 17): after the password is
-- verified, a pending challenge waits for the code, held server-side so any
-- node can answer it. Only the challenge token's hash is stored; it is bound
-- to the account and its shop (NULL: the platform), dies at `expires_at`
-- (five minutes), after its first successful use (`used_at`) or after
-- `attempts` reaches the service's bound of codes.
CREATE TABLE sign_in_challenges (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tenant_id TEXT,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    used_at TEXT
) STRICT;

CREATE INDEX sign_in_challenges_user_id ON sign_in_challenges (user_id);
