//! Background product imports (the console's CSV upload): the file is
//! checked as a whole (its header, every row parsed as today's synchronous
//! import does), stored in the media object store under
//! `imports/<tenant>/<import id>.<format>`, recorded as a queued
//! `product_imports` row and handed to a [`JOB`] job, which imports it in
//! batches of [`IMPORT_BATCH`] through [`bulk::import`] and records its
//! progress after each batch, then the row errors and `done` (or `failed`
//! with why). The stored file is deleted when the import ends.
//!
//! A retried job (after a crash or a store outage) starts the file again
//! from its first row: the import is an upsert by handle (variants by
//! SKU), so nothing is doubled; the rows the first attempt created count
//! as updated the second time. When the job's last attempt fails too
//! ([`give_up`]), the import ends `failed` with the last error and the file
//! is deleted (or, if storage is still down, when the dead job is retried).

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use storekeep_domain::{
    AuditContext, ImportProgress, ImportRowError, NewJob, NewProductImport, Page, PageRequest,
    ProductImport, ProductImportId, Tenant, TenantId,
};
use storekeep_store::catalog::IMPORT_BATCH;

use super::bulk::{self, Format, ImportError, MAX_REPORTED_ERRORS};
use super::{ServiceError, ServiceResult, Services};

/// The job kind that runs one import.
pub const JOB: &str = "catalog.import";
/// The queue it runs on.
pub const QUEUE: &str = "default";

/// What a [`JOB`] job carries.
#[derive(Debug, Serialize, Deserialize)]
pub struct ImportJob {
    pub import: ProductImportId,
}

/// Why an upload is refused before anything is stored.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The file cannot be imported at all (no header, an unknown column):
    /// the message is for the person who chose it.
    #[error("{0}")]
    Unreadable(String),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

fn key_of(tenant: TenantId, id: ProductImportId, format: Format) -> String {
    let ext = match format {
        Format::Csv => "csv",
        Format::JsonLines => "jsonl",
    };
    format!("imports/{tenant}/{id}.{ext}")
}

fn format_name(format: Format) -> &'static str {
    match format {
        Format::Csv => "csv",
        Format::JsonLines => "jsonl",
    }
}

/// Checks `bytes` as a whole, stores them, records the import and queues
/// its job. An unreadable file stores nothing.
pub async fn start(
    svc: &Services,
    tenant: &Tenant,
    format: Format,
    bytes: Bytes,
    audit: &AuditContext,
) -> Result<ProductImport, StartError> {
    match bulk::read_rows(&bytes[..], format, &tenant.settings.currency) {
        Ok(_) => {}
        Err(ImportError::Format(m)) => return Err(StartError::Unreadable(m)),
        Err(ImportError::Store(e)) => return Err(ServiceError::from(e).into()),
    }
    let id = ProductImportId::new();
    let key = key_of(tenant.id, id, format);
    svc.media
        .put(&key, bytes)
        .await
        .map_err(ServiceError::from)?;
    let new = NewProductImport {
        id,
        format: format_name(format).into(),
        object_key: key.clone(),
        created_by: audit.actor.clone(),
    };
    let import = match svc.store.create_product_import(tenant.id, &new).await {
        Ok(i) => i,
        Err(e) => {
            forget(svc, &key).await;
            return Err(ServiceError::from(e).into());
        }
    };
    let job = NewJob {
        kind: JOB.into(),
        queue: QUEUE.into(),
        tenant: Some(tenant.id),
        payload: serde_json::to_value(ImportJob { import: id }).expect("a job payload"),
        priority: 0,
        run_at: None,
        max_attempts: None,
        unique_key: Some(format!("{JOB}:{id}")),
    };
    if let Err(e) = svc.jobs.enqueue(job).await {
        let _ = svc
            .store
            .fail_product_import(tenant.id, id, "the import could not be queued")
            .await;
        forget(svc, &key).await;
        return Err(ServiceError::from(e).into());
    }
    Ok(import)
}

pub async fn get(
    svc: &Services,
    tenant: TenantId,
    id: ProductImportId,
) -> ServiceResult<ProductImport> {
    Ok(svc.store.product_import(tenant, id).await?)
}

/// The shop's imports, newest first.
pub async fn list(
    svc: &Services,
    tenant: TenantId,
    page: &PageRequest,
) -> ServiceResult<Page<ProductImport>> {
    Ok(svc.store.list_product_imports(tenant, page).await?)
}

/// Deletes a stored file, logging (not failing on) a storage error: the
/// import's outcome is already recorded.
async fn forget(svc: &Services, key: &str) {
    if let Err(e) = svc.media.delete(key).await {
        tracing::warn!(key, error = %e, "an import's stored file could not be deleted");
    }
}

