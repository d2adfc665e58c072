//! Tenants: one shop each, resolved per request by custom domain, by
//! `{slug}.{base_domain}` or by the `X-Tenant` header.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{PlanName, TenantId};

/// Slugs that would collide with host names or paths the platform itself uses.
const RESERVED_SLUGS: &[&str] = &[
    "admin", "api", "app", "console", "docs", "mail", "platform", "static", "status", "www",
];

/// A tenant's short, URL- and DNS-safe name: 2–63 characters of `a-z`,
/// `0-9` and `-`, starting and ending with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, example = "demo")]
pub struct Slug(String);

impl Slug {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let s = raw.trim();
        if s.len() < 2 || s.len() > 63 {
            return Err("must be 2 to 63 characters long".into());
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err("may contain only lowercase letters a-z, digits and '-'".into());
        }
        if s.starts_with('-') || s.ends_with('-') {
            return Err("must start and end with a letter or digit".into());
        }
        if RESERVED_SLUGS.contains(&s) {
            return Err(format!("'{s}' is reserved"));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Slug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A fully qualified host name a tenant serves its shop on, lowercased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, example = "shop.example.com")]
pub struct DomainName(String);

impl DomainName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let s = raw.trim().trim_end_matches('.').to_ascii_lowercase();
        if s.is_empty() || s.len() > 253 {
            return Err("must be 1 to 253 characters long".into());
        }
        let labels: Vec<&str> = s.split('.').collect();
        if labels.len() < 2 {
            return Err("must be a fully qualified name such as shop.example.com".into());
        }
        for label in labels {
            let ok = !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-');
            if !ok {
                return Err(format!("'{label}' is not a valid DNS label"));
            }
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `localhost`, the development base domain (`{slug}.localhost` reaches
    /// a local server in browsers). A single label, so `parse` refuses it
    /// as a shop's own domain; only the `base_domain` setting accepts it.
    pub fn localhost() -> Self {
        Self("localhost".to_owned())
    }
}

/// Whether a tenant's shop is served. A suspended tenant answers like an
/// unknown one, so suspension leaks nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TenantStatus {
    Active,
    Suspended,
}

impl TenantStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "active" => Ok(Self::Active),
            "suspended" => Ok(Self::Suspended),
            _ => Err("must be 'active' or 'suspended'".into()),
        }
    }
}

/// Per-tenant settings, stored as one JSON document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct TenantSettings {
    /// ISO 4217 code of the shop's currency.
    #[schema(example = "USD")]
    pub currency: String,
    /// Origins allowed to call the shop's API from a browser.
    #[serde(default)]
    pub cors_origins: Vec<String>,
    /// `From:` address of the shop's emails, if it has its own.
    #[serde(default)]
    pub email_sender: Option<String>,
    /// Staff must have TOTP enabled to use the admin API.
    #[serde(default)]
    pub require_staff_mfa: bool,
    /// Sales-tax rates by country and region (see `TaxRate`).
    #[serde(default)]
    pub tax_rates: Vec<crate::TaxRate>,
    /// Flat-rate shipping methods offered at checkout.
    #[serde(default)]
    pub shipping_methods: Vec<crate::ShippingMethod>,
    /// Seconds an order may wait for payment before it is cancelled and
    /// its stock released.
    #[serde(default = "default_payment_timeout")]
    #[schema(example = 1800, minimum = 1, maximum = 2_592_000)]
    pub payment_timeout_secs: i64,
    /// Payment providers the shop accepts at checkout, of `manual` and
    /// `test`. A provider is usable only if the server also offers it (the
    /// simulated `test` processor only with `payments.test_enabled`).
    #[serde(default = "default_payment_providers")]
    #[schema(example = json!(["manual"]))]
    pub payment_providers: Vec<String>,
    /// Display name of the shop's emails' sender (`From: "NAME" <email_sender>`);
    /// the shop's name when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "Acme Shop")]
    pub email_sender_name: Option<String>,
    /// `Reply-To:` address of the shop's emails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_reply_to: Option<String>,
    /// The logo shown at the top of the shop's emails: an `https://` URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "https://cdn.example.com/logo.png")]
    pub email_logo_url: Option<String>,
    /// The emails' header colour, `#rrggbb`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "#1f2933")]
    pub email_brand_color: Option<String>,
    /// The emails' button and rule colour, `#rrggbb`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "#2563eb")]
    pub email_accent_color: Option<String>,
    /// DKIM signing of the shop's emails (see [`EmailDkim`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_dkim: Option<EmailDkim>,
    /// The shop's IANA time zone (`Europe/Berlin`): rental due dates and
    /// reminders follow its calendar days.
    #[serde(default = "default_time_zone")]
    #[schema(example = "Europe/Berlin")]
    pub time_zone: String,
    /// How the shop's web storefront looks and speaks (see
    /// [`crate::StorefrontSettings`]); left out of answers while unset.
    #[serde(default, skip_serializing_if = "crate::StorefrontSettings::is_default")]
    pub storefront: crate::StorefrontSettings,
    /// Keys this version does not know. A request naming one is refused
    /// (see [`TenantSettings::problems`]: a misspelt setting must not be
    /// ignored in silence); a stored one is read without error and kept
    /// when staff change the settings, so a setting written by a newer node
    /// neither breaks nor is lost on an older one during a rolling deploy.
    #[serde(flatten, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    #[schema(ignore)]
    pub unknown: std::collections::BTreeMap<String, serde_json::Value>,
}

