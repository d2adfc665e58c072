//! Outbound webhooks: the endpoints a shop registers and the attempts to
//! deliver its events to them. Every statement names the tenant; another
//! shop's endpoint is `NotFound`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use storekeep_domain::{
    AuditContext, JobId, NewJob, Page, PageRequest, TenantId, WebhookDelivery, WebhookEndpoint,
    WebhookEndpointId, WebhookEndpointPatch, WebhookReplay,
};

use crate::StoreResult;

/// The topic of the outbox event written when an endpoint is disabled by
/// delivery (410 Gone, or failing for too long).
pub const ENDPOINT_DISABLED: &str = "webhook_endpoint.disabled";

/// The audit action of a staff replay.
pub const ENDPOINT_REPLAY: &str = "webhook_endpoint.replay";

/// Why a disabled endpoint is not replayed to.
pub const REPLAY_DISABLED: &str = "the endpoint is disabled: enable it before replaying";

/// The topic of the ping `POST /admin/webhooks/{id}/test` sends.
pub const TEST_EVENT: &str = "webhook.test";

/// Every event type the server writes to the outbox, which an endpoint
/// may subscribe to (see `commerce::events`).
pub const EVENT_TYPES: &[&str] = &[
    "order.created",
    "order.paid",
    "order.fulfilled",
    "order.delivered",
    "order.cancelled",
    "order.refunded",
    "payment.created",
    "payment.confirmed",
    "payment.declined",
    "payment.unmatched",
    "refund.created",
    ENDPOINT_DISABLED,
    crate::contracts::events::CONTRACT_CREATED,
    // i15 daily job
    crate::rules::rental_daily::INSTALLMENT_OVERDUE,
    crate::rules::rental_daily::LATE_FEE_APPLIED,
    crate::rules::rental_daily::CONTRACT_DEFAULTED,
    // i15 phase 2, glue: the contract email.
    crate::contracts::events::CONTRACT_STARTED,
    // contract life cycle (i15 phase 2)
    crate::contracts::events::CONTRACT_COMPLETED,
    // i15 phase 3, buy-out and returns.
    crate::contracts::events::CONTRACT_BOUGHT_OUT,
    crate::contracts::events::CONTRACT_RETURNED,
    // i15 phase 3, payments and extension.
    crate::contracts::events::CONTRACT_EXTENDED,
];

/// What an attempt does to its endpoint, decided by the caller from the
/// answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptEffect {
    /// Delivered: the endpoint's failure run ends.
    Succeeded,
    /// Failed but may be retried: a failure run starts if none is under
    /// way; if it began at or before `disable_if_failing_since`, the
    /// endpoint is disabled.
    Failed {
        disable_if_failing_since: DateTime<Utc>,
    },
    /// The receiver asked never to be called again (410 Gone): disabled.
    Gone,
    /// Nothing changes on the endpoint (an attempt that was never sent).
    None,
}

/// What recording an attempt did to its endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecorded {
    /// The endpoint as it is now.
    pub endpoint: WebhookEndpoint,
    /// Whether this attempt disabled it (an outbox event
    /// `webhook_endpoint.disabled` and an audit entry were written with it).
    pub disabled: bool,
}

