//! Notifications: composing the emails (which template, with what data,
//! from which sender, signed with which key) and delivering them with
//! metrics (`storekeep_emails_total{template,result}`) and logs that name
//! no address (the recipient's domain at most).
//!
//! The job handlers call [`event_email`] and [`deliver`]; the account
//! emails (password reset, MFA on and off, a sign-in from a new device) are
//! sent from background tasks tracked for shutdown.

pub mod device;
pub mod preview;
pub mod rentals;
// i15 phase 2, glue: the contract email.
pub mod contract_started;

use std::sync::Arc;

use lettre::message::Mailbox;
use storekeep_domain::{OrderId, OutboxEvent, Tenant, TenantId, TenantSettings, ValidationErrors};
use storekeep_store::StoreError;

use crate::crypto::Keyring;
use crate::mail::dkim::DkimKey;
use crate::mail::templates::{
    self, Branding, Context, Kind, LineSummary, OrderSummary, format_money,
};
use crate::mail::{Email, MailError, recipient_domain};
use crate::services::{ServiceError, ServiceResult, Services};
use crate::wire::orders::OrderView;

/// The keyring context a shop's DKIM key is sealed under.
pub fn dkim_context(tenant: TenantId) -> String {
    format!("tenants.email_dkim:{tenant}")
}

/// The shop's look for its emails; the platform's when there is no shop.
pub fn branding(tenant: Option<&Tenant>) -> Branding {
    match tenant {
        Some(t) => Branding::new(
            &t.name,
            t.settings.email_logo_url.as_deref(),
            t.settings.email_brand_color.as_deref(),
            t.settings.email_accent_color.as_deref(),
        ),
        None => Branding::new("storekeep", None, None, None),
    }
}

/// Seals a newly sent DKIM key (checked first: a key that does not load is
/// a problem of `settings.email_dkim.private_key`), or keeps the stored
/// one. Called on the shop's settings before they are saved.
pub fn seal_dkim_key(
    keyring: &Keyring,
    tenant: &Tenant,
    settings: &mut TenantSettings,
    errors: &mut ValidationErrors,
) {
    let Some(d) = settings.email_dkim.as_mut() else {
        return;
    };
    let sealed = match d.private_key.take() {
        Some(key) => match DkimKey::new(&d.selector, &d.domain, &key) {
            Ok(_) => Some(keyring.seal(key.trim(), &dkim_context(tenant.id))),
            Err(message) => {
                errors.add("settings.email_dkim.private_key", message);
                return;
            }
        },
        None => tenant
            .settings
            .email_dkim
            .as_ref()
            .and_then(|old| old.key_sealed.clone()),
    };
    match sealed {
        Some(sealed) => {
            d.key_sealed = Some(sealed);
            d.key_configured = true;
        }
        None => errors.add(
            "settings.email_dkim.private_key",
            "is required: no key is stored yet",
        ),
    }
}

/// The shop's signing key, opened just to sign.
fn dkim_key(keyring: &Keyring, tenant: &Tenant) -> ServiceResult<Option<DkimKey>> {
    let Some(d) = &tenant.settings.email_dkim else {
        return Ok(None);
    };
    let Some(sealed) = &d.key_sealed else {
        return Ok(None);
    };
    let pem = keyring.open(sealed, &dkim_context(tenant.id))?;
    DkimKey::new(&d.selector, &d.domain, &pem)
        .map(Some)
        .map_err(|_| ServiceError::Store(StoreError::Invalid("the stored DKIM key does not load")))
}

/// Renders `kind` for `to` from the shop (or the platform) with its
/// sender, reply-to and DKIM key.
pub fn compose(
    svc: &Services,
    tenant: Option<&Tenant>,
    kind: Kind,
    context: &Context,
    to: &str,
) -> ServiceResult<Email> {
    let rendered =
        templates::render(kind, context).map_err(|e| ServiceError::Store(StoreError::other(e)))?;
    let settings = tenant.map(|t| &t.settings);
    let address = settings
        .and_then(|s| s.email_sender.clone())
        .unwrap_or_else(|| svc.mailer.default_from().to_owned());
    let name = settings
        .and_then(|s| s.email_sender_name.clone())
        .unwrap_or_else(|| context.brand.shop_name.clone());
    let mailbox = |raw: &str| {
        raw.parse().map_err(|_| {
            ServiceError::Store(StoreError::Invalid("a sender address does not parse"))
        })
    };
    let from = Mailbox::new(Some(name), mailbox(&address).map(|m: Mailbox| m.email)?);
    let reply_to = settings
        .and_then(|s| s.email_reply_to.as_deref())
        .map(mailbox)
        .transpose()?;
    Ok(Email {
        template: kind.name(),
        from,
        reply_to,
        to: to.to_owned(),
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        dkim: tenant
            .map(|t| dkim_key(&svc.keyring, t))
            .transpose()?
            .flatten(),
        message_id: None,
    })
}

