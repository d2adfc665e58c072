//! Payment outcomes processors report (through the webhook endpoint, once
//! the provider has verified the signature).

use storekeep_domain::Settlement;
use storekeep_store::{StoreError, TransitionActor};

use crate::payments::WebhookEvent;
use crate::services::{ServiceResult, Services};

/// Records a verified event from `provider`: the store keeps its id, so a
/// replayed event changes nothing (`Settlement::Duplicate`). An unknown
/// payment reference is not found.
pub async fn settle(
    svc: &Services,
    provider: &str,
    event: &WebhookEvent,
) -> ServiceResult<Settlement> {
    let actor = format!("provider:{provider}");
    let settled = svc
        .store
        .settle_payment(
            provider,
            &event.reference,
            &event.event_id,
            event.outcome,
            &TransitionActor {
                actor: &actor,
                reason: None,
                audit: None,
            },
        )
        .await
        .map_err(|e| match e {
            StoreError::NotFound(_) => StoreError::NotFound("payment"),
            other => other,
        })?;
    Ok(settled)
}
