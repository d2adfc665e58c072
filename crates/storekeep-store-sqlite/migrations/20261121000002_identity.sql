-- Accounts, sessions, credentials and the audit log.
-- PII columns (*_sealed) hold AES-256-GCM ciphertexts; email_index is a
-- keyed blind index. Secrets (passwords, tokens, codes) are stored hashed.

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT REFERENCES tenants (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('customer', 'staff', 'operator')),
    role TEXT CHECK (role IN ('owner', 'admin', 'staff', 'viewer')),
    email_index TEXT NOT NULL,
    email_sealed TEXT NOT NULL,
    name_sealed TEXT,
    phone_sealed TEXT,
    password_hash TEXT NOT NULL,
    totp_sealed TEXT,
    totp_pending_sealed TEXT,
    totp_last_step INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CHECK ((kind = 'operator') = (tenant_id IS NULL)),
    CHECK ((kind = 'staff') = (role IS NOT NULL))
) STRICT;

CREATE UNIQUE INDEX users_email_key ON users (coalesce(tenant_id, ''), kind, email_index);

CREATE TABLE login_throttle (
    scope TEXT NOT NULL,
    email_index TEXT NOT NULL,
    failures INTEGER NOT NULL,
    locked_until TEXT,
    PRIMARY KEY (scope, email_index)
) STRICT;

CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    token_hash TEXT NOT NULL CONSTRAINT sessions_token_key UNIQUE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tenant_id TEXT,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    ip TEXT,
    user_agent TEXT,
    revoked_at TEXT
) STRICT;

CREATE INDEX sessions_user_id ON sessions (user_id);

CREATE TABLE recovery_codes (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at TEXT,
    PRIMARY KEY (user_id, code_hash)
) STRICT;

CREATE TABLE password_resets (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at TEXT NOT NULL,
    used_at TEXT
) STRICT;

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    key_hash TEXT NOT NULL CONSTRAINT api_keys_hash_key UNIQUE,
    scopes TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at TEXT
) STRICT;

CREATE INDEX api_keys_tenant_id ON api_keys (tenant_id);

CREATE TABLE oauth_clients (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL CONSTRAINT oauth_clients_client_id_key UNIQUE,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
) STRICT;

CREATE TABLE access_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    client TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL,
    scopes TEXT NOT NULL,
    expires_at TEXT NOT NULL
) STRICT;

-- Append-only, hash-chained per scope (a tenant id, or 'platform').
-- No foreign keys: the trail outlives what it describes.
CREATE TABLE audit_log (
    scope TEXT NOT NULL,
    seq INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    before TEXT,
    after TEXT,
    ip TEXT,
    request_id TEXT,
    at TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (scope, seq)
) STRICT;

-- One row per chain: its last entry. Lets verification notice a chain cut
-- short, not only one edited.
CREATE TABLE audit_heads (
    scope TEXT PRIMARY KEY NOT NULL,
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
) STRICT;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

-- The chain heads only move forward.
CREATE TRIGGER audit_heads_no_delete BEFORE DELETE ON audit_heads
BEGIN
    SELECT RAISE(ABORT, 'audit_heads is append-only');
END;

CREATE TRIGGER audit_heads_forward_only BEFORE UPDATE ON audit_heads
WHEN NEW.seq <> OLD.seq + 1
BEGIN
    SELECT RAISE(ABORT, 'audit_heads only moves forward');
END;