/// Sends one message and counts it (`storekeep_emails_total`). The log
/// line names the template and the recipient's domain, never the address.
pub async fn deliver(svc: &Services, email: &Email) -> Result<(), MailError> {
    // An erased customer's placeholder (docs/privacy.md): nobody to tell,
    // and `.invalid` is never routable; the email is dropped, not failed.
    if storekeep_store::rules::privacy::is_erased_email(&email.to) {
        svc.metrics
            .emails
            .with_label_values(&[email.template, "erased"])
            .inc();
        tracing::info!(
            template = email.template,
            "email to an erased customer dropped"
        );
        return Ok(());
    }
    let outcome = svc.mailer.send(email).await;
    let result = match &outcome {
        Ok(()) => "sent",
        Err(e) if e.is_permanent() => "rejected",
        Err(_) => "failed",
    };
    svc.metrics
        .emails
        .with_label_values(&[email.template, result])
        .inc();
    match &outcome {
        Ok(()) => tracing::info!(
            template = email.template,
            to_domain = recipient_domain(&email.to),
            "email sent"
        ),
        Err(e) => tracing::warn!(
            template = email.template,
            to_domain = recipient_domain(&email.to),
            permanent = e.is_permanent(),
            error = %e,
            "email not sent"
        ),
    }
    outcome
}

/// The email an outbox topic sends the customer, if any.
pub fn kind_of_topic(topic: &str) -> Option<Kind> {
    Some(match topic {
        "order.created" => Kind::OrderPlaced,
        "payment.confirmed" => Kind::PaymentReceived,
        "order.fulfilled" => Kind::OrderFulfilled,
        "order.delivered" => Kind::OrderDelivered,
        "refund.created" => Kind::Refunded,
        "payment.declined" => Kind::PaymentDeclined,
        _ => return None,
    })
}

/// The customer's email for one outbox event of `tenant`: the order as it
/// is now (lines, totals, address, status), the amount the event is about,
/// to the address sealed on the order. `None` when the topic sends none.
pub async fn event_email(
    svc: &Services,
    tenant: &Tenant,
    event: &OutboxEvent,
) -> ServiceResult<Option<Email>> {
    // i15 phase 2, glue: the contract email.
    if event.topic == storekeep_store::contracts::events::CONTRACT_STARTED {
        return contract_started::contract_started_email(svc, tenant, event).await;
    }
    let Some(kind) = kind_of_topic(&event.topic) else {
        return Ok(None);
    };
    let order_id: OrderId = serde_json::from_value(event.payload["order_id"].clone())
        .map_err(|_| ServiceError::Store(StoreError::Invalid("the event names no order")))?;
    let detail = svc.store.order(tenant.id, order_id).await?;
    let view = OrderView::new(&detail, &svc.keyring)?;
    let mut context = Context::new(branding(Some(tenant)));
    context.amount = event.payload["amount"]
        .as_i64()
        .map(|a| format_money(a, &detail.order.currency));
    context.order = Some(order_summary(&view, &detail.order.currency));
    compose(svc, Some(tenant), kind, &context, &view.email).map(Some)
}

/// What an order email shows of the order.
pub fn order_summary(view: &OrderView, currency: &str) -> OrderSummary {
    let m = |a: i64| format_money(a, currency);
    let a = &view.shipping_address;
    let mut address = vec![a.name.clone(), a.line1.clone()];
    address.extend(a.line2.clone());
    address.push(match &a.region {
        Some(r) => format!("{} {r} {}", a.city, a.postal_code),
        None => format!("{} {}", a.postal_code, a.city),
    });
    address.push(a.country.clone());
    let id = view.id.to_string();
    OrderSummary {
        number: id[id.len().saturating_sub(8)..].to_uppercase(),
        status: view.status.as_str().replace('_', " "),
        lines: view
            .lines
            .iter()
            .map(|l| LineSummary {
                title: l.title.clone(),
                sku: l.sku.clone(),
                quantity: l.quantity,
                unit_price: m(l.unit_price.amount),
                total: m(l.total.amount),
            })
            .collect(),
        subtotal: m(view.subtotal.amount),
        discount: (view.discount.amount != 0).then(|| m(view.discount.amount)),
        shipping: m(view.shipping.amount),
        shipping_method: view.shipping_method.clone(),
        tax: m(view.tax.amount),
        total: m(view.total.amount),
        refunded: (view.refunded.amount != 0).then(|| m(view.refunded.amount)),
        address,
    }
}

