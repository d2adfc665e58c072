//! The `Store` trait: every read and write of persistent state is one
//! business operation here, implemented once per database
//! (`storekeep-store-sqlite`, `storekeep-store-postgres`).
//!
//! Business code holds an `Arc<dyn Store>` and never learns which database
//! it runs on. Tenant-owned operations take a `TenantId` and filter by it:
//! another tenant's row is `NotFound`, never visible.

pub mod audit;
pub mod catalog;
pub mod commerce;
pub mod gather;
pub mod jobs;
pub mod maintenance;
// i16: customers' rights (export, erasure).
pub mod privacy;
pub mod rentals;
pub mod replica;
pub mod rules;
pub mod sealed;
pub mod webhooks;
// Rental contracts (contracts part).
pub mod contracts;

pub use catalog::CatalogStore;
pub use commerce::{CartToPrice, CommerceStore, TransitionActor};
pub use jobs::JobStore;
pub use privacy::PrivacyStore;
pub use rentals::RentalStore;
pub use sealed::SealedStore;
pub use webhooks::WebhookStore;
// Rental contracts (contracts part).
pub use contracts::ContractStore;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use storekeep_domain::{
    AccessTokenRecord, ApiKeyId, ApiKeyRecord, AuditContext, AuditEntry, DomainName, LoginThrottle,
    NewApiKey, NewOAuthClient, NewPlan, NewSession, NewTenant, OAuthClientId, OAuthClientRecord,
    Page, PageRequest, Plan, PlanLimitsPatch, PlanName, Role, SessionId, SessionRecord, Slug,
    Tenant, TenantId, TenantPatch, UserId, UserKind, UserRecord,
};

/// Which database a store runs on; reported by health and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    Sqlite,
    Postgres,
}

