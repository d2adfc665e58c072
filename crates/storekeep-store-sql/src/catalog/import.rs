//! What both backends do alike around an import row, beyond the counting
//! (which is `storekeep_store::rules::catalog::ImportBatch`).

use storekeep_domain::ImportOutcome;
use storekeep_store::{StoreError, StoreResult};

/// Logs a row that failed for a reason of the store's own (not a refusal
/// the row's data earned), with the line it came from.
pub fn warn_if_broken(result: &StoreResult<ImportOutcome>, line: u64) {
    if let Err(StoreError::Other(cause)) = result {
        tracing::warn!(error = %cause, line, "import row failed");
    }
}
