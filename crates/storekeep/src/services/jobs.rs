//! Background jobs for operators: list, show, retry and discard, scoped to
//! one shop (staff) or to every shop (platform operators, the CLI).

use storekeep_domain::{Job, JobFilter, JobId, JobState, Page, PageRequest, TenantId};

use storekeep_store::Store;

use super::{ServiceError, ServiceResult, Services};

/// Parses list filters (`state` must name a state, `tenant` an id); an
/// empty value filters nothing, as if left out.
pub fn filter(
    queue: Option<String>,
    state: Option<&str>,
    kind: Option<String>,
    tenant: Option<&str>,
) -> ServiceResult<JobFilter> {
    let (queue, kind) = (
        queue.filter(|q| !q.is_empty()),
        kind.filter(|k| !k.is_empty()),
    );
    let (state, tenant) = (
        state.filter(|s| !s.is_empty()),
        tenant.filter(|t| !t.is_empty()),
    );
    let state = state
        .map(|s| {
            JobState::parse(s).ok_or_else(|| {
                ServiceError::BadRequest(
                    "state must be one of available, running, retryable, completed, dead, discarded"
                        .into(),
                )
            })
        })
        .transpose()?;
    let tenant = tenant
        .map(|t| {
            t.parse::<TenantId>()
                .map_err(|_| ServiceError::BadRequest("tenant is not a shop id".into()))
        })
        .transpose()?;
    Ok(JobFilter {
        queue,
        state,
        kind,
        tenant,
    })
}

/// A page of jobs, newest first: `scope`'s only if given.
pub async fn list(
    svc: &Services,
    scope: Option<TenantId>,
    filter: &JobFilter,
    page: &PageRequest,
) -> ServiceResult<Page<Job>> {
    list_in(svc.store.as_ref(), scope, filter, page).await
}

pub async fn get(svc: &Services, scope: Option<TenantId>, id: JobId) -> ServiceResult<Job> {
    get_in(svc.store.as_ref(), scope, id).await
}

/// Makes a dead, discarded or retryable job run again now (attempts
/// counted afresh) and wakes its queue on this node; any other state is a
/// conflict.
pub async fn retry(svc: &Services, scope: Option<TenantId>, id: JobId) -> ServiceResult<Job> {
    let job = retry_in(svc.store.as_ref(), scope, id).await?;
    svc.jobs.wake(&job.queue);
    Ok(job)
}

/// Gives up a waiting or dead job; a running or finished one is a
/// conflict.
pub async fn discard(svc: &Services, scope: Option<TenantId>, id: JobId) -> ServiceResult<Job> {
    discard_in(svc.store.as_ref(), scope, id).await
}

// The same on a bare store, for the CLI (a running server's workers find a
// retried job at their next poll).

pub async fn list_in(
    store: &dyn Store,
    scope: Option<TenantId>,
    filter: &JobFilter,
    page: &PageRequest,
) -> ServiceResult<Page<Job>> {
    Ok(store.list_jobs(scope, filter, page).await?)
}

pub async fn get_in(store: &dyn Store, scope: Option<TenantId>, id: JobId) -> ServiceResult<Job> {
    Ok(store.job(scope, id).await?)
}

pub async fn retry_in(store: &dyn Store, scope: Option<TenantId>, id: JobId) -> ServiceResult<Job> {
    Ok(store.retry_job(scope, id).await?)
}

pub async fn discard_in(
    store: &dyn Store,
    scope: Option<TenantId>,
    id: JobId,
) -> ServiceResult<Job> {
    Ok(store.discard_job(scope, id).await?)
}
