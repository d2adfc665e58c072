//! Orders: how they are shown (PII opened here, never in the store), the
//! staff actions on them, payments and the expiry sweep.

use storekeep_domain::{
    AuditContext, NewPayment, NewRefund, OrderDetail, OrderId, OrderLineId, OrderStatus, Payment,
    PaymentId, PaymentOutcome, PaymentStatus, Refund, RefundId, Settlement, Tenant,
    ValidationErrors,
};
use storekeep_store::{StoreError, TransitionActor};

use crate::crypto::Keyring;
use crate::payments::StartPayment;
use crate::services::Services;
use crate::services::carts::money;
use crate::services::{ServiceError, ServiceResult};
use crate::wire::orders::{
    Address, OrderLineView, OrderView, PaymentView, RefundRequest, RefundView,
};

pub fn email_context(id: OrderId) -> String {
    format!("orders.email:{id}")
}

pub fn address_context(id: OrderId) -> String {
    format!("orders.address:{id}")
}

impl OrderView {
    pub fn new(d: &OrderDetail, keyring: &Keyring) -> ServiceResult<Self> {
        let o = &d.order;
        let c = o.currency.as_str();
        let m = |a| money(a, c);
        let email = keyring.open(&o.email_sealed, &email_context(o.id))?;
        let address = keyring.open(&o.address_sealed, &address_context(o.id))?;
        let shipping_address: Address = serde_json::from_str(&address)
            .map_err(|e| ServiceError::Store(StoreError::other(e)))?;
        Ok(Self {
            id: o.id,
            status: o.status,
            customer_id: o.customer_id,
            email,
            shipping_address,
            shipping_method: o.shipping_method.clone(),
            payment_provider: o.payment_provider.clone(),
            lines: o
                .lines
                .iter()
                .map(|l| OrderLineView {
                    id: l.id,
                    variant_id: l.variant_id,
                    product_id: l.product_id,
                    sku: l.sku.clone(),
                    title: l.title.clone(),
                    quantity: l.quantity,
                    unit_price: m(l.unit_price),
                    discount: m(l.discount),
                    total: m(l.total),
                    deal_id: l.deal_id,
                    restocked: l.restocked,
                })
                .collect(),
            subtotal: m(o.subtotal),
            discount: m(o.discount),
            shipping: m(o.shipping),
            tax: m(o.tax),
            total: m(o.total),
            refunded: m(o.refunded),
            expires_at: (o.status == OrderStatus::PendingPayment)
                .then_some(o.expires_at)
                .flatten(),
            created_at: o.created_at,
            updated_at: o.updated_at,
            transitions: d.transitions.clone(),
            payments: d.payments.iter().map(|p| payment_view(p, c)).collect(),
            refunds: d.refunds.iter().map(|r| refund_view(r, c)).collect(),
        })
    }
}

impl OrderView {
    /// The order as the customer (or the guest) who placed it sees it: who
    /// moved or refunded it is named only `staff` or `system` beside their
    /// own actions, as their data export names audit entries
    /// (`rules::privacy::actor_for_customer`).
    pub fn for_customer(d: &OrderDetail, keyring: &Keyring) -> ServiceResult<Self> {
        let mut view = Self::new(d, keyring)?;
        let me = d.order.customer_id;
        for t in &mut view.transitions {
            t.actor = storekeep_store::rules::privacy::actor_for_customer(&t.actor, me);
        }
        for r in &mut view.refunds {
            r.actor = storekeep_store::rules::privacy::actor_for_customer(&r.actor, me);
        }
        Ok(view)
    }
}

/// Who an order view is for: the shop's staff see every actor, a customer
/// (or a data subject's export) sees [`OrderView::for_customer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Staff,
    Customer,
}

/// A page of orders as the API shows them to `audience`, each with its
/// history.
pub async fn list(
    state: &Services,
    tenant: &Tenant,
    filter: &storekeep_domain::OrderFilter,
    page: &storekeep_domain::PageRequest,
    audience: Audience,
) -> ServiceResult<storekeep_domain::Page<OrderView>> {
    let found = state.store.list_orders(tenant.id, filter, page).await?;
    let view = match audience {
        Audience::Staff => OrderView::new,
        Audience::Customer => OrderView::for_customer,
    };
    let items = found
        .items
        .iter()
        .map(|detail| view(detail, &state.keyring))
        .collect::<Result<_, _>>()?;
    Ok(storekeep_domain::Page {
        items,
        next_cursor: found.next_cursor,
    })
}

