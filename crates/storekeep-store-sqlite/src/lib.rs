//! Embedded SQLite implementation of the storekeep `Store`.
//!
//! Durability first: WAL journal, `synchronous=FULL` (every commit is
//! fsynced), foreign keys enforced, and a busy timeout so concurrent writers
//! wait for the lock instead of failing.

mod audit;
mod catalog;
mod commerce;
mod credentials;
mod error;
mod group_commit;
mod health;
mod plans;
mod sessions;
mod tenants;
mod users;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use storekeep_domain::{
    AccessTokenRecord, ApiKeyId, ApiKeyRecord, AuditContext, AuditEntry, DomainName, LoginThrottle,
    NewApiKey, NewOAuthClient, NewPlan, NewSession, NewTenant, OAuthClientId, OAuthClientRecord,
    Page, PageRequest, Plan, PlanLimitsPatch, PlanName, SessionId, SessionRecord, Slug, Tenant,
    TenantId, TenantPatch, UserId, UserKind, UserRecord,
};
use storekeep_store::{DatabaseKind, MigrationStatus, PoolConfig, PoolStats, Store, StoreResult};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// A `Store` on one SQLite database file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    max_connections: u32,
    /// Queue of the group-commit worker that runs every checkout.
    checkouts: group_commit::Checkouts,
    health: std::sync::Arc<health::HealthCheck>,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://path`).
    pub async fn connect(url: &str, config: PoolConfig) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(error::other)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            // Lock contention, not an outage: writers queue for the lock
            // longer than requests wait for a connection.
            .busy_timeout(Duration::from_secs(10))
            // Keeps the planner's statistics fresh (bounded work per close).
            .optimize_on_close(true, 400);
        let pool = SqlitePoolOptions::new()
            .max_connections(config.max_connections)
            .acquire_timeout(config.acquire_timeout)
            .connect_with(options.clone())
            .await
            .map_err(error::other)?;
        let checkouts = group_commit::start(pool.clone());
        Ok(Self {
            pool,
            max_connections: config.max_connections,
            checkouts,
            health: std::sync::Arc::new(health::HealthCheck::new(&options, config.acquire_timeout)),
        })
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn kind(&self) -> DatabaseKind {
        DatabaseKind::Sqlite
    }

    async fn ping(&self) -> StoreResult<()> {
        if self.pool.is_closed() {
            return Err(storekeep_store::StoreError::unavailable(
                storekeep_store::rules::platform::STORE_CLOSED,
            ));
        }
        self.health.ping().await
    }

    async fn migrate(&self) -> StoreResult<()> {
        MIGRATOR.run(&self.pool).await.map_err(crate::error::other)
    }

    async fn migration_status(&self) -> StoreResult<MigrationStatus> {
        let table: Option<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(crate::error::other)?;
        let applied: Vec<i64> = if table.is_some() {
            sqlx::query_scalar(storekeep_store_sql::platform::APPLIED_MIGRATIONS)
                .fetch_all(&self.pool)
                .await
                .map_err(crate::error::other)?
        } else {
            Vec::new()
        };
        let known = storekeep_store_sql::platform::known_migrations(&MIGRATOR);
        Ok(MigrationStatus::from_versions(&known, &applied))
    }

    fn pool_stats(&self) -> PoolStats {
        PoolStats {
            size: self.pool.size(),
            idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
            max: self.max_connections,
        }
    }

    async fn close(&self) {
        self.health.close().await;
        self.pool.close().await;
    }

    async fn create_plan(&self, plan: &NewPlan, audit: &AuditContext) -> StoreResult<Plan> {
        plans::create(&self.pool, plan, audit).await
    }

    async fn list_plans(&self, page: &PageRequest) -> StoreResult<Page<Plan>> {
        plans::list(&self.pool, page).await
    }

    async fn plan_by_name(&self, name: &PlanName) -> StoreResult<Plan> {
        plans::by_name(&self.pool, name).await
    }

    async fn update_plan(
        &self,
        name: &PlanName,
        patch: &PlanLimitsPatch,
        audit: &AuditContext,
    ) -> StoreResult<Plan> {
        plans::update(&self.pool, name, patch, audit).await
    }

    async fn create_tenant(&self, tenant: &NewTenant, audit: &AuditContext) -> StoreResult<Tenant> {
        tenants::create(&self.pool, tenant, audit).await
    }

    async fn list_tenants(&self, page: &PageRequest) -> StoreResult<Page<Tenant>> {
        tenants::list(&self.pool, page).await
    }

    async fn tenant_by_slug(&self, slug: &Slug) -> StoreResult<Tenant> {
        tenants::by_slug(&self.pool, slug).await
    }

    async fn tenant_by_domain(&self, domain: &DomainName) -> StoreResult<Tenant> {
        tenants::by_domain(&self.pool, domain).await
    }

    async fn update_tenant(
        &self,
        slug: &Slug,
        patch: &TenantPatch,
        audit: &AuditContext,
    ) -> StoreResult<Tenant> {
        tenants::update(&self.pool, slug, patch, audit).await
    }

    async fn create_user(
        &self,
        user: &UserRecord,
        audit: Option<&AuditContext>,
    ) -> StoreResult<UserRecord> {
        users::create(&self.pool, user, audit).await
    }

    async fn user_by_email(
        &self,
        tenant: Option<TenantId>,
        kind: UserKind,
        email_index: &str,
    ) -> StoreResult<UserRecord> {
        users::by_email(&self.pool, tenant, kind, email_index).await
    }

    async fn user_by_id(&self, id: UserId) -> StoreResult<UserRecord> {
        users::by_id(&self.pool, id).await
    }

    async fn list_users(
        &self,
        tenant: TenantId,
        kind: UserKind,
        page: &PageRequest,
    ) -> StoreResult<Page<UserRecord>> {
        users::list(&self.pool, tenant, kind, page).await
    }

    async fn count_users(&self, tenant: TenantId, kind: UserKind) -> StoreResult<i64> {
        users::count(&self.pool, tenant, kind).await
    }

    async fn update_user_sealed(&self, user: &UserRecord) -> StoreResult<()> {
        users::update_sealed(&self.pool, user).await
    }

    async fn users_after(&self, after: Option<UserId>, limit: i64) -> StoreResult<Vec<UserRecord>> {
        users::after(&self.pool, after, limit).await
    }

    async fn login_throttle(&self, scope: &str, email_index: &str) -> StoreResult<LoginThrottle> {
        users::throttle(&self.pool, scope, email_index).await
    }

    async fn record_login_failure(
        &self,
        scope: &str,
        email_index: &str,
        free_failures: i64,
        base_lock: chrono::Duration,
        max_lock: chrono::Duration,
    ) -> StoreResult<LoginThrottle> {
        let at = storekeep_store::now();
        users::record_failure(&self.pool, scope, email_index, |failures| {
            storekeep_store::rules::identity::lock_until(
                failures,
                free_failures,
                base_lock,
                max_lock,
                at,
            )
        })
        .await
    }

    async fn clear_login_failures(&self, scope: &str, email_index: &str) -> StoreResult<()> {
        users::clear_failures(&self.pool, scope, email_index).await
    }

    async fn create_session(&self, session: &NewSession) -> StoreResult<SessionRecord> {
        sessions::create(&self.pool, session).await
    }

    async fn session_by_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<(SessionRecord, UserRecord)> {
        sessions::by_token(&self.pool, token_hash, now).await
    }

    async fn touch_session(
        &self,
        id: SessionId,
        at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sessions::touch(&self.pool, id, at, expires_at).await
    }

    async fn list_sessions(
        &self,
        user: UserId,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<SessionRecord>> {
        sessions::list(&self.pool, user, now).await
    }

    async fn revoke_session(&self, user: UserId, id: SessionId) -> StoreResult<()> {
        sessions::revoke(&self.pool, user, id).await
    }

    async fn revoke_sessions(&self, user: UserId) -> StoreResult<u64> {
        sessions::revoke_all(&self.pool, user).await
    }

    async fn revoke_other_sessions(&self, user: UserId, keep: SessionId) -> StoreResult<u64> {
        sessions::revoke_others(&self.pool, user, keep).await
    }

    async fn set_totp_pending(&self, user: UserId, sealed: Option<&str>) -> StoreResult<()> {
        users::set_totp_pending(&self.pool, user, sealed).await
    }

    async fn enable_totp(
        &self,
        user: UserId,
        sealed: &str,
        step: i64,
        recovery_hashes: &[String],
        audit: &AuditContext,
    ) -> StoreResult<()> {
        users::enable_totp(&self.pool, user, sealed, step, recovery_hashes, audit).await
    }

    async fn disable_totp(&self, user: UserId, audit: &AuditContext) -> StoreResult<()> {
        users::disable_totp(&self.pool, user, audit).await
    }

    async fn use_totp_step(&self, user: UserId, step: i64) -> StoreResult<()> {
        users::use_totp_step(&self.pool, user, step).await
    }

    async fn use_recovery_code(&self, user: UserId, code_hash: &str) -> StoreResult<bool> {
        users::use_recovery_code(&self.pool, user, code_hash).await
    }

    async fn create_password_reset(
        &self,
        user: UserId,
        token_hash: &str,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        users::create_reset(&self.pool, user, token_hash, expires_at).await
    }

    async fn reset_password(
        &self,
        token_hash: &str,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<UserRecord> {
        users::reset_password(&self.pool, token_hash, password_hash, now).await
    }

    async fn set_password(
        &self,
        user: UserId,
        password_hash: &str,
        audit: Option<&AuditContext>,
    ) -> StoreResult<()> {
        users::set_password(&self.pool, user, password_hash, audit).await
    }

    async fn create_api_key(
        &self,
        key: &NewApiKey,
        audit: &AuditContext,
    ) -> StoreResult<ApiKeyRecord> {
        credentials::create_api_key(&self.pool, key, audit).await
    }

    async fn list_api_keys(
        &self,
        tenant: TenantId,
        page: &PageRequest,
    ) -> StoreResult<Page<ApiKeyRecord>> {
        credentials::list_api_keys(&self.pool, tenant, page).await
    }

    async fn revoke_api_key(
        &self,
        tenant: TenantId,
        id: ApiKeyId,
        audit: &AuditContext,
    ) -> StoreResult<ApiKeyRecord> {
        credentials::revoke_api_key(&self.pool, tenant, id, audit).await
    }

    async fn api_key_by_hash(&self, key_hash: &str) -> StoreResult<ApiKeyRecord> {
        credentials::api_key_by_hash(&self.pool, key_hash).await
    }

    async fn touch_api_key(&self, id: ApiKeyId, at: DateTime<Utc>) -> StoreResult<()> {
        credentials::touch_api_key(&self.pool, id, at).await
    }

    async fn create_oauth_client(
        &self,
        client: &NewOAuthClient,
        audit: &AuditContext,
    ) -> StoreResult<OAuthClientRecord> {
        credentials::create_client(&self.pool, client, audit).await
    }

    async fn list_oauth_clients(
        &self,
        tenant: TenantId,
        page: &PageRequest,
    ) -> StoreResult<Page<OAuthClientRecord>> {
        credentials::list_clients(&self.pool, tenant, page).await
    }

    async fn revoke_oauth_client(
        &self,
        tenant: TenantId,
        id: OAuthClientId,
        audit: &AuditContext,
    ) -> StoreResult<OAuthClientRecord> {
        credentials::revoke_client(&self.pool, tenant, id, audit).await
    }

    async fn oauth_client_by_client_id(&self, client_id: &str) -> StoreResult<OAuthClientRecord> {
        credentials::client_by_client_id(&self.pool, client_id).await
    }

    async fn create_access_token(
        &self,
        token_hash: &str,
        token: &AccessTokenRecord,
    ) -> StoreResult<()> {
        credentials::create_token(&self.pool, token_hash, token).await
    }

    async fn access_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<AccessTokenRecord> {
        credentials::token(&self.pool, token_hash, now).await
    }

    async fn append_audit(
        &self,
        scope: &str,
        audit: &AuditContext,
        action: &str,
        target: &str,
        after: Option<serde_json::Value>,
    ) -> StoreResult<AuditEntry> {
        let mut tx = write_tx(&self.pool).await?;
        let entry = audit::append(&mut tx, scope, audit, action, target, None, after).await?;
        tx.commit().await.map_err(crate::error::other)?;
        Ok(entry)
    }

    async fn list_audit(
        &self,
        scope: &str,
        before: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<AuditEntry>> {
        audit::list(&self.pool, scope, before, limit).await
    }

    async fn audit_chain(
        &self,
        scope: &str,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<AuditEntry>> {
        audit::chain(&self.pool, scope, after, limit).await
    }

    async fn audit_scopes(&self) -> StoreResult<Vec<String>> {
        audit::scopes(&self.pool).await
    }

    async fn audit_head(&self, scope: &str) -> StoreResult<Option<(i64, String)>> {
        audit::head(&self.pool, scope).await
    }
}

/// A write transaction. `BEGIN IMMEDIATE` takes SQLite's write lock up
/// front, so what the transaction reads stays true until it commits, and
/// concurrent writers queue on the busy timeout instead of failing.
pub(crate) async fn write_tx(
    pool: &SqlitePool,
) -> StoreResult<sqlx::Transaction<'static, sqlx::Sqlite>> {
    pool.begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(crate::error::other)
}

/// The lower bound for `WHERE id > ?`: the validated cursor, or the empty
/// string, which sorts before every id.
fn cursor(page: &PageRequest) -> StoreResult<String> {
    Ok(storekeep_store::parse_cursor(page)?
        .map(|u| u.to_string())
        .unwrap_or_default())
}
