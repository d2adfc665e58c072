//! Payment outcomes processors report (through the webhook endpoint, once
//! the provider has verified the signature).

use storekeep_domain::Settlement;
use storekeep_store::{StoreError, TransitionActor};

use crate::payments::{WebhookError, WebhookEvent};
use crate::services::{ServiceError, ServiceResult, Services};

/// Why a webhook was not recorded.
#[derive(Debug)]
pub enum WebhookRefusal {
    /// The server offers no provider of that name.
    UnknownProvider,
    /// The provider refused the request (no webhooks, bad signature, stale,
    /// unreadable body).
    Rejected(WebhookError),
    Failed(ServiceError),
}

/// A webhook from `provider_name`: the provider verifies the signature and
/// reads the event, then it is settled. Counted in the payment-webhook
/// metric by result.
pub async fn receive(
    svc: &Services,
    provider_name: &str,
    signature: Option<&str>,
    body: &[u8],
) -> Result<Settlement, WebhookRefusal> {
    let count = |result: &str| {
        svc.metrics
            .payments
            .with_label_values(&[provider_name, result])
            .inc();
    };
    let provider = svc
        .payments
        .get(provider_name)
        .ok_or(WebhookRefusal::UnknownProvider)?;
    let event = provider
        .verify_webhook(signature, body, chrono::Utc::now().timestamp())
        .map_err(|e| {
            count("rejected");
            WebhookRefusal::Rejected(e)
        })?;
    let settled = settle(svc, provider.name(), &event)
        .await
        .map_err(WebhookRefusal::Failed)?;
    count(match settled {
        Settlement::Applied { .. } => "applied",
        Settlement::AlreadySettled => "already_settled",
        Settlement::Duplicate => "replayed",
    });
    Ok(settled)
}

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
        .await;
    // i15 phase 3: a reference no order payment has may be a customer's
    // payment of a rental installment.
    let settled = match settled {
        Err(StoreError::NotFound(_)) => {
            svc.store
                .settle_installment_payment(
                    provider,
                    &event.reference,
                    &event.event_id,
                    event.outcome,
                )
                .await
        }
        other => other,
    };
    let settled = settled.map_err(|e| match e {
        StoreError::NotFound(_) => StoreError::NotFound("payment"),
        other => other,
    })?;
    if matches!(settled, Settlement::Applied { .. }) {
        svc.dispatch.wake();
    }
    Ok(settled)
}

/// The longest note staff may leave when resolving an unmatched payment.
pub const MAX_RESOLUTION: usize = 500;

/// The shop's open unmatched payments: confirmed by the processor for an
/// order no longer awaiting payment (cancelled meanwhile, or paid by
/// another attempt), not yet marked resolved. Newest first.
pub async fn unmatched(
    svc: &Services,
    tenant: &storekeep_domain::Tenant,
    page: &storekeep_domain::PageRequest,
) -> ServiceResult<storekeep_domain::Page<storekeep_domain::UnmatchedPayment>> {
    Ok(svc.store.list_unmatched_payments(tenant.id, page).await?)
}

/// Marks an unmatched payment resolved with what staff did about it (a
/// refund at the processor, the goods sent after all): required, at most
/// [`MAX_RESOLUTION`] characters. Audited `payment.resolve`.
pub async fn resolve(
    svc: &Services,
    tenant: &storekeep_domain::Tenant,
    id: storekeep_domain::PaymentId,
    note: &str,
    audit: &storekeep_domain::AuditContext,
) -> ServiceResult<storekeep_domain::UnmatchedPayment> {
    let note = note.trim();
    if note.is_empty() {
        return Err(storekeep_domain::ValidationErrors::single(
            "resolution",
            "say what was done about the payment (for example: refunded at the processor)",
        )
        .into());
    }
    if note.chars().count() > MAX_RESOLUTION || note.chars().any(char::is_control) {
        return Err(storekeep_domain::ValidationErrors::single(
            "resolution",
            format!("at most {MAX_RESOLUTION} characters, on one line"),
        )
        .into());
    }
    Ok(svc
        .store
        .resolve_unmatched_payment(tenant.id, id, note, audit)
        .await?)
}
