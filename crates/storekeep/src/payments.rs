//! Payment providers behind one trait.
//!
//! - `manual`: nothing happens until staff mark the order paid (bank
//!   transfer, cash on pick-up).
//! - `test`: a simulated asynchronous processor, offered only when
//!   `payments.test_enabled` is set (`serve --demo` sets it): it pays
//!   orders by itself, so it must never be on in a real shop. After an order commits it
//!   waits `payments.test_delay_ms`, then posts an HMAC-SHA256-signed
//!   webhook (`Storekeep-Signature: t=<unix>,v1=<hex>` over `"{t}.{body}"`)
//!   to `POST /api/v1/webhooks/payments/test`, confirming or declining as
//!   the checkout asked (`test_outcome`). The webhook is handled like any
//!   real processor's: signature and age checked, event id recorded so a
//!   replay changes nothing.
//!
//! A real processor (Stripe, Adyen …) is another implementation of
//! [`PaymentProvider`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use storekeep_domain::{PaymentOutcome, TenantSettings};

/// Webhooks older (or newer) than this are refused, which bounds replays
/// even before the event id is checked.
pub const WEBHOOK_TOLERANCE_SECS: i64 = 300;
pub const SIGNATURE_HEADER: &str = "storekeep-signature";

/// A verified provider event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    pub event_id: String,
    pub reference: String,
    pub outcome: PaymentOutcome,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WebhookError {
    #[error("this provider does not take webhooks")]
    NotSupported,
    #[error("the {SIGNATURE_HEADER} header is missing or malformed")]
    MissingSignature,
    #[error("the signature does not match")]
    BadSignature,
    #[error("the webhook's timestamp is more than {WEBHOOK_TOLERANCE_SECS} s away from now")]
    Stale,
    #[error("the webhook body is not a payment event: {0}")]
    BadBody(String),
}

/// What a provider is asked to collect once the order is durable.
#[derive(Debug, Clone)]
pub struct StartPayment {
    pub reference: String,
    pub amount: i64,
    pub currency: String,
    /// `test` only: the outcome the simulated processor reports.
    pub test_outcome: PaymentOutcome,
}

pub trait PaymentProvider: Send + Sync {
    fn name(&self) -> &'static str;
    /// A fresh reference for a new attempt.
    fn new_reference(&self) -> String {
        format!("{}_{}", self.name(), uuid::Uuid::now_v7().simple())
    }
    /// Starts collecting; called after the attempt is committed.
    fn start(&self, payment: StartPayment);
    /// Checks a webhook's signature (the `Storekeep-Signature` header's
    /// value, if sent) and reads its event.
    fn verify_webhook(
        &self,
        signature: Option<&str>,
        body: &[u8],
        now_unix: i64,
    ) -> Result<WebhookEvent, WebhookError>;
}

/// The providers this server offers, by name.
#[derive(Clone)]
pub struct Payments {
    providers: Arc<HashMap<&'static str, Arc<dyn PaymentProvider>>>,
}

impl std::fmt::Debug for Payments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Payments")
            .field("providers", &self.names())
            .finish()
    }
}

impl Payments {
    pub fn new(settings: &crate::config::PaymentSettings, self_url: &str) -> Self {
        let secret = settings
            .test_webhook_secret
            .as_ref()
            .map(|s| s.expose().as_bytes().to_vec())
            .unwrap_or_else(|| {
                let mut b = vec![0u8; 32];
                rand::RngCore::fill_bytes(&mut rand::rng(), &mut b);
                b
            });
        let callback = settings
            .test_callback_url
            .clone()
            .unwrap_or_else(|| self_url.trim_end_matches('/').to_owned());
        let mut providers: HashMap<&'static str, Arc<dyn PaymentProvider>> = HashMap::new();
        providers.insert("manual", Arc::new(Manual));
        if settings.test_enabled {
            providers.insert(
                "test",
                Arc::new(TestProvider {
                    secret,
                    url: format!("{callback}/api/v1/webhooks/payments/test"),
                    delay: settings.test_delay,
                    client: std::sync::OnceLock::new(),
                }),
            );
        }
        Self {
            providers: Arc::new(providers),
        }
    }

    pub fn get(&self, name: &str) -> Option<Arc<dyn PaymentProvider>> {
        self.providers.get(name).cloned()
    }

    pub fn names(&self) -> Vec<&'static str> {
        let mut n: Vec<_> = self.providers.keys().copied().collect();
        n.sort_unstable();
        n
    }

    /// The providers a shop's customers can pay with: those the shop
    /// accepts that this server offers, in the shop's order.
    pub fn usable(&self, shop: &TenantSettings) -> Vec<&'static str> {
        shop.payment_providers
            .iter()
            .filter_map(|p| self.providers.get_key_value(p.as_str()).map(|(k, _)| *k))
            .collect()
    }

    /// The provider a checkout (or a new payment attempt) asked for, if the
    /// shop accepts it and this server offers it; otherwise the message for
    /// the `payment_provider` field.
    pub fn for_shop(
        &self,
        shop: &TenantSettings,
        name: &str,
    ) -> Result<Arc<dyn PaymentProvider>, String> {
        let usable = self.usable(shop);
        if usable.contains(&name) {
            return self.get(name).ok_or_else(|| "is not offered".to_owned());
        }
        Err(if usable.is_empty() {
            "this shop accepts no payment provider this server offers".to_owned()
        } else {
            format!(
                "must be one of the shop's payment providers: {}",
                usable.join(", ")
            )
        })
    }
}