#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Stores a new endpoint (audited `webhook_endpoint.create`, secrets
    /// left out).
    async fn create_webhook_endpoint(
        &self,
        endpoint: &WebhookEndpoint,
        audit: &AuditContext,
    ) -> StoreResult<WebhookEndpoint>;
    /// Oldest first; the cursor is the last endpoint id seen.
    async fn list_webhook_endpoints(
        &self,
        tenant: TenantId,
        page: &PageRequest,
    ) -> StoreResult<Page<WebhookEndpoint>>;
    async fn webhook_endpoint(
        &self,
        tenant: TenantId,
        id: WebhookEndpointId,
    ) -> StoreResult<WebhookEndpoint>;
    /// The shop's enabled endpoints that want events of `topic`.
    async fn webhook_endpoints_for(
        &self,
        tenant: TenantId,
        topic: &str,
    ) -> StoreResult<Vec<WebhookEndpoint>>;
    /// Applies the patch (audited `webhook_endpoint.update`).
    async fn update_webhook_endpoint(
        &self,
        tenant: TenantId,
        id: WebhookEndpointId,
        patch: &WebhookEndpointPatch,
        audit: &AuditContext,
    ) -> StoreResult<WebhookEndpoint>;
    /// Deletes the endpoint and its attempts (audited).
    async fn delete_webhook_endpoint(
        &self,
        tenant: TenantId,
        id: WebhookEndpointId,
        audit: &AuditContext,
    ) -> StoreResult<()>;
    /// Makes `secret_sealed` the signing secret; the one it replaces keeps
    /// signing until `previous_expires_at` (audited, secrets left out).
    async fn rotate_webhook_secret(
        &self,
        tenant: TenantId,
        id: WebhookEndpointId,
        secret_sealed: &str,
        previous_expires_at: DateTime<Utc>,
        audit: &AuditContext,
    ) -> StoreResult<WebhookEndpoint>;
    /// Enqueues a staff replay's delivery `jobs` and audits the replay
    /// (`webhook_endpoint.replay`, `after` = `replay`), in one transaction;
    /// the jobs' ids in order. A disabled endpoint is `Invalid`
    /// ([`REPLAY_DISABLED`]) and nothing is written.
    async fn replay_webhook(
        &self,
        tenant: TenantId,
        id: WebhookEndpointId,
        replay: &WebhookReplay,
        jobs: &[NewJob],
        audit: &AuditContext,
    ) -> StoreResult<Vec<JobId>>;

    /// Records an attempt and applies its effect on the endpoint, in one
    /// transaction. `NotFound` if the endpoint is gone.
    async fn record_webhook_attempt(
        &self,
        attempt: &WebhookDelivery,
        effect: AttemptEffect,
    ) -> StoreResult<AttemptRecorded>;
    /// Records a batch of attempts in one transaction, each as
    /// `record_webhook_attempt` would (attempts of one endpoint in the order
    /// given); the answers in the order given. If one cannot be recorded,
    /// nothing is and the error is returned.
    async fn record_webhook_attempts(
        &self,
        batch: &[(WebhookDelivery, AttemptEffect)],
    ) -> StoreResult<Vec<AttemptRecorded>>;
    /// An endpoint's attempts, newest first; the cursor is the last
    /// attempt id seen.
    async fn list_webhook_deliveries(
        &self,
        tenant: TenantId,
        endpoint: WebhookEndpointId,
        page: &PageRequest,
    ) -> StoreResult<Page<WebhookDelivery>>;
}

/// Applies an attempt's effect to its endpoint as recorded at `at`;
/// returns the reason if the attempt disables it. The one rule both
/// backends apply.
pub fn apply_attempt(
    endpoint: &mut WebhookEndpoint,
    effect: AttemptEffect,
    at: DateTime<Utc>,
) -> Option<String> {
    use storekeep_domain::WebhookStatus;
    let reason = match effect {
        AttemptEffect::None => return None,
        AttemptEffect::Succeeded => {
            endpoint.failing_since = None;
            return None;
        }
        AttemptEffect::Gone => "the receiver answered 410 Gone".to_owned(),
        AttemptEffect::Failed {
            disable_if_failing_since,
        } => {
            let since = *endpoint.failing_since.get_or_insert(at);
            if since > disable_if_failing_since {
                return None;
            }
            format!("every delivery has failed since {}", since.to_rfc3339())
        }
    };
    if endpoint.status == WebhookStatus::Disabled {
        return None;
    }
    endpoint.status = WebhookStatus::Disabled;
    endpoint.disabled_reason = Some(reason.clone());
    Some(reason)
}

#[cfg(test)]
mod tests {
    use storekeep_domain::{OrderId, OrderStatus, PaymentStatus, WebhookStatus};

    use super::*;
    use crate::commerce::events;

