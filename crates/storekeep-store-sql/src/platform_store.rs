//! [`impl_store!`]: the `Store` methods of plans, tenants, accounts,
//! sessions, credentials and the audit log, which both backends implement
//! alike: plans, tenants, accounts, sessions and credentials by calling
//! the generic functions of this crate (`plans`, `tenants`,
//! `identity::{accounts, sessions, access}`) with the backend's
//! [`Backend`](crate::backend::Backend) type, the audit log by calling the
//! backend's twin module (`audit`). A backend writes only what differs: its kind,
//! health, migrations, pool and shutdown.

/// `impl Store for $store` (with `#[async_trait]`): the methods given in
/// braces (what differs between backends) and, for the rest, a call to the
/// generic function of the same name with `$backend` (the backend's
/// `Backend` impl) or to the backend's twin module function (`$krate` is
/// `crate`, the backend, whose store has a `pool` field).
#[macro_export]
macro_rules! impl_store {
    ($store:ty, $krate:tt, $backend:ty { $($own:tt)* }) => {
        #[::async_trait::async_trait]
        impl ::storekeep_store::Store for $store {
            $($own)*

            async fn create_plan(&self, plan: &::storekeep_domain::NewPlan, audit: &::storekeep_domain::AuditContext) -> ::storekeep_store::StoreResult<::storekeep_domain::Plan> {
                $crate::plans::create::<$backend>(&self.pool, plan, audit).await
            }

            async fn list_plans(&self, page: &::storekeep_domain::PageRequest) -> ::storekeep_store::StoreResult<::storekeep_domain::Page<::storekeep_domain::Plan>> {
                $crate::plans::list::<$backend>(&self.pool, page).await
            }

            async fn plan_by_name(&self, name: &::storekeep_domain::PlanName) -> ::storekeep_store::StoreResult<::storekeep_domain::Plan> {
                $crate::plans::by_name::<$backend>(&self.pool, name).await
            }

            async fn update_plan(
                &self,
                name: &::storekeep_domain::PlanName,
                patch: &::storekeep_domain::PlanLimitsPatch,
                audit: &::storekeep_domain::AuditContext,
            ) -> ::storekeep_store::StoreResult<::storekeep_domain::Plan> {
                $crate::plans::update::<$backend>(&self.pool, name, patch, audit).await
            }

            async fn create_tenant(&self, tenant: &::storekeep_domain::NewTenant, audit: &::storekeep_domain::AuditContext) -> ::storekeep_store::StoreResult<::storekeep_domain::Tenant> {
                $crate::tenants::create::<$backend>(&self.pool, tenant, audit).await
            }

            async fn list_tenants(&self, page: &::storekeep_domain::PageRequest) -> ::storekeep_store::StoreResult<::storekeep_domain::Page<::storekeep_domain::Tenant>> {
                $crate::tenants::list::<$backend>(&self.pool, page).await
            }

            async fn tenant_by_slug(&self, slug: &::storekeep_domain::Slug) -> ::storekeep_store::StoreResult<::storekeep_domain::Tenant> {
                $crate::tenants::by_slug::<$backend>(&self.pool, slug).await
            }

            async fn tenant_by_id(&self, id: ::storekeep_domain::TenantId) -> ::storekeep_store::StoreResult<::storekeep_domain::Tenant> {
                $crate::tenants::by_id::<$backend>(&self.pool, id).await
            }

            async fn tenant_by_domain(&self, domain: &::storekeep_domain::DomainName) -> ::storekeep_store::StoreResult<::storekeep_domain::Tenant> {
                $crate::tenants::by_domain::<$backend>(&self.pool, domain).await
            }

            async fn update_tenant(
                &self,
                slug: &::storekeep_domain::Slug,
                patch: &::storekeep_domain::TenantPatch,
                audit: &::storekeep_domain::AuditContext,
            ) -> ::storekeep_store::StoreResult<::storekeep_domain::Tenant> {
                $crate::tenants::update::<$backend>(&self.pool, slug, patch, audit).await
            }

            async fn create_user(
                &self,
                user: &::storekeep_domain::UserRecord,
                audit: Option<&::storekeep_domain::AuditContext>,
            ) -> ::storekeep_store::StoreResult<::storekeep_domain::UserRecord> {
                $crate::identity::accounts::create::<$backend>(&self.pool, user, audit).await
            }

            async fn user_by_email(
                &self,
                tenant: Option<::storekeep_domain::TenantId>,
                kind: ::storekeep_domain::UserKind,
                email_index: &str,
            ) -> ::storekeep_store::StoreResult<::storekeep_domain::UserRecord> {
                $crate::identity::accounts::by_email::<$backend>(&self.pool, tenant, kind, email_index).await
            }

            async fn user_by_id(&self, id: ::storekeep_domain::UserId) -> ::storekeep_store::StoreResult<::storekeep_domain::UserRecord> {
                $crate::identity::accounts::by_id::<$backend>(&self.pool, id).await
            }

            async fn list_users(
                &self,
                tenant: ::storekeep_domain::TenantId,
                kind: ::storekeep_domain::UserKind,
                page: &::storekeep_domain::PageRequest,
            ) -> ::storekeep_store::StoreResult<::storekeep_domain::Page<::storekeep_domain::UserRecord>> {
                $crate::identity::accounts::list::<$backend>(&self.pool, tenant, kind, page).await
            }

            async fn count_users(&self, tenant: ::storekeep_domain::TenantId, kind: ::storekeep_domain::UserKind) -> ::storekeep_store::StoreResult<i64> {
                $crate::identity::accounts::count::<$backend>(&self.pool, tenant, kind).await
            }

            async fn replace_user_sealed(
                &self,
                old: &::storekeep_domain::UserRecord,
                new: &::storekeep_domain::UserRecord,
            ) -> ::storekeep_store::StoreResult<bool> {
                $crate::identity::accounts::replace_sealed::<$backend>(&self.pool, old, new).await
            }

            async fn users_after(&self, after: Option<::storekeep_domain::UserId>, limit: i64) -> ::storekeep_store::StoreResult<Vec<::storekeep_domain::UserRecord>> {
                $crate::identity::accounts::after::<$backend>(&self.pool, after, limit).await
            }

            async fn login_throttle(&self, scope: &str, email_index: &str) -> ::storekeep_store::StoreResult<::storekeep_domain::LoginThrottle> {
                $crate::identity::accounts::throttle::<$backend>(&self.pool, scope, email_index).await
            }

            async fn record_login_failure(
                &self,
                scope: &str,
                email_index: &str,
                free_failures: i64,
                base_lock: ::chrono::Duration,
                max_lock: ::chrono::Duration,
            ) -> ::storekeep_store::StoreResult<::storekeep_domain::LoginThrottle> {
                let at = ::storekeep_store::now();
                $crate::identity::accounts::record_failure::<$backend>(&self.pool, scope, email_index, |failures| {
                    ::storekeep_store::rules::identity::lock_until(
                        failures,
                        free_failures,
                        base_lock,
                        max_lock,
                        at,
                    )
                })
                .await
            }

            async fn clear_login_failures(&self, scope: &str, email_index: &str) -> ::storekeep_store::StoreResult<()> {
                $crate::identity::accounts::clear_failures::<$backend>(&self.pool, scope, email_index).await
            }

            async fn create_session(&self, session: &::storekeep_domain::NewSession) -> ::storekeep_store::StoreResult<::storekeep_domain::SessionRecord> {
                $crate::identity::sessions::create::<$backend>(&self.pool, session).await
            }

            async fn session_by_token(
                &self,
                token_hash: &str,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::storekeep_store::StoreResult<(::storekeep_domain::SessionRecord, ::storekeep_domain::UserRecord)> {
                $crate::identity::sessions::by_token::<$backend>(&self.pool, token_hash, now).await
            }

            async fn touch_session(
                &self,
                id: ::storekeep_domain::SessionId,
                at: ::chrono::DateTime<::chrono::Utc>,
                expires_at: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::storekeep_store::StoreResult<()> {
                $crate::identity::sessions::touch_session::<$backend>(&self.pool, id, at, expires_at).await
            }

            async fn list_sessions(
                &self,
                user: ::storekeep_domain::UserId,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::storekeep_store::StoreResult<Vec<::storekeep_domain::SessionRecord>> {
                $crate::identity::sessions::list::<$backend>(&self.pool, user, now).await
            }

            async fn revoke_session(&self, user: ::storekeep_domain::UserId, id: ::storekeep_domain::SessionId) -> ::storekeep_store::StoreResult<()> {
                $crate::identity::sessions::revoke_one::<$backend>(&self.pool, user, id).await
            }

            async fn revoke_sessions(&self, user: ::storekeep_domain::UserId) -> ::storekeep_store::StoreResult<u64> {
                $crate::identity::sessions::revoke_every::<$backend>(&self.pool, user).await
            }

            async fn revoke_other_sessions(&self, user: ::storekeep_domain::UserId, keep: ::storekeep_domain::SessionId) -> ::storekeep_store::StoreResult<u64> {
                $crate::identity::sessions::revoke_all_but::<$backend>(&self.pool, user, keep).await
            }

            async fn create_sign_in_challenge(&self, challenge: &::storekeep_domain::NewSignInChallenge) -> ::storekeep_store::StoreResult<()> {
                $crate::identity::challenges::create::<$backend>(&self.pool, challenge).await
            }

            async fn claim_sign_in_challenge(
                &self,
                token_hash: &str,
                tenant: Option<::storekeep_domain::TenantId>,
                now: ::chrono::DateTime<::chrono::Utc>,
                max_attempts: i64,
            ) -> ::storekeep_store::StoreResult<(::storekeep_domain::UserId, i64)> {
                $crate::identity::challenges::claim::<$backend>(&self.pool, token_hash, tenant, now, max_attempts).await
            }

            async fn use_sign_in_challenge(&self, token_hash: &str, now: ::chrono::DateTime<::chrono::Utc>) -> ::storekeep_store::StoreResult<()> {
                $crate::identity::challenges::use_one::<$backend>(&self.pool, token_hash, now).await
            }

            async fn set_totp_pending(&self, user: ::storekeep_domain::UserId, sealed: Option<&str>) -> ::storekeep_store::StoreResult<()> {
                $crate::identity::accounts::set_totp_pending::<$backend>(&self.pool, user, sealed).await
            }

            async fn enable_totp(
                &self,
                user: ::storekeep_domain::UserId,
                sealed: &str,
                step: i64,
                recovery_hashes: &[String],
                audit: &::storekeep_domain::AuditContext,
            ) -> ::storekeep_store::StoreResult<()> {
                $crate::identity::accounts::enable_totp::<$backend>(&self.pool, user, sealed, step, recovery_hashes, audit).await
            }

            async fn disable_totp(&self, user: ::storekeep_domain::UserId, audit: &::storekeep_domain::AuditContext) -> ::storekeep_store::StoreResult<()> {
                $crate::identity::accounts::disable_totp::<$backend>(&self.pool, user, audit).await
            }

            async fn set_staff_role(
                &self,
                tenant: ::storekeep_domain::TenantId,
                user: ::storekeep_domain::UserId,
                expect: Option<::storekeep_domain::Role>,
                role: ::storekeep_domain::Role,
                audit: &::storekeep_domain::AuditContext,
            ) -> ::storekeep_store::StoreResult<::storekeep_domain::UserRecord> {
                $crate::identity::accounts::set_staff_role::<$backend>(&self.pool, tenant, user, expect, role, audit).await
            }

            async fn use_totp_step(&self, user: ::storekeep_domain::UserId, step: i64) -> ::storekeep_store::StoreResult<()> {
                $crate::identity::accounts::use_totp_step::<$backend>(&self.pool, user, step).await
            }

            async fn use_recovery_code(&self, user: ::storekeep_domain::UserId, code_hash: &str) -> ::storekeep_store::StoreResult<bool> {
                $crate::identity::accounts::use_recovery_code::<$backend>(&self.pool, user, code_hash).await
            }

            async fn create_password_reset(
                &self,
                user: ::storekeep_domain::UserId,
                token_hash: &str,
                expires_at: ::chrono::DateTime<::chrono::Utc>,
                email: &::storekeep_domain::NewJob,
            ) -> ::storekeep_store::StoreResult<::storekeep_domain::JobId> {
                $crate::identity::accounts::create_reset::<$backend>(&self.pool, user, token_hash, expires_at, email).await
            }

            async fn reset_password(
                &self,
                token_hash: &str,
                password_hash: &str,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::storekeep_store::StoreResult<::storekeep_domain::UserRecord> {
                $crate::identity::accounts::reset_password::<$backend>(&self.pool, token_hash, password_hash, now).await
            }

            async fn set_password(
                &self,
                user: ::storekeep_domain::UserId,
                password_hash: &str,
                audit: Option<&::storekeep_domain::AuditContext>,
            ) -> ::storekeep_store::StoreResult<()> {
                $crate::identity::accounts::set_password::<$backend>(&self.pool, user, password_hash, audit).await
            }

            async fn create_api_key(
                &self,
                key: &::storekeep_domain::NewApiKey,
                audit: &::storekeep_domain::AuditContext,
            ) -> ::storekeep_store::StoreResult<::storekeep_domain::ApiKeyRecord> {
                $crate::identity::access::create_api_key::<$backend>(&self.pool, key, audit).await
            }

            async fn list_api_keys(
                &self,
                tenant: ::storekeep_domain::TenantId,
                page: &::storekeep_domain::PageRequest,
            ) -> ::storekeep_store::StoreResult<::storekeep_domain::Page<::storekeep_domain::ApiKeyRecord>> {
                $crate::identity::access::list_api_keys::<$backend>(&self.pool, tenant, page).await
            }

            async fn revoke_api_key(
                &self,
                tenant: ::storekeep_domain::TenantId,
                id: ::storekeep_domain::ApiKeyId,
                audit: &::storekeep_domain::AuditContext,
            ) -> ::storekeep_store::StoreResult<::storekeep_domain::ApiKeyRecord> {
                $crate::identity::access::revoke_api_key::<$backend>(&self.pool, tenant, id, audit).await
            }

            async fn api_key_by_hash(&self, key_hash: &str) -> ::storekeep_store::StoreResult<::storekeep_domain::ApiKeyRecord> {
                $crate::identity::access::api_key_by_hash::<$backend>(&self.pool, key_hash).await
            }

            async fn touch_api_key(&self, id: ::storekeep_domain::ApiKeyId, at: ::chrono::DateTime<::chrono::Utc>) -> ::storekeep_store::StoreResult<()> {
                $crate::identity::access::touch_api_key::<$backend>(&self.pool, id, at).await
            }

            async fn create_oauth_client(
                &self,
                client: &::storekeep_domain::NewOAuthClient,
                audit: &::storekeep_domain::AuditContext,
            ) -> ::storekeep_store::StoreResult<::storekeep_domain::OAuthClientRecord> {
                $crate::identity::access::create_client::<$backend>(&self.pool, client, audit).await
            }

            async fn list_oauth_clients(
                &self,
                tenant: ::storekeep_domain::TenantId,
                page: &::storekeep_domain::PageRequest,
            ) -> ::storekeep_store::StoreResult<::storekeep_domain::Page<::storekeep_domain::OAuthClientRecord>> {
                $crate::identity::access::list_clients::<$backend>(&self.pool, tenant, page).await
            }

            async fn revoke_oauth_client(
                &self,
                tenant: ::storekeep_domain::TenantId,
                id: ::storekeep_domain::OAuthClientId,
                audit: &::storekeep_domain::AuditContext,
            ) -> ::storekeep_store::StoreResult<::storekeep_domain::OAuthClientRecord> {
                $crate::identity::access::revoke_client::<$backend>(&self.pool, tenant, id, audit).await
            }

            async fn oauth_client_by_client_id(&self, client_id: &str) -> ::storekeep_store::StoreResult<::storekeep_domain::OAuthClientRecord> {
                $crate::identity::access::client_by_client_id::<$backend>(&self.pool, client_id).await
            }

            async fn create_access_token(
                &self,
                token_hash: &str,
                token: &::storekeep_domain::AccessTokenRecord,
            ) -> ::storekeep_store::StoreResult<()> {
                $crate::identity::access::create_token::<$backend>(&self.pool, token_hash, token).await
            }

            async fn access_token(
                &self,
                token_hash: &str,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::storekeep_store::StoreResult<::storekeep_domain::AccessTokenRecord> {
                $crate::identity::access::token::<$backend>(&self.pool, token_hash, now).await
            }

            async fn append_audit(
                &self,
                scope: &str,
                audit: &::storekeep_domain::AuditContext,
                action: &str,
                target: &str,
                after: Option<::serde_json::Value>,
            ) -> ::storekeep_store::StoreResult<::storekeep_domain::AuditEntry> {
                let mut tx = $krate::write_tx(&self.pool).await?;
                let entry = $krate::audit::append(&mut tx, scope, audit, action, target, None, after).await?;
                tx.commit().await.map_err($krate::error::other)?;
                Ok(entry)
            }

            async fn list_audit(
                &self,
                scope: &str,
                before: Option<i64>,
                limit: i64,
            ) -> ::storekeep_store::StoreResult<Vec<::storekeep_domain::AuditEntry>> {
                $krate::audit::list(&self.pool, scope, before, limit).await
            }

            async fn search_audit(
                &self,
                scope: &str,
                filter: &::storekeep_domain::AuditFilter,
                before: Option<i64>,
                limit: i64,
            ) -> ::storekeep_store::StoreResult<Vec<::storekeep_domain::AuditEntry>> {
                $crate::audit::search::<$backend>(&self.pool, scope, filter, before, limit).await
            }

            async fn audit_chain(
                &self,
                scope: &str,
                after: i64,
                limit: i64,
            ) -> ::storekeep_store::StoreResult<Vec<::storekeep_domain::AuditEntry>> {
                $krate::audit::chain(&self.pool, scope, after, limit).await
            }

            async fn audit_scopes(&self) -> ::storekeep_store::StoreResult<Vec<String>> {
                $krate::audit::scopes(&self.pool).await
            }

            async fn audit_head(&self, scope: &str) -> ::storekeep_store::StoreResult<Option<(i64, String)>> {
                $krate::audit::head(&self.pool, scope).await
            }
        }
    };
}