/// The password-reset message: the token, and a link to the storefront's
/// reset page (`/password-reset/confirm?token=…`) at the shop's public
/// origin (`tenancy::public_origin`: its scheme and port from
/// `web.public_url_scheme`/`web.public_port`, so it works in development
/// too) when the shop has a host name to put it on.
pub fn password_reset_email(
    svc: &Services,
    tenant: Option<&Tenant>,
    to: &str,
    token: &str,
) -> ServiceResult<Email> {
    let mut context = Context::new(branding(tenant));
    context.token = Some(token.to_owned());
    context.link = tenant
        .and_then(|t| crate::services::tenancy::public_origin(&svc.settings, t, None))
        .map(|origin| format!("{origin}/password-reset/confirm?token={token}"));
    compose(svc, tenant, Kind::PasswordReset, &context, to)
}

/// The notice to staff that a webhook endpoint was disabled.
pub fn webhook_disabled_email(
    svc: &Services,
    tenant: &Tenant,
    to: &str,
    url: &str,
    reason: &str,
) -> ServiceResult<Email> {
    let mut context = Context::new(branding(Some(tenant)));
    context.webhook = Some(templates::Webhook {
        url: url.to_owned(),
        reason: reason.to_owned(),
    });
    compose(svc, Some(tenant), Kind::WebhookDisabled, &context, to)
}

/// An account notice (MFA on, MFA off, a new device) to the account's own
/// address.
pub fn account_email(
    svc: &Services,
    tenant: Option<&Tenant>,
    user: &storekeep_domain::UserRecord,
    kind: Kind,
    device: Option<templates::Device>,
) -> ServiceResult<Email> {
    let account = crate::services::accounts::open_account(&svc.keyring, user)?;
    let mut context = Context::new(branding(tenant));
    context.device = device;
    compose(svc, tenant, kind, &context, &account.email)
}

/// The job kind that sends an account email (password reset, MFA on and
/// off, a new device).
pub const ACCOUNT_EMAIL_JOB: &str = "email.account";

/// The keyring context a password-reset token is sealed under in its job.
pub fn reset_token_context(user: storekeep_domain::UserId) -> String {
    format!("jobs.password_reset:{user}")
}

/// The job that sends an account email to `user` on the `email` queue:
/// it reads the account (its sealed address) when it runs, so a node that
/// dies before sending leaves the job for another. A reset token travels
/// sealed with the keyring.
pub fn account_email_job(
    svc: &Services,
    tenant: Option<&Tenant>,
    user: &storekeep_domain::UserRecord,
    kind: Kind,
    device: Option<templates::Device>,
    token: Option<&str>,
) -> storekeep_domain::NewJob {
    let payload = serde_json::json!({
        "template": kind.name(),
        "user_id": user.id,
        "device": device.map(|d| serde_json::json!({"agent": d.agent, "network": d.network})),
        "token_sealed": token.map(|t| svc.keyring.seal(t, &reset_token_context(user.id))),
    });
    let mut job = storekeep_domain::NewJob::new(ACCOUNT_EMAIL_JOB, payload)
        .queue(storekeep_store::rules::delivery::EMAIL_QUEUE);
    if let Some(t) = tenant {
        job = job.tenant(t.id);
    }
    svc.jobs.with_default(&job)
}

/// Queues an account notice (MFA on and off, a new device) for `user`; a
/// failure to queue is logged (the account's action has happened anyway).
/// A password reset writes its token and this job together instead
/// (`accounts::request_reset`).
pub async fn queue_account_email(
    svc: &Services,
    tenant: Option<&Tenant>,
    user: &storekeep_domain::UserRecord,
    kind: Kind,
    device: Option<templates::Device>,
) {
    let job = account_email_job(svc, tenant, user, kind, device, None);
    if let Err(error) = svc.jobs.enqueue(job).await {
        tracing::error!(template = kind.name(), %error, "account notice not queued");
    }
}

/// Queues an account notice from a background task (shutdown waits for
/// it), so the request answers without waiting for the queue.
pub fn spawn_account_email(
    svc: &Arc<Services>,
    tenant: Option<&Tenant>,
    user: &storekeep_domain::UserRecord,
    kind: Kind,
) {
    let (svc2, tenant, user) = (svc.clone(), tenant.cloned(), user.clone());
    svc.background.spawn(async move {
        queue_account_email(&svc2, tenant.as_ref(), &user, kind, None).await;
    });
}