fn payment_view(p: &Payment, currency: &str) -> PaymentView {
    PaymentView {
        id: p.id,
        provider: p.provider.clone(),
        reference: p.reference.clone(),
        status: p.status,
        amount: money(p.amount, currency),
        created_at: p.created_at,
        updated_at: p.updated_at,
    }
}

fn refund_view(r: &Refund, currency: &str) -> RefundView {
    RefundView {
        id: r.id,
        amount: money(r.amount, currency),
        reason: r.reason.clone(),
        restock: r.restock.clone(),
        actor: r.actor.clone(),
        created_at: r.created_at,
    }
}

/// Checks an optional free-text reason.
pub fn parse_reason(raw: Option<String>, errors: &mut ValidationErrors) -> Option<String> {
    let r = raw?.trim().to_owned();
    if r.is_empty() {
        return None;
    }
    if r.chars().count() > 500 || r.chars().any(|c| c.is_control() && c != '\n') {
        errors.add(
            "reason",
            "must be at most 500 characters, no control characters",
        );
    }
    Some(r)
}

/// Staff move an order (fulfil, deliver, cancel).
pub async fn move_order(
    state: &Services,
    tenant: &Tenant,
    id: OrderId,
    to: OrderStatus,
    reason: Option<String>,
    audit: &AuditContext,
) -> ServiceResult<OrderDetail> {
    let mut errors = ValidationErrors::new();
    let reason = parse_reason(reason, &mut errors);
    errors.into_result()?;
    let detail = state
        .store
        .transition_order(
            tenant.id,
            id,
            to,
            &TransitionActor {
                actor: &audit.actor,
                reason: reason.as_deref(),
                audit: Some(audit),
            },
        )
        .await?;
    Ok(detail)
}

/// Staff confirm the pending manual payment of an unpaid order.
pub async fn mark_paid(
    state: &Services,
    tenant: &Tenant,
    id: OrderId,
    audit: &AuditContext,
) -> ServiceResult<OrderDetail> {
    let detail = state.store.order(tenant.id, id).await?;
    if detail.order.status != OrderStatus::PendingPayment {
        return Err(
            StoreError::Invalid("only an order awaiting payment can be marked paid").into(),
        );
    }
    let pending = detail
        .payments
        .iter()
        .rev()
        .find(|p| p.provider == "manual" && p.status == PaymentStatus::Pending);
    let reference = match pending {
        Some(p) => p.reference.clone(),
        None => {
            // An order placed with another provider can still be paid by
            // hand (say, a bank transfer after a declined card).
            let reference = format!("manual_{}", uuid::Uuid::now_v7().simple());
            state
                .store
                .create_payment(
                    tenant.id,
                    id,
                    &NewPayment {
                        id: PaymentId::new(),
                        provider: "manual".into(),
                        reference: reference.clone(),
                        amount: detail.order.total,
                    },
                )
                .await?;
            reference
        }
    };
    let settled = state
        .store
        .settle_payment(
            "manual",
            &reference,
            &format!("staff_{}", uuid::Uuid::now_v7().simple()),
            PaymentOutcome::Confirmed,
            &TransitionActor {
                actor: &audit.actor,
                reason: Some("marked paid by staff"),
                audit: Some(audit),
            },
        )
        .await?;
    match settled {
        Settlement::Applied { order_paid: true } => Ok(state.store.order(tenant.id, id).await?),
        _ => Err(StoreError::Invalid("only an order awaiting payment can be marked paid").into()),
    }
}

pub async fn refund(
    state: &Services,
    tenant: &Tenant,
    id: OrderId,
    req: RefundRequest,
    audit: &AuditContext,
) -> ServiceResult<OrderDetail> {
    let mut errors = ValidationErrors::new();
    if let Err(m) = req.amount.validate(&tenant.settings.currency) {
        errors.add("amount", m);
    } else if req.amount.amount < 1 {
        errors.add("amount", "must be at least 1 minor unit");
    }
    let reason = parse_reason(req.reason, &mut errors);
    for (i, r) in req.restock.iter().enumerate() {
        if !(1..=storekeep_domain::MAX_LINE_QUANTITY).contains(&r.quantity) {
            errors.add(&format!("restock[{i}].quantity"), "must be at least 1");
        }
    }
    let mut lines: Vec<OrderLineId> = req.restock.iter().map(|r| r.line_id).collect();
    lines.sort_unstable();
    if lines.windows(2).any(|w| w[0] == w[1]) {
        errors.add("restock", "name each line once");
    }
    errors.into_result()?;
    let detail = state
        .store
        .refund_order(
            tenant.id,
            id,
            &NewRefund {
                id: RefundId::new(),
                amount: req.amount.amount,
                reason: reason.clone(),
                restock: req.restock,
            },
            &TransitionActor {
                actor: &audit.actor,
                reason: reason.as_deref(),
                audit: Some(audit),
            },
        )
        .await?;
    Ok(detail)
}