    /// Every topic the outbox is written with can be subscribed to.
    #[test]
    fn every_emitted_topic_is_an_event_type() {
        let mut topics: Vec<String> = Vec::new();
        for to in OrderStatus::ALL {
            if to != OrderStatus::PendingPayment {
                let o = OrderId::new();
                topics.push(events::order_moved(o, to, to, "system", None).0);
            }
        }
        for s in [
            PaymentStatus::Pending,
            PaymentStatus::Confirmed,
            PaymentStatus::Declined,
        ] {
            let what = if s == PaymentStatus::Pending {
                "created"
            } else {
                s.as_str()
            };
            topics.push(events::payment(what, OrderId::new(), 1, "test", 1).0);
        }
        topics.push(events::payment("unmatched", OrderId::new(), 1, "test", 1).0);
        topics.push("order.created".into());
        topics.push("refund.created".into());
        // Rental contracts (contracts part).
        let c = storekeep_domain::NewContract {
            id: storekeep_domain::RentalContractId::new(),
            plan_id: storekeep_domain::RentalPlanId::new(),
            variant_id: storekeep_domain::VariantId::new(),
            terms: storekeep_domain::RentalTerms {
                kind: storekeep_domain::RentalKind::FixedTerm,
                term_unit: storekeep_domain::TermUnit::Month,
                term: 1,
                min_term: 1,
                max_term: 1,
                price_per_period: 1,
                deposit: storekeep_domain::DepositRule::None,
                late_fee: storekeep_domain::LateFeeRule::None,
                buyout: storekeep_domain::BuyoutRule::None,
                extension_allowed: false,
                maintainer: storekeep_domain::Maintainer::Shop,
                default_after_days: 0,
            },
            cash_price: 1,
            deposit: 0,
            term: 1,
            time_zone: "UTC".into(),
            start_date: chrono::NaiveDate::MIN,
            installments: Vec::new(),
        };
        topics.push(
            crate::contracts::events::contract_created(OrderId::new(), &c, None)
                .0
                .into(),
        );
        // Contract life cycle (i15 phase 2).
        let contract = storekeep_domain::RentalContractId::new();
        topics.push(
            crate::contracts::events::contract_completed(contract, None)
                .0
                .into(),
        );
        topics.push(
            crate::contracts::events::contract_started(OrderId::new(), contract)
                .0
                .into(),
        );
        // i15 phase 3, payments and extension.
        topics.push(
            crate::contracts::events::contract_extended(contract, 1, 2, None)
                .0
                .into(),
        );
        // The daily rentals pass.
        for t in [
            crate::rules::rental_daily::INSTALLMENT_OVERDUE,
            crate::rules::rental_daily::LATE_FEE_APPLIED,
            crate::rules::rental_daily::CONTRACT_DEFAULTED,
        ] {
            topics.push(t.into());
        }
        // i15 phase 3, buy-out and returns.
        topics.push(
            crate::contracts::events::contract_bought_out(contract, None, 1, 0)
                .0
                .into(),
        );
        topics.push(
            crate::contracts::events::contract_returned(
                contract,
                None,
                storekeep_domain::InspectionOutcome::Ok,
                0,
                1,
            )
            .0
            .into(),
        );
        for t in &topics {
            assert!(EVENT_TYPES.contains(&t.as_str()), "{t} is not listed");
        }
        assert_eq!(EVENT_TYPES.len(), topics.len() + 1);
    }

    fn endpoint() -> WebhookEndpoint {
        let at = crate::now();
        WebhookEndpoint {
            id: WebhookEndpointId::new(),
            tenant_id: TenantId::new(),
            url: "https://example.com/hook".into(),
            description: String::new(),
            events: vec![],
            secret_sealed: "s".into(),
            previous_secret_sealed: None,
            previous_secret_expires_at: None,
            status: WebhookStatus::Enabled,
            disabled_reason: None,
            failing_since: None,
            created_at: at,
            updated_at: at,
        }
    }

    #[test]
    fn a_failure_starts_a_run_that_a_success_ends() {
        let mut e = endpoint();
        let t0 = crate::now();
        let cutoff = t0 - chrono::Duration::hours(1);
        let failed = AttemptEffect::Failed {
            disable_if_failing_since: cutoff,
        };
        assert_eq!(apply_attempt(&mut e, failed, t0), None);
        assert_eq!(e.failing_since, Some(t0));
        let later = t0 + chrono::Duration::minutes(5);
        assert_eq!(apply_attempt(&mut e, failed, later), None);
        assert_eq!(e.failing_since, Some(t0), "the run keeps its start");
        assert_eq!(apply_attempt(&mut e, AttemptEffect::Succeeded, later), None);
        assert_eq!(e.failing_since, None);
        assert_eq!(e.status, WebhookStatus::Enabled);
    }

    #[test]
    fn failing_past_the_cutoff_or_gone_disables_once() {
        let mut e = endpoint();
        let t0 = crate::now();
        e.failing_since = Some(t0 - chrono::Duration::days(6));
        let failed = AttemptEffect::Failed {
            disable_if_failing_since: t0 - chrono::Duration::days(5),
        };
        let reason = apply_attempt(&mut e, failed, t0).unwrap();
        assert!(reason.contains("failed since"), "{reason}");
        assert_eq!(e.status, WebhookStatus::Disabled);
        assert_eq!(apply_attempt(&mut e, failed, t0), None, "already disabled");

        let mut g = endpoint();
        assert!(apply_attempt(&mut g, AttemptEffect::Gone, t0).is_some());
        assert_eq!(g.status, WebhookStatus::Disabled);
        assert!(g.disabled_reason.unwrap().contains("410"));
    }
}