fn default_payment_timeout() -> i64 {
    1800
}

fn default_time_zone() -> String {
    "UTC".to_owned()
}

/// DKIM signing of a shop's emails: the DNS selector and signing domain,
/// and the private key. The key is write-only: sent as `private_key`, it is
/// sealed with the keyring and only `key_configured` says it is there.
/// Leaving `private_key` out keeps the stored key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EmailDkim {
    /// The selector: the key is published at `SELECTOR._domainkey.DOMAIN`.
    #[schema(example = "sk1")]
    pub selector: String,
    /// The signing domain (`d=`), normally the sender address's domain.
    #[schema(example = "shop.example.com")]
    pub domain: String,
    /// Write-only: an RSA private key (PEM, PKCS#1 or PKCS#8, at least
    /// 1024 bits) or an Ed25519 one (PKCS#8 PEM or the base64 32-byte
    /// seed). Never returned.
    #[serde(default, skip_serializing)]
    #[schema(write_only)]
    pub private_key: Option<String>,
    /// Read-only: whether a key is stored.
    #[serde(default)]
    #[schema(read_only)]
    pub key_configured: bool,
    /// The stored (sealed) key; never in an answer (see
    /// [`TenantSettings::redacted`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub key_sealed: Option<String>,
}

/// Whether `raw` is a colour as `#rrggbb`.
fn is_hex_color(raw: &str) -> bool {
    raw.len() == 7 && raw.starts_with('#') && raw[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_address(raw: &str) -> bool {
    raw.contains('@')
        && raw.len() <= 254
        && !raw.contains(|c: char| c.is_control() || c.is_whitespace() || "<>,;\"".contains(c))
}

/// Payment providers a shop may accept: every one the code knows.
pub const PAYMENT_PROVIDERS: &[&str] = &["manual", "test"];

/// A shop accepts only `manual` until it says otherwise: a simulated
/// processor that pays orders by itself is never on by default.
fn default_payment_providers() -> Vec<String> {
    vec!["manual".to_owned()]
}

impl Default for TenantSettings {
    fn default() -> Self {
        Self {
            currency: "USD".into(),
            cors_origins: Vec::new(),
            email_sender: None,
            require_staff_mfa: false,
            tax_rates: Vec::new(),
            shipping_methods: Vec::new(),
            payment_timeout_secs: default_payment_timeout(),
            payment_providers: default_payment_providers(),
            email_sender_name: None,
            email_reply_to: None,
            email_logo_url: None,
            email_brand_color: None,
            email_accent_color: None,
            email_dkim: None,
            time_zone: default_time_zone(),
            storefront: crate::StorefrontSettings::default(),
            unknown: std::collections::BTreeMap::new(),
        }
    }
}

impl TenantSettings {
    /// Checks every field, collecting problems as `(field, message)`.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out: Vec<(&str, String)> = Vec::new();
        for key in self.unknown.keys() {
            out.push((key, "is not a setting".to_owned()));
        }
        if self.currency.len() != 3 || !self.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            out.push((
                "currency",
                "must be a three-letter ISO 4217 code such as USD".to_owned(),
            ));
        }
        for origin in &self.cors_origins {
            let valid = (origin.starts_with("https://") || origin.starts_with("http://"))
                && !origin.ends_with('/')
                && origin.len() <= 255
                && !origin.contains(|c: char| c.is_whitespace() || c.is_control());
            if !valid {
                out.push((
                    "cors_origins",
                    format!("'{origin}' is not an origin such as https://shop.example.com"),
                ));
            }
        }
        if let Some(sender) = &self.email_sender
            && !is_address(sender)
        {
            out.push(("email_sender", "must be an email address".to_owned()));
        }
        self.email_problems(&mut out);
        self.tax_problems(&mut out);
        self.shipping_problems(&mut out);
        if !(1..=30 * 86_400).contains(&self.payment_timeout_secs) {
            out.push((
                "payment_timeout_secs",
                "must be between 1 and 2592000 seconds (30 days)".to_owned(),
            ));
        }
        self.provider_problems(&mut out);
        if self.time_zone.parse::<chrono_tz::Tz>().is_err() {
            out.push((
                "time_zone",
                format!(
                    "'{}' is not an IANA time zone such as Europe/Berlin or UTC",
                    self.time_zone
                ),
            ));
        }
        self.storefront.problems(&mut out);
        out.into_iter()
            .map(|(field, message)| (field.to_owned(), message))
            .chain(
                self.storefront
                    .unknown
                    .keys()
                    .map(|key| (format!("storefront.{key}"), "is not a setting".to_owned())),
            )
            .collect()
    }

    fn email_problems<'a>(&'a self, out: &mut Vec<(&'a str, String)>) {
        if let Some(name) = &self.email_sender_name
            && (name.trim().is_empty()
                || name.chars().count() > 100
                || name.contains(char::is_control))
        {
            out.push((
                "email_sender_name",
                "must be 1 to 100 characters, without control characters".to_owned(),
            ));
        }
        if let Some(reply_to) = &self.email_reply_to
            && !is_address(reply_to)
        {
            out.push(("email_reply_to", "must be an email address".to_owned()));
        }
        if let Some(url) = &self.email_logo_url {
            let host = url.strip_prefix("https://").unwrap_or("");
            if host.is_empty()
                || host.starts_with('/')
                || url.len() > 2048
                || url
                    .contains(|c: char| c.is_control() || c.is_whitespace() || "\"<>'".contains(c))
            {
                out.push(("email_logo_url", "must be an https:// URL".to_owned()));
            }
        }
        for (field, color) in [
            ("email_brand_color", &self.email_brand_color),
            ("email_accent_color", &self.email_accent_color),
        ] {
            if let Some(c) = color
                && !is_hex_color(c)
            {
                out.push((
                    field,
                    "must be a colour as #rrggbb, such as #1f2933".to_owned(),
                ));
            }
        }
        if let Some(d) = &self.email_dkim {
            let selector_ok = (1..=63).contains(&d.selector.len())
                && d.selector
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                && !d.selector.starts_with('-');
            if !selector_ok {
                out.push((
                    "email_dkim.selector",
                    "must be a DNS label such as sk1".to_owned(),
                ));
            }
            if DomainName::parse(&d.domain).map(|n| n.0) != Ok(d.domain.clone()) {
                out.push((
                    "email_dkim.domain",
                    "must be a lowercase domain name such as shop.example.com".to_owned(),
                ));
            }
            if d.private_key.as_ref().is_some_and(|k| k.len() > 16_384) {
                out.push((
                    "email_dkim.private_key",
                    "must be at most 16384 characters".to_owned(),
                ));
            }
        }
    }

    /// The settings as answers show them: the stored DKIM key left out
    /// (only `key_configured` says it is there).
    pub fn redacted(mut self) -> Self {
        if let Some(d) = &mut self.email_dkim {
            d.key_configured = d.key_sealed.is_some();
            d.key_sealed = None;
            d.private_key = None;
        }
        self
    }

    fn tax_problems<'a>(&'a self, out: &mut Vec<(&'a str, String)>) {
        for (i, r) in self.tax_rates.iter().enumerate() {
            if crate::parse_country(&r.country).ok().as_deref() != Some(r.country.as_str()) {
                out.push((
                    "tax_rates",
                    format!("rate {i}: country must be a two-letter upper-case code such as US"),
                ));
            }
            if let Some(region) = &r.region
                && crate::parse_region(region).ok().as_deref() != Some(region.as_str())
            {
                out.push((
                    "tax_rates",
                    format!("rate {i}: region must be 1 to 3 upper-case letters or digits"),
                ));
            }
            if !(0..=10_000).contains(&r.rate_bp) {
                out.push((
                    "tax_rates",
                    format!("rate {i}: rate_bp must be between 0 and 10000 (basis points)"),
                ));
            }
        }
        let mut keys: Vec<(&str, Option<&str>)> = self
            .tax_rates
            .iter()
            .map(|r| (r.country.as_str(), r.region.as_deref()))
            .collect();
        keys.sort_unstable();
        if keys.windows(2).any(|w| w[0] == w[1]) {
            out.push((
                "tax_rates",
                "each country/region may have only one rate".to_owned(),
            ));
        }
    }

    fn shipping_problems<'a>(&'a self, out: &mut Vec<(&'a str, String)>) {
        for (i, m) in self.shipping_methods.iter().enumerate() {
            let code_ok = (1..=40).contains(&m.code.len())
                && m.code.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
                });
            if !code_ok {
                out.push((
                    "shipping_methods",
                    format!("method {i}: code must be 1 to 40 of a-z, 0-9, '-', '_'"),
                ));
            }
            if parse_display_name(&m.name).is_err() {
                out.push((
                    "shipping_methods",
                    format!("method {i}: name must be 1 to 120 characters"),
                ));
            }
            if !(0..=crate::MAX_AMOUNT).contains(&m.price) {
                out.push((
                    "shipping_methods",
                    format!(
                        "method {i}: price must be between 0 and {}",
                        crate::MAX_AMOUNT
                    ),
                ));
            }
            if m.countries
                .iter()
                .any(|c| crate::parse_country(c).ok().as_deref() != Some(c.as_str()))
            {
                out.push((
                    "shipping_methods",
                    format!("method {i}: countries must be two-letter upper-case codes"),
                ));
            }
        }
        let mut codes: Vec<&str> = self
            .shipping_methods
            .iter()
            .map(|m| m.code.as_str())
            .collect();
        codes.sort_unstable();
        if codes.windows(2).any(|w| w[0] == w[1]) {
            out.push(("shipping_methods", "method codes must be unique".to_owned()));
        }
    }

    fn provider_problems<'a>(&'a self, out: &mut Vec<(&'a str, String)>) {
        if self.payment_providers.is_empty() {
            out.push((
                "payment_providers",
                "must name at least one provider, such as manual".to_owned(),
            ));
        }
        for (i, p) in self.payment_providers.iter().enumerate() {
            if !PAYMENT_PROVIDERS.contains(&p.as_str()) {
                out.push((
                    "payment_providers",
                    format!(
                        "provider {i}: must be one of {}",
                        PAYMENT_PROVIDERS.join(", ")
                    ),
                ));
            } else if self.payment_providers[..i].contains(p) {
                out.push((
                    "payment_providers",
                    format!("provider {i}: '{p}' is listed twice"),
                ));
            }
        }
    }
}