impl DatabaseKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// What went wrong in a store operation, in terms the layers above act on.
/// The variants that wrap a cause say it in their message and do not also
/// give it as `source()`: an error chain (the CLI's `{:#}`, the request
/// log's `error_chain`) would print it twice.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row does not exist (or belongs to another tenant).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The operation is not allowed in the row's current state.
    #[error("{0}")]
    Invalid(&'static str),
    /// A uniqueness rule was broken; `field` names the input that collided.
    #[error("{field} is already taken")]
    Conflict { field: &'static str },
    /// A referenced row does not exist (for example an unknown plan name).
    #[error("{field} refers to something that does not exist")]
    UnknownReference { field: &'static str },
    /// A plan limit would be exceeded; `0` names the limit.
    #[error("the shop's plan allows no more {0}")]
    LimitReached(&'static str),
    /// The pagination cursor was not one this server issued.
    #[error("the pagination cursor is not valid")]
    InvalidCursor,
    /// The database cannot serve the operation now but may shortly: it is
    /// down or restarting, unreachable, out of connections or disk, or read
    /// only. Nothing was committed. The cause is for the log, never shown
    /// to clients; they are told to retry (HTTP 503 with `Retry-After`).
    #[error("database unavailable: {0}")]
    Unavailable(Box<dyn std::error::Error + Send + Sync>),
    /// The database rolled the transaction back to resolve a conflict with
    /// a concurrent one (PostgreSQL's deadlock victim, 40P01, or a
    /// serialization failure, 40001). Nothing was committed and the same
    /// operation may pass if run again; clients are told to retry (HTTP 503
    /// with `Retry-After`), never shown a 500.
    #[error("transaction rolled back by a concurrent one: {0}")]
    Contended(Box<dyn std::error::Error + Send + Sync>),
    /// Anything else that failed (a bug, corrupt data); never shown to
    /// clients.
    #[error("database error: {0}")]
    Other(Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    /// Wraps a failure that is not a database outage. Backends convert
    /// `sqlx` errors with their own `error::other`, which recognises an
    /// unreachable database; this one never does.
    pub fn other(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Other(Box::new(e))
    }

    pub fn unavailable(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Unavailable(e.into())
    }

    /// What each caller of a batch that failed as a whole is told, after
    /// `context`: an outage stays an outage (503, retry), anything else is
    /// a fault. The batches of both backends answer their callers so.
    pub fn for_each_caller(&self, context: &str) -> Self {
        let message = format!("{context}: {self}");
        if self.is_unavailable() {
            Self::unavailable(message)
        } else {
            Self::Other(message.into())
        }
    }

    /// Whether the error is a database outage rather than a refusal or a
    /// fault: the whole unit of work is abandoned, and may be retried.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }

    /// Whether the whole unit of work was abandoned through no fault of its
    /// input and may be retried as it is: an outage, or a transaction rolled
    /// back by a concurrent one.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_) | Self::Contended(_))
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Cursors are the id of the last item seen; anything else is refused the
/// same way on every backend.
pub fn parse_cursor(page: &storekeep_domain::PageRequest) -> StoreResult<Option<uuid::Uuid>> {
    page.after
        .as_deref()
        .map(|a| uuid::Uuid::parse_str(a).map_err(|_| StoreError::InvalidCursor))
        .transpose()
}

/// How a backend sizes its connection pool and bounds waits for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolConfig {
    pub max_connections: u32,
    /// The longest a request waits for a pooled connection (including
    /// opening one) before it fails as `Unavailable`. Also bounds
    /// [`Store::ping`].
    pub acquire_timeout: std::time::Duration,
    /// PostgreSQL: `statement_timeout` of every pooled connection (set
    /// when it opens), `None` for the server's own. SQLite ignores it.
    pub statement_timeout: Option<std::time::Duration>,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: std::time::Duration::from_secs(2),
            statement_timeout: None,
        }
    }
}

/// Connection pool occupancy, exported as metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

/// How the node's checkout batches went since it started, exported as
/// metrics: SQLite's group-commit writer and PostgreSQL's batches
/// (`commerce/batch.rs` in each backend).
#[derive(Debug, Default)]
pub struct BatchCounters {
    /// Batches committed.
    pub batches: std::sync::atomic::AtomicU64,
    /// Checkouts they answered: the orders they created and the checkouts
    /// they refused (on PostgreSQL those refused by their own lines, from
    /// the stock a batch read).
    pub batched: std::sync::atomic::AtomicU64,
    /// Checkouts a batch set aside to run alone (PostgreSQL: a key or
    /// cart taken, a line short behind the batch's other checkouts, a
    /// second use of a key or cart in one batch, a failed batch; SQLite: a batch whose rows could
    /// not be written, retried one checkout at a time).
    pub alone: std::sync::atomic::AtomicU64,
    /// Batches that failed: nothing committed, or (PostgreSQL) a `COMMIT`
    /// whose answer was lost; their checkouts ran alone or were answered
    /// with the error.
    pub failed: std::sync::atomic::AtomicU64,
    /// PostgreSQL: the reads before a checkout or of a cart to price
    /// (`CommerceStore::cart_to_price`) answered by a statement…
    pub cart_reads: std::sync::atomic::AtomicU64,
    /// …and the statements that read them, several reads each when a node
    /// reads at once (`commerce/to_price_reads.rs`).
    pub cart_read_statements: std::sync::atomic::AtomicU64,
}

impl BatchCounters {
    pub fn add(counter: &std::sync::atomic::AtomicU64, n: usize) {
        counter.fetch_add(
            u64::try_from(n).unwrap_or(u64::MAX),
            std::sync::atomic::Ordering::Relaxed,
        );
    }

    pub fn get(counter: &std::sync::atomic::AtomicU64) -> u64 {
        counter.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// State of the embedded migrations in the connected database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    /// Versions embedded in this binary.
    pub known: usize,
    /// Embedded versions successfully applied to the database.
    pub applied: usize,
    /// Versions in the database this binary does not know (a newer binary ran).
    pub unknown_applied: usize,
}

impl MigrationStatus {
    /// Compares the versions embedded in the binary with those the database
    /// records as applied.
    pub fn from_versions(known: &[i64], applied: &[i64]) -> Self {
        Self {
            known: known.len(),
            applied: applied.iter().filter(|v| known.contains(v)).count(),
            unknown_applied: applied.iter().filter(|v| !known.contains(v)).count(),
        }
    }

    pub fn is_current(&self) -> bool {
        self.applied == self.known
    }
}

#[async_trait]
pub trait Store:
    CatalogStore
    + CommerceStore
    + JobStore
    + WebhookStore
    + RentalStore
    + ContractStore
    + SealedStore
    + PrivacyStore
    + Send
    + Sync
    + 'static
{
    fn kind(&self) -> DatabaseKind;

    /// One round trip to the database on the store's own health-check
    /// connection, never queued behind the pool: a busy pool does not make
    /// a healthy database look down, and a dead database is reported within
    /// [`PoolConfig::acquire_timeout`] as `Unavailable`.
    async fn ping(&self) -> StoreResult<()>;

    /// Applies pending migrations. Safe when several nodes start at once:
    /// each backend serialises migrators with a database lock.
    async fn migrate(&self) -> StoreResult<()>;

    async fn migration_status(&self) -> StoreResult<MigrationStatus>;

    fn pool_stats(&self) -> PoolStats;

    /// The read replica's state, `None` without one (SQLite, or no
    /// `database.replica_url`).
    fn replica_status(&self) -> Option<replica::ReplicaStatus> {
        None
    }

    /// The checkout batches' counters, `None` for a store without batches.
    fn checkout_batches(&self) -> Option<&BatchCounters> {
        None
    }

    /// Closes the pool (waiting for connections in use to be returned) and
    /// the health-check connection.
    async fn close(&self);

    // --- plans (platform-level, not tenant-owned)

    async fn create_plan(&self, plan: &NewPlan, audit: &AuditContext) -> StoreResult<Plan>;
    async fn list_plans(&self, page: &PageRequest) -> StoreResult<Page<Plan>>;
    async fn plan_by_name(&self, name: &PlanName) -> StoreResult<Plan>;
    /// Changes some of a plan's limits, audited (`plan.update`, before and
    /// after). `NotFound` for an unknown plan.
    async fn update_plan(
        &self,
        name: &PlanName,
        patch: &PlanLimitsPatch,
        audit: &AuditContext,
    ) -> StoreResult<Plan>;

    // --- tenants (platform-level)

    /// Creates the tenant with its domains in one transaction.
    async fn create_tenant(&self, tenant: &NewTenant, audit: &AuditContext) -> StoreResult<Tenant>;
    async fn list_tenants(&self, page: &PageRequest) -> StoreResult<Page<Tenant>>;
    async fn tenant_by_slug(&self, slug: &Slug) -> StoreResult<Tenant>;
    async fn tenant_by_domain(&self, domain: &DomainName) -> StoreResult<Tenant>;
    /// The shop a background job or event names.
    async fn tenant_by_id(&self, id: TenantId) -> StoreResult<Tenant>;
    /// Applies the patch in one transaction and returns the new state.
    async fn update_tenant(
        &self,
        slug: &Slug,
        patch: &TenantPatch,
        audit: &AuditContext,
    ) -> StoreResult<Tenant>;

    // --- accounts. `tenant: None` is the platform (operators).

    /// Creates an account; a taken email is `Conflict { field: "email" }`.
    /// Staff and operator creation is audited; customer sign-up is not.
    async fn create_user(
        &self,
        user: &UserRecord,
        audit: Option<&AuditContext>,
    ) -> StoreResult<UserRecord>;
    async fn user_by_email(
        &self,
        tenant: Option<TenantId>,
        kind: UserKind,
        email_index: &str,
    ) -> StoreResult<UserRecord>;
    async fn user_by_id(&self, id: UserId) -> StoreResult<UserRecord>;
    async fn list_users(
        &self,
        tenant: TenantId,
        kind: UserKind,
        page: &PageRequest,
    ) -> StoreResult<Page<UserRecord>>;
    /// How many accounts of `kind` the shop has.
    async fn count_users(&self, tenant: TenantId, kind: UserKind) -> StoreResult<i64>;
    /// Writes `new`'s sealed fields (email, name, phone, TOTP secrets) for
    /// a key rotation, only while the stored ones are still all `old`'s:
    /// `false` (nothing written) if the account changed since `old` was
    /// read, or is gone.
    async fn replace_user_sealed(&self, old: &UserRecord, new: &UserRecord) -> StoreResult<bool>;
    /// Every account, for re-sealing under a new key, in id order after `after`.
    async fn users_after(&self, after: Option<UserId>, limit: i64) -> StoreResult<Vec<UserRecord>>;

    // --- login throttling, keyed by (scope, email blind index)

    async fn login_throttle(&self, scope: &str, email_index: &str) -> StoreResult<LoginThrottle>;
    /// Counts a failure; from `free_failures` on, locks for `base_lock`
    /// doubled per further failure (capped at `max_lock`).
    async fn record_login_failure(
        &self,
        scope: &str,
        email_index: &str,
        free_failures: i64,
        base_lock: chrono::Duration,
        max_lock: chrono::Duration,
    ) -> StoreResult<LoginThrottle>;
    async fn clear_login_failures(&self, scope: &str, email_index: &str) -> StoreResult<()>;

    // --- sessions

    /// Stores a new session; `NotFound` when the account is erased (or
    /// gone), checked in the same statement (docs/privacy.md).
    async fn create_session(&self, session: &NewSession) -> StoreResult<SessionRecord>;
    /// A live (unexpired, unrevoked) session and its account.
    async fn session_by_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<(SessionRecord, UserRecord)>;
    /// Records activity and the new expiry; the caller throttles how often.
    async fn touch_session(
        &self,
        id: SessionId,
        at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn list_sessions(
        &self,
        user: UserId,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<SessionRecord>>;
    /// Revokes one of `user`'s sessions; someone else's is `NotFound`.
    async fn revoke_session(&self, user: UserId, id: SessionId) -> StoreResult<()>;
    /// Revokes all of `user`'s sessions; returns how many.
    async fn revoke_sessions(&self, user: UserId) -> StoreResult<u64>;
    /// Revokes all of `user`'s sessions but `keep`; returns how many.
    async fn revoke_other_sessions(&self, user: UserId, keep: SessionId) -> StoreResult<u64>;

    // --- the second step of a sign-in with MFA

    /// Stores a pending sign-in challenge; the account's expired or used
    /// ones are deleted in the same transaction.
    async fn create_sign_in_challenge(
        &self,
        challenge: &storekeep_domain::NewSignInChallenge,
    ) -> StoreResult<()>;
    /// Claims one code attempt of a live challenge — its token hash, of
    /// shop `tenant` (`None`: the platform), unused, unexpired at `now`,
    /// with fewer than `max_attempts` attempts — counting it atomically, so
    /// concurrent guesses each spend one; the account it belongs to and
    /// the attempts counted so far, this one included.
    /// Anything else is `NotFound`.
    async fn claim_sign_in_challenge(
        &self,
        token_hash: &str,
        tenant: Option<TenantId>,
        now: DateTime<Utc>,
        max_attempts: i64,
    ) -> StoreResult<(UserId, i64)>;
    /// Marks a challenge used (single use): `NotFound` if it already was,
    /// or expired at `now`.
    async fn use_sign_in_challenge(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<()>;

    // --- MFA

    async fn set_totp_pending(&self, user: UserId, sealed: Option<&str>) -> StoreResult<()>;
    /// Turns the pending secret into the active one and stores the recovery
    /// code hashes, replacing any earlier ones.
    async fn enable_totp(
        &self,
        user: UserId,
        sealed: &str,
        step: i64,
        recovery_hashes: &[String],
        audit: &AuditContext,
    ) -> StoreResult<()>;
    async fn disable_totp(&self, user: UserId, audit: &AuditContext) -> StoreResult<()>;
    /// Gives the staff member `user` of `tenant` the role `role` (audited
    /// `staff.role_change`, before and after); `NotFound` if `user` is not
    /// one of the shop's staff, `Invalid` (a 409) if it would take the
    /// owner role from the shop's last owner. Giving the role it already
    /// holds changes and records nothing. With `expect`, the member must
    /// hold that role when the change is made (read under the write's
    /// lock), else `Invalid` (a 409): the caller checked its right to change
    /// the member against that role, and it may have changed meanwhile.
    async fn set_staff_role(
        &self,
        tenant: TenantId,
        user: UserId,
        expect: Option<Role>,
        role: Role,
        audit: &AuditContext,
    ) -> StoreResult<UserRecord>;
    /// Records the step of an accepted code; fails with `Invalid` if a code
    /// at or after that step was already used (concurrent replay).
    async fn use_totp_step(&self, user: UserId, step: i64) -> StoreResult<()>;
    /// Marks a recovery code used; `false` if it was unknown or used.
    async fn use_recovery_code(&self, user: UserId, code_hash: &str) -> StoreResult<bool>;

    // --- password reset

    /// Stores a reset token and enqueues `email`, the job that sends it,
    /// in one transaction: both or neither; the job's id.
    async fn create_password_reset(
        &self,
        user: UserId,
        token_hash: &str,
        expires_at: DateTime<Utc>,
        email: &storekeep_domain::NewJob,
    ) -> StoreResult<storekeep_domain::JobId>;
    /// Consumes a live reset token: sets the password, ends every session
    /// and clears the lockout, atomically. Unknown, used or expired → `NotFound`.
    async fn reset_password(
        &self,
        token_hash: &str,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<UserRecord>;
    /// Sets a new password and ends every session.
    async fn set_password(
        &self,
        user: UserId,
        password_hash: &str,
        audit: Option<&AuditContext>,
    ) -> StoreResult<()>;

    // --- API keys and OAuth clients (tenant-owned)

    async fn create_api_key(
        &self,
        key: &NewApiKey,
        audit: &AuditContext,
    ) -> StoreResult<ApiKeyRecord>;
    async fn list_api_keys(
        &self,
        tenant: TenantId,
        page: &PageRequest,
    ) -> StoreResult<Page<ApiKeyRecord>>;
    async fn revoke_api_key(
        &self,
        tenant: TenantId,
        id: ApiKeyId,
        audit: &AuditContext,
    ) -> StoreResult<ApiKeyRecord>;
    /// The key with this hash, revoked or not.
    async fn api_key_by_hash(&self, key_hash: &str) -> StoreResult<ApiKeyRecord>;
    async fn touch_api_key(&self, id: ApiKeyId, at: DateTime<Utc>) -> StoreResult<()>;

    async fn create_oauth_client(
        &self,
        client: &NewOAuthClient,
        audit: &AuditContext,
    ) -> StoreResult<OAuthClientRecord>;
    async fn list_oauth_clients(
        &self,
        tenant: TenantId,
        page: &PageRequest,
    ) -> StoreResult<Page<OAuthClientRecord>>;
    /// Revokes the client and every token issued to it.
    async fn revoke_oauth_client(
        &self,
        tenant: TenantId,
        id: OAuthClientId,
        audit: &AuditContext,
    ) -> StoreResult<OAuthClientRecord>;
    async fn oauth_client_by_client_id(&self, client_id: &str) -> StoreResult<OAuthClientRecord>;
    async fn create_access_token(
        &self,
        token_hash: &str,
        token: &AccessTokenRecord,
    ) -> StoreResult<()>;
    /// A live token of an unrevoked client.
    async fn access_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<AccessTokenRecord>;

    // --- audit log

    /// Appends an entry for an action that has no other record.
    async fn append_audit(
        &self,
        scope: &str,
        audit: &AuditContext,
        action: &str,
        target: &str,
        after: Option<serde_json::Value>,
    ) -> StoreResult<AuditEntry>;
    /// Newest first, entries with `seq < before`.
    async fn list_audit(
        &self,
        scope: &str,
        before: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<AuditEntry>>;
    /// Newest first, entries with `seq < before` that `filter` lets
    /// through, at most `limit`. Index-backed at any size: an actor or an
    /// action is an index range ordered by `seq`, and a time span becomes
    /// a `seq` range (times grow with `seq` within a chain), its bounds
    /// found through an index on `(scope, at)`.
    async fn search_audit(
        &self,
        scope: &str,
        filter: &storekeep_domain::AuditFilter,
        before: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<AuditEntry>>;
    /// One scope's whole chain in order, `seq > after`, for verification.
    async fn audit_chain(
        &self,
        scope: &str,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<AuditEntry>>;
    /// Every scope that has entries.
    async fn audit_scopes(&self) -> StoreResult<Vec<String>>;
    /// The last entry's `(seq, hash)` as recorded when it was appended.
    async fn audit_head(&self, scope: &str) -> StoreResult<Option<(i64, String)>>;
}

/// The current time at the precision both databases keep (microseconds),
/// so a value written and read back compares equal.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(6)
}