/// Ends the import `id` as `failed` with `message` after its job's last
/// attempt, and deletes its stored file. Best effort: what caused the
/// attempts to fail (the store or the object store down) may still be
/// there, so an error is logged, not returned; the dead job's retry
/// finishes the clean-up ([`run`] deletes the file of a final import).
pub async fn give_up(svc: &Services, tenant: TenantId, id: ProductImportId, message: &str) {
    match svc.store.product_import(tenant, id).await {
        Ok(import) => {
            if !import.status.is_final()
                && let Err(e) = svc.store.fail_product_import(tenant, id, message).await
            {
                tracing::warn!(import = %id, error = %e, "a given-up import could not be marked failed");
            }
            forget(svc, &import.object_key).await;
        }
        Err(storekeep_store::StoreError::NotFound(_)) => {}
        Err(e) => {
            tracing::warn!(import = %id, error = %e, "a given-up import could not be read");
        }
    }
}

/// Why a run stopped short of an outcome: the job should try again.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Retry(pub String);

/// Runs the import `id` of `tenant` (the job's work). Ends `done` or
/// `failed` (and the stored file deleted); `Err` only for a passing fault
/// (the store or the object store unavailable), which the job retries.
pub async fn run(svc: &Services, tenant: TenantId, id: ProductImportId) -> Result<(), Retry> {
    let retry = |e: &dyn std::fmt::Display| Retry(e.to_string());
    let import = match svc.store.product_import(tenant, id).await {
        Ok(i) => i,
        // Gone with its shop: nothing to do.
        Err(storekeep_store::StoreError::NotFound(_)) => return Ok(()),
        Err(e) => return Err(retry(&e)),
    };
    if import.status.is_final() {
        forget(svc, &import.object_key).await;
        return Ok(());
    }
    let key = import.object_key.clone();
    let fail = async |message: String| -> Result<(), Retry> {
        svc.store
            .fail_product_import(tenant, id, &message)
            .await
            .map_err(|e| retry(&e))?;
        forget(svc, &key).await;
        Ok(())
    };
    let shop = match svc.store.tenant_by_id(tenant).await {
        Ok(t) => t,
        Err(storekeep_store::StoreError::NotFound(_)) => return Ok(()),
        Err(e) => return Err(retry(&e)),
    };
    let bytes = match svc.media.get(&key).await {
        Ok(Some(b)) => b,
        Ok(None) => return fail("the uploaded file is no longer in storage".into()).await,
        Err(e) => return Err(retry(&e)),
    };
    let format = Format::parse(&import.format).unwrap_or(Format::Csv);
    let rows = match bulk::read_rows(&bytes[..], format, &shop.settings.currency) {
        Ok(r) => r,
        Err(ImportError::Format(m)) => {
            return fail(format!("the file cannot be imported: {m}")).await;
        }
        Err(ImportError::Store(e)) => return Err(retry(&e)),
    };
    drop(bytes);
    let audit = AuditContext {
        actor: import.created_by.clone(),
        ip: None,
        request_id: Some(format!("import:{id}")),
    };
    let mut progress = ImportProgress {
        total_rows: Some(rows.len() as i64),
        ..ImportProgress::default()
    };
    let mut errors: Vec<ImportRowError> = Vec::new();
    let mut listed_rows = 0usize;
    svc.store
        .record_product_import_progress(tenant, id, &progress)
        .await
        .map_err(|e| retry(&e))?;
    for chunk in rows.chunks(IMPORT_BATCH) {
        let report = match bulk::import(
            svc.store.as_ref(),
            &shop,
            chunk.to_vec(),
            &audit,
            |_, _| {},
        )
        .await
        {
            Ok(r) => r,
            Err(e) => {
                svc.cache.invalidate(tenant).await;
                return Err(retry(&e));
            }
        };
        progress.rows_done += chunk.len() as i64;
        progress.created += report.created as i64;
        progress.updated += report.updated as i64;
        progress.not_imported += report.failed as i64;
        for e in report.errors {
            if listed_rows >= MAX_REPORTED_ERRORS {
                break;
            }
            listed_rows += 1;
            errors.extend(
                bulk::columns_of(&e.message)
                    .into_iter()
                    .map(|(column, message)| ImportRowError {
                        line: e.line,
                        column: Some(column).filter(|c| !c.is_empty()),
                        message,
                    }),
            );
        }
        let moved = svc
            .store
            .record_product_import_progress(tenant, id, &progress)
            .await
            .map_err(|e| retry(&e))?;
        if !moved {
            // Finished meanwhile by another run.
            svc.cache.invalidate(tenant).await;
            return Ok(());
        }
    }
    svc.cache.invalidate(tenant).await;
    svc.store
        .finish_product_import(tenant, id, &progress, &errors)
        .await
        .map_err(|e| retry(&e))?;
    forget(svc, &key).await;
    Ok(())
}