/// Checks a display name: 1–120 characters once trimmed, no control characters.
pub fn parse_display_name(raw: &str) -> Result<String, String> {
    let s = raw.trim();
    if s.is_empty() || s.chars().count() > 120 {
        return Err("must be 1 to 120 characters long".into());
    }
    if s.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(s.to_owned())
}

/// A shop on the platform.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Tenant {
    pub id: TenantId,
    pub slug: Slug,
    pub name: String,
    pub status: TenantStatus,
    pub plan: PlanName,
    pub domains: Vec<DomainName>,
    pub settings: TenantSettings,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The limits of the tenant's plan, loaded with it.
    #[serde(skip)]
    pub limits: crate::PlanLimits,
}

/// A validated request to create a tenant. `plan: None` means the default plan.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTenant {
    pub slug: Slug,
    pub name: String,
    pub plan: Option<PlanName>,
    pub domains: Vec<DomainName>,
    pub settings: TenantSettings,
}

/// A validated partial update; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TenantPatch {
    pub name: Option<String>,
    pub status: Option<TenantStatus>,
    pub plan: Option<PlanName>,
    pub domains: Option<Vec<DomainName>>,
    pub settings: Option<TenantSettings>,
    /// `settings` leaves the shop's DKIM signing (`email_dkim`, its sealed
    /// key included) as it is stored: the platform API replaces a shop's
    /// settings without ever seeing the key, which only its staff set.
    pub keep_email_dkim: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_follow_dns_label_rules() {
        assert!(Slug::parse("demo").is_ok());
        assert!(Slug::parse("shop-42").is_ok());
        for bad in [
            "a",
            "Demo",
            "-x",
            "x-",
            "a_b",
            "api",
            "caf\u{e9}",
            &"x".repeat(64),
        ] {
            assert!(Slug::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn domains_are_lowercased_and_checked_label_by_label() {
        assert_eq!(
            DomainName::parse("Shop.Example.COM.").unwrap().as_str(),
            "shop.example.com"
        );
        for bad in ["localhost", "a..b", "-a.com", "a_b.com", "exa mple.com"] {
            assert!(DomainName::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn settings_problems_name_each_bad_field() {
        let s = TenantSettings {
            currency: "usd".into(),
            cors_origins: vec!["shop.example.com".into()],
            email_sender: Some("nobody".into()),
            require_staff_mfa: false,
            tax_rates: Vec::new(),
            shipping_methods: Vec::new(),
            payment_timeout_secs: default_payment_timeout(),
            payment_providers: vec!["manual".into(), "paypal".into(), "manual".into()],
            unknown: [("require_staff_mfaa".to_owned(), serde_json::json!(true))].into(),
            time_zone: "Mars/Olympus".into(),
            ..TenantSettings::default()
        };
        let fields: Vec<_> = s.problems().into_iter().map(|(f, _)| f).collect();
        assert_eq!(
            fields,
            [
                "require_staff_mfaa",
                "currency",
                "cors_origins",
                "email_sender",
                "payment_providers",
                "payment_providers",
                "time_zone"
            ]
        );
        assert!(TenantSettings::default().problems().is_empty());
    }

    #[test]
    fn settings_keep_keys_they_do_not_know_through_a_round_trip() {
        let stored = serde_json::json!({"currency": "EUR", "loyalty_points": {"rate": 2}});
        let s: TenantSettings = serde_json::from_value(stored).unwrap();
        assert_eq!(s.currency, "EUR");
        assert_eq!(
            s.time_zone, "UTC",
            "settings stored before the zone existed"
        );
        assert_eq!(s.unknown["loyalty_points"]["rate"], 2);
        let back = serde_json::to_value(&s).unwrap();
        assert_eq!(back["loyalty_points"]["rate"], 2);
        assert!(
            serde_json::to_value(TenantSettings::default()).unwrap()["unknown"].is_null(),
            "no field of that name is written"
        );
    }
}
