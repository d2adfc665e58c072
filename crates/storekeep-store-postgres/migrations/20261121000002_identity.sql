-- Accounts, sessions, credentials and the audit log.
-- PII columns (*_sealed) hold AES-256-GCM ciphertexts; email_index is a
-- keyed blind index. Secrets (passwords, tokens, codes) are stored hashed.

CREATE TABLE users (
    id uuid PRIMARY KEY,
    tenant_id uuid REFERENCES tenants (id) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('customer', 'staff', 'operator')),
    role text CHECK (role IN ('owner', 'admin', 'staff', 'viewer')),
    email_index text NOT NULL,
    email_sealed text NOT NULL,
    name_sealed text,
    phone_sealed text,
    password_hash text NOT NULL,
    totp_sealed text,
    totp_pending_sealed text,
    totp_last_step bigint,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CHECK ((kind = 'operator') = (tenant_id IS NULL)),
    CHECK ((kind = 'staff') = (role IS NOT NULL))
);

CREATE UNIQUE INDEX users_email_key
    ON users (coalesce(tenant_id, '00000000-0000-0000-0000-000000000000'::uuid), kind, email_index);

CREATE TABLE login_throttle (
    scope text NOT NULL,
    email_index text NOT NULL,
    failures bigint NOT NULL,
    locked_until timestamptz,
    PRIMARY KEY (scope, email_index)
);

CREATE TABLE sessions (
    id uuid PRIMARY KEY,
    token_hash text NOT NULL CONSTRAINT sessions_token_key UNIQUE,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tenant_id uuid,
    created_at timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    ip text,
    user_agent text,
    revoked_at timestamptz
);

CREATE INDEX sessions_user_id ON sessions (user_id);

CREATE TABLE recovery_codes (
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash text NOT NULL,
    used_at timestamptz,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE password_resets (
    token_hash text PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at timestamptz NOT NULL,
    used_at timestamptz
);

CREATE TABLE api_keys (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name text NOT NULL,
    prefix text NOT NULL,
    key_hash text NOT NULL CONSTRAINT api_keys_hash_key UNIQUE,
    scopes text NOT NULL,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL,
    last_used_at timestamptz,
    revoked_at timestamptz
);

CREATE INDEX api_keys_tenant_id ON api_keys (tenant_id);

CREATE TABLE oauth_clients (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    client_id text NOT NULL CONSTRAINT oauth_clients_client_id_key UNIQUE,
    name text NOT NULL,
    secret_hash text NOT NULL,
    scopes text NOT NULL,
    created_at timestamptz NOT NULL,
    revoked_at timestamptz
);

CREATE TABLE access_tokens (
    token_hash text PRIMARY KEY,
    client uuid NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    tenant_id uuid NOT NULL,
    scopes text NOT NULL,
    expires_at timestamptz NOT NULL
);

-- Append-only, hash-chained per scope (a tenant id, or 'platform').
-- No foreign keys: the trail outlives what it describes.
CREATE TABLE audit_log (
    scope text NOT NULL,
    seq bigint NOT NULL,
    actor text NOT NULL,
    action text NOT NULL,
    target text NOT NULL,
    before jsonb,
    after jsonb,
    ip text,
    request_id text,
    at timestamptz NOT NULL,
    prev_hash text NOT NULL,
    hash text NOT NULL,
    PRIMARY KEY (scope, seq)
);

-- One row per chain, locked by appenders so entries get consecutive numbers.
CREATE TABLE audit_heads (
    scope text PRIMARY KEY,
    seq bigint NOT NULL,
    hash text NOT NULL
);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;

CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- The chain heads only move forward.
CREATE FUNCTION audit_heads_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' OR NEW.seq <> OLD.seq + 1 OR NEW.scope <> OLD.scope THEN
        RAISE EXCEPTION 'audit_heads only moves forward';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER audit_heads_forward_only BEFORE UPDATE OR DELETE ON audit_heads
    FOR EACH ROW EXECUTE FUNCTION audit_heads_forward_only();

CREATE TRIGGER audit_heads_no_truncate BEFORE TRUNCATE ON audit_heads
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