/// Staff confirm payment by hand.
struct Manual;

impl PaymentProvider for Manual {
    fn name(&self) -> &'static str {
        "manual"
    }
    fn start(&self, _payment: StartPayment) {}
    fn verify_webhook(
        &self,
        _: Option<&str>,
        _: &[u8],
        _: i64,
    ) -> Result<WebhookEvent, WebhookError> {
        Err(WebhookError::NotSupported)
    }
}

/// The simulated processor.
struct TestProvider {
    secret: Vec<u8>,
    url: String,
    delay: Duration,
    /// Made on first use: building an HTTP client (TLS roots) is not
    /// start-up work, and most shops never use the test provider.
    client: std::sync::OnceLock<reqwest::Client>,
}

/// `t=<unix>,v1=<hex hmac>` for a body at time `t`.
pub fn sign(secret: &[u8], t: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let sig: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("t={t},v1={sig}")
}

fn parse_signature(header: &str) -> Option<(i64, Vec<u8>)> {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => v1 = decode_hex(v),
            _ => {}
        }
    }
    Some((t?, v1?))
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[derive(serde::Serialize, serde::Deserialize)]
struct TestEvent {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    reference: String,
}

impl PaymentProvider for TestProvider {
    fn name(&self) -> &'static str {
        "test"
    }

    fn start(&self, payment: StartPayment) {
        let kind = match payment.test_outcome {
            PaymentOutcome::Confirmed => "payment.confirmed",
            PaymentOutcome::Declined => "payment.declined",
        };
        let body = serde_json::to_vec(&TestEvent {
            id: format!("evt_{}", uuid::Uuid::now_v7().simple()),
            kind: kind.into(),
            reference: payment.reference,
        })
        .expect("a plain struct serialises");
        let (secret, url, delay, client) = (
            self.secret.clone(),
            self.url.clone(),
            self.delay,
            self.client.get_or_init(reqwest::Client::new).clone(),
        );
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            // A processor retries until it is answered; so does this one,
            // a few times, with the same event (and a fresh signature).
            for attempt in 0..5u32 {
                let t = chrono::Utc::now().timestamp();
                let sent = client
                    .post(&url)
                    .header(SIGNATURE_HEADER, sign(&secret, t, &body))
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .timeout(Duration::from_secs(10))
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status().is_success() || r.status().is_client_error() => return,
                    Ok(r) => {
                        tracing::warn!(status = %r.status(), attempt, "test payment webhook not accepted")
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, attempt, "test payment webhook not delivered")
                    }
                }
                tokio::time::sleep(Duration::from_millis(500 << attempt)).await;
            }
        });
    }

    fn verify_webhook(
        &self,
        signature: Option<&str>,
        body: &[u8],
        now_unix: i64,
    ) -> Result<WebhookEvent, WebhookError> {
        let header = signature.ok_or(WebhookError::MissingSignature)?;
        let (t, given) = parse_signature(header).ok_or(WebhookError::MissingSignature)?;
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes any key length");
        mac.update(t.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.verify_slice(&given)
            .map_err(|_| WebhookError::BadSignature)?;
        if (now_unix - t).abs() > WEBHOOK_TOLERANCE_SECS {
            return Err(WebhookError::Stale);
        }
        let event: TestEvent =
            serde_json::from_slice(body).map_err(|e| WebhookError::BadBody(e.to_string()))?;
        let outcome = match event.kind.as_str() {
            "payment.confirmed" => PaymentOutcome::Confirmed,
            "payment.declined" => PaymentOutcome::Declined,
            other => return Err(WebhookError::BadBody(format!("unknown type '{other}'"))),
        };
        if event.id.is_empty() || event.id.len() > 100 || event.reference.len() > 100 {
            return Err(WebhookError::BadBody("id or reference out of range".into()));
        }
        Ok(WebhookEvent {
            event_id: event.id,
            reference: event.reference,
            outcome,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider() -> TestProvider {
        TestProvider {
            secret: b"0123456789abcdef".to_vec(),
            url: String::new(),
            delay: Duration::ZERO,
            client: std::sync::OnceLock::new(),
        }
    }

    #[test]
    fn signatures_verify_and_tampering_is_caught() {
        let p = provider();
        let body = br#"{"id":"evt_1","type":"payment.confirmed","reference":"test_1"}"#;
        let h = sign(&p.secret, 1000, body);
        assert_eq!(
            p.verify_webhook(Some(&h), body, 1010).unwrap().outcome,
            PaymentOutcome::Confirmed
        );
        assert_eq!(
            p.verify_webhook(Some(&h), b"{}", 1010),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            p.verify_webhook(Some(&h), body, 2000),
            Err(WebhookError::Stale)
        );
        let h = sign(b"another key 1234", 1000, body);
        assert_eq!(
            p.verify_webhook(Some(&h), body, 1010),
            Err(WebhookError::BadSignature)
        );
    }
}