/// A new payment attempt for an unpaid order (after a decline).
pub async fn retry_payment(
    state: &Services,
    tenant: &Tenant,
    id: OrderId,
    provider_name: &str,
    test_outcome: PaymentOutcome,
) -> ServiceResult<OrderDetail> {
    let provider = state
        .payments
        .for_shop(&tenant.settings, provider_name)
        .map_err(|m| ValidationErrors::single("payment_provider", m))?;
    let order = state.store.order(tenant.id, id).await?;
    let reference = provider.new_reference();
    let detail = state
        .store
        .create_payment(
            tenant.id,
            id,
            &NewPayment {
                id: PaymentId::new(),
                provider: provider.name().into(),
                reference: reference.clone(),
                amount: order.order.total,
            },
        )
        .await?;
    provider.start(StartPayment {
        reference,
        amount: order.order.total,
        currency: order.order.currency.clone(),
        test_outcome,
    });
    Ok(detail)
}

/// Cancels unpaid orders past their deadline, until none are left.
/// The staff's order list query: a page, and a filter by status,
/// customer, email and creation time. Malformed values are a bad request.
pub fn parse_query(
    svc: &Services,
    q: &crate::wire::orders::OrderQuery,
) -> ServiceResult<(storekeep_domain::OrderFilter, storekeep_domain::PageRequest)> {
    let page = storekeep_domain::PageRequest::new(q.limit, q.after.clone())
        .map_err(ServiceError::BadRequest)?;
    let status = q
        .status
        .as_deref()
        .map(|s| {
            OrderStatus::parse(s).ok_or_else(|| {
                ServiceError::BadRequest(
                    "status must be pending_payment, paid, fulfilled, delivered, cancelled or refunded"
                        .into(),
                )
            })
        })
        .transpose()?;
    let customer_id = q
        .customer_id
        .as_deref()
        .map(|c| {
            c.parse::<storekeep_domain::UserId>()
                .map_err(|_| ServiceError::BadRequest("customer_id must be a customer id".into()))
        })
        .transpose()?;
    let email_index = q
        .email
        .as_deref()
        .map(|e| {
            crate::services::accounts::normalize_email(e)
                .map(|e| svc.keyring.blind_index("email", &e))
                .map_err(|m| ServiceError::BadRequest(format!("email {m}")))
        })
        .transpose()?;
    let filter = storekeep_domain::OrderFilter {
        status,
        customer_id,
        email_index,
        created_from: q.created_from,
        created_to: q.created_to,
    };
    Ok((filter, page))
}

pub async fn get(svc: &Services, tenant: &Tenant, id: OrderId) -> ServiceResult<OrderDetail> {
    Ok(svc.store.order(tenant.id, id).await?)
}

/// The shop's outbox events (order and payment changes), oldest first,
/// optionally of one topic.
pub async fn events(
    svc: &Services,
    tenant: &Tenant,
    topic: Option<&str>,
    page: &storekeep_domain::PageRequest,
) -> ServiceResult<storekeep_domain::Page<storekeep_domain::OutboxEvent>> {
    Ok(svc.store.list_events(tenant.id, topic, page).await?)
}

/// The order if the caller placed it: its customer's session, or the
/// token of the cart it was made from; otherwise not found.
pub async fn own(
    svc: &Services,
    tenant: &Tenant,
    access: &crate::services::carts::CartAccess,
    id: OrderId,
) -> ServiceResult<OrderDetail> {
    let detail = svc.store.order(tenant.id, id).await?;
    let o = &detail.order;
    let by_customer = o.customer_id.is_some() && o.customer_id == access.customer;
    let by_token = access.token.is_some()
        && match svc.store.cart(tenant.id, o.cart_id).await {
            Ok(cart) => access.allows(&cart.token_hash, None),
            Err(_) => false,
        };
    if by_customer || by_token {
        Ok(detail)
    } else {
        Err(StoreError::NotFound("order").into())
    }
}

/// Cancels every unpaid order past its deadline, 100 per transaction;
/// run by the periodic job `orders.expire`. Conditional updates (and
/// `SKIP LOCKED` on PostgreSQL) make concurrent runs cancel each order
/// once.
pub async fn expire_due(state: &Services) -> Result<u64, StoreError> {
    let mut total = 0;
    loop {
        let n = state
            .store
            .expire_orders(storekeep_store::now(), 100)
            .await?;
        total += n;
        if n < 100 {
            return Ok(total);
        }
    }
}
