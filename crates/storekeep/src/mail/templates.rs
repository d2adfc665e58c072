//! The email templates (askama, compiled and type-checked; files under
//! `crates/storekeep/templates/email/`): one per kind, each a subject, a
//! plain-text part and an HTML part (table layout, inline styles, the
//! shop's logo, name and colours). HTML parts escape every value.

use askama::Template;

/// Every kind of email, by its template name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    OrderPlaced,
    PaymentReceived,
    OrderFulfilled,
    OrderDelivered,
    Refunded,
    PaymentDeclined,
    PasswordReset,
    MfaEnabled,
    MfaDisabled,
    NewDevice,
    WebhookDisabled,
    RentalDueSoon,
    RentalDueToday,
    RentalOverdue,
    RentalContract,
}

impl Kind {
    pub const ALL: [Self; 15] = [
        Self::OrderPlaced,
        Self::PaymentReceived,
        Self::OrderFulfilled,
        Self::OrderDelivered,
        Self::Refunded,
        Self::PaymentDeclined,
        Self::PasswordReset,
        Self::MfaEnabled,
        Self::MfaDisabled,
        Self::NewDevice,
        Self::WebhookDisabled,
        Self::RentalDueSoon,
        Self::RentalDueToday,
        Self::RentalOverdue,
        Self::RentalContract,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::OrderPlaced => "order_placed",
            Self::PaymentReceived => "payment_received",
            Self::OrderFulfilled => "order_fulfilled",
            Self::OrderDelivered => "order_delivered",
            Self::Refunded => "refunded",
            Self::PaymentDeclined => "payment_declined",
            Self::PasswordReset => "password_reset",
            Self::MfaEnabled => "mfa_enabled",
            Self::MfaDisabled => "mfa_disabled",
            Self::NewDevice => "new_device",
            Self::WebhookDisabled => "webhook_disabled",
            Self::RentalDueSoon => "rental_due_soon",
            Self::RentalDueToday => "rental_due_today",
            Self::RentalOverdue => "rental_overdue",
            Self::RentalContract => "rental_contract",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Who receives it.
    pub fn audience(self) -> &'static str {
        match self {
            Self::WebhookDisabled => "staff",
            Self::PasswordReset | Self::MfaEnabled | Self::MfaDisabled | Self::NewDevice => {
                "account"
            }
            _ => "customer",
        }
    }

    fn subject(self, c: &Context) -> String {
        let shop = &c.brand.shop_name;
        let number = c.order.as_ref().map_or("", |o| o.number.as_str());
        let (amount, due) = c
            .reminder
            .as_ref()
            .map_or(("", ""), |r| (r.total_due.as_str(), r.due_date.as_str()));
        let contract = c
            .rental_contract
            .as_ref()
            .map_or("", |r| r.contract.as_str());
        match self {
            Self::OrderPlaced => format!("Your {shop} order {number}"),
            Self::PaymentReceived => format!("Payment received for order {number}"),
            Self::OrderFulfilled => format!("Your {shop} order {number} has shipped"),
            Self::OrderDelivered => format!("Your {shop} order {number} was delivered"),
            Self::Refunded => format!("Refund for your {shop} order {number}"),
            Self::PaymentDeclined => format!("Payment declined for order {number}"),
            Self::PasswordReset => format!("Reset your {shop} password"),
            Self::MfaEnabled => format!("Two-step sign-in turned on for your {shop} account"),
            Self::MfaDisabled => format!("Two-step sign-in turned off for your {shop} account"),
            Self::NewDevice => format!("New sign-in to your {shop} account"),
            Self::WebhookDisabled => format!("{shop}: a webhook endpoint was disabled"),
            Self::RentalDueSoon => {
                format!("{shop}: your rental payment of {amount} is due on {due}")
            }
            Self::RentalDueToday => format!("{shop}: your rental payment of {amount} is due today"),
            Self::RentalOverdue => format!("{shop}: your rental payment of {amount} is overdue"),
            Self::RentalContract => format!("Your {shop} rental agreement {contract}"),
        }
    }
}

/// The shop's look: name, logo and colours, with the text colours that
/// keep contrast on them.
#[derive(Debug, Clone)]
pub struct Branding {
    pub shop_name: String,
    pub logo_url: Option<String>,
    pub brand_color: String,
    pub accent_color: String,
    pub on_brand: String,
    pub on_accent: String,
}

pub const DEFAULT_BRAND_COLOR: &str = "#1f2933";
pub const DEFAULT_ACCENT_COLOR: &str = "#2563eb";

impl Branding {
    pub fn new(
        shop_name: &str,
        logo_url: Option<&str>,
        brand: Option<&str>,
        accent: Option<&str>,
    ) -> Self {
        let brand = brand.unwrap_or(DEFAULT_BRAND_COLOR).to_owned();
        let accent = accent.unwrap_or(DEFAULT_ACCENT_COLOR).to_owned();
        Self {
            shop_name: shop_name.to_owned(),
            logo_url: logo_url.map(str::to_owned),
            on_brand: readable_on(&brand).to_owned(),
            on_accent: readable_on(&accent).to_owned(),
            brand_color: brand,
            accent_color: accent,
        }
    }
}

/// White or near-black, whichever contrasts more with `#rrggbb` (WCAG
/// relative luminance).
pub fn readable_on(color: &str) -> &'static str {
    let channel = |i: usize| {
        let v = f64::from(u8::from_str_radix(color.get(i..i + 2).unwrap_or("00"), 16).unwrap_or(0))
            / 255.0;
        if v <= 0.039_28 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    let l = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
    let dark_l = 0.012_1; // #111111
    if (1.05) / (l + 0.05) >= (l + 0.05) / (dark_l + 0.05) {
        "#ffffff"
    } else {
        "#111111"
    }
}

#[derive(Debug, Clone)]
pub struct LineSummary {
    pub title: String,
    pub sku: String,
    pub quantity: i64,
    pub unit_price: String,
    pub total: String,
}

/// What an order email shows: lines, totals, shipping address, status.
#[derive(Debug, Clone)]
pub struct OrderSummary {
    pub number: String,
    pub status: String,
    pub lines: Vec<LineSummary>,
    pub subtotal: String,
    pub discount: Option<String>,
    pub shipping: String,
    pub shipping_method: String,
    pub tax: String,
    pub total: String,
    pub refunded: Option<String>,
    pub address: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Device {
    pub agent: String,
    pub network: String,
}

#[derive(Debug, Clone)]
pub struct Webhook {
    pub url: String,
    pub reason: String,
}

/// What a rental reminder shows: one installment of one contract, money
/// and dates already formatted.
#[derive(Debug, Clone)]
pub struct RentalReminder {
    /// The contract's reference (its number).
    pub contract: String,
    /// What is rented.
    pub product: String,
    pub seq: i32,
    pub due_date: String,
    pub amount: String,
    /// The late fee charged on it, if any.
    pub late_fee: Option<String>,
    /// The installment and its late fee.
    pub total_due: String,
    /// Where to pay, when the shop has a page for it.
    pub pay_url: Option<String>,
}

/// One line of a schedule in an email.
#[derive(Debug, Clone)]
pub struct ScheduleLine {
    pub seq: i32,
    pub due_date: String,
    pub amount: String,
}

/// What the email sent when a contract is made shows: its terms and a
/// summary of its schedule, money and dates already formatted.
#[derive(Debug, Clone)]
pub struct RentalContractSummary {
    pub contract: String,
    pub product: String,
    /// `rent-to-own` or `fixed-term`, and what happens at the end.
    pub kind: String,
    pub end: String,
    /// `12 monthly payments of $49.99`.
    pub payments: String,
    pub first_due: String,
    pub last_due: String,
    pub cash_price: String,
    pub deposit: Option<String>,
    pub due_at_start: String,
    pub total_of_payments: String,
    pub cost_of_renting: String,
    /// The first few installments.
    pub schedule: Vec<ScheduleLine>,
    /// How many more follow those shown.
    pub more: usize,
    /// The early-purchase terms in words, for rent-to-own.
    pub early_purchase: Option<String>,
    /// Each fee in words.
    pub fees: Vec<String>,
    /// Who maintains the goods, in words.
    pub maintainer: String,
    /// Where to read or print the whole agreement.
    pub document_url: Option<String>,
}

/// Everything any template may show; each kind uses its share.
#[derive(Debug, Clone)]
pub struct Context {
    pub lang: String,
    pub brand: Branding,
    pub order: Option<OrderSummary>,
    /// An amount the message is about (a payment, a refund).
    pub amount: Option<String>,
    /// A link to act on (the password reset page).
    pub link: Option<String>,
    /// A single-use code (the password reset token).
    pub token: Option<String>,
    /// When it happened, already formatted.
    pub at: String,
    pub device: Option<Device>,
    pub webhook: Option<Webhook>,
    pub reminder: Option<RentalReminder>,
    pub rental_contract: Option<RentalContractSummary>,
}

impl Context {
    pub fn new(brand: Branding) -> Self {
        Self {
            lang: "en".into(),
            brand,
            order: None,
            amount: None,
            link: None,
            token: None,
            at: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
            device: None,
            webhook: None,
            reminder: None,
            rental_contract: None,
        }
    }
}

/// A rendered message's three parts.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

macro_rules! kind_templates {
    ($($kind:ident: $html:ident = $hpath:literal, $text:ident = $tpath:literal;)*) => {
        $(
            #[derive(Template)]
            #[template(path = $hpath)]
            struct $html<'a> {
                c: &'a Context,
                subject: &'a str,
            }

            #[derive(Template)]
            #[template(path = $tpath)]
            struct $text<'a> {
                c: &'a Context,
                #[expect(dead_code, reason = "the text parts show no subject; the struct mirrors the HTML one")]
                subject: &'a str,
            }
        )*

        /// Renders `kind` with `c`.
        pub fn render(kind: Kind, c: &Context) -> Result<Rendered, askama::Error> {
            let subject = kind.subject(c);
            let s = subject.as_str();
            let (html, text) = match kind {
                $(Kind::$kind => ($html { c, subject: s }.render()?, $text { c, subject: s }.render()?),)*
            };
            Ok(Rendered { subject, text: tidy_text(&text), html })
        }
    };
}

kind_templates! {
    OrderPlaced: OrderPlacedHtml = "email/order_placed.html", OrderPlacedText = "email/order_placed.txt";
    PaymentReceived: PaymentReceivedHtml = "email/payment_received.html", PaymentReceivedText = "email/payment_received.txt";
    OrderFulfilled: OrderFulfilledHtml = "email/order_fulfilled.html", OrderFulfilledText = "email/order_fulfilled.txt";
    OrderDelivered: OrderDeliveredHtml = "email/order_delivered.html", OrderDeliveredText = "email/order_delivered.txt";
    Refunded: RefundedHtml = "email/refunded.html", RefundedText = "email/refunded.txt";
    PaymentDeclined: PaymentDeclinedHtml = "email/payment_declined.html", PaymentDeclinedText = "email/payment_declined.txt";
    PasswordReset: PasswordResetHtml = "email/password_reset.html", PasswordResetText = "email/password_reset.txt";
    MfaEnabled: MfaEnabledHtml = "email/mfa_enabled.html", MfaEnabledText = "email/mfa_enabled.txt";
    MfaDisabled: MfaDisabledHtml = "email/mfa_disabled.html", MfaDisabledText = "email/mfa_disabled.txt";
    NewDevice: NewDeviceHtml = "email/new_device.html", NewDeviceText = "email/new_device.txt";
    WebhookDisabled: WebhookDisabledHtml = "email/webhook_disabled.html", WebhookDisabledText = "email/webhook_disabled.txt";
    RentalDueSoon: RentalDueSoonHtml = "email/rental_due_soon.html", RentalDueSoonText = "email/rental_due_soon.txt";
    RentalDueToday: RentalDueTodayHtml = "email/rental_due_today.html", RentalDueTodayText = "email/rental_due_today.txt";
    RentalOverdue: RentalOverdueHtml = "email/rental_overdue.html", RentalOverdueText = "email/rental_overdue.txt";
    RentalContract: RentalContractHtml = "email/rental_contract.html", RentalContractText = "email/rental_contract.txt";
}

/// At most one blank line in a row, no trailing spaces.
fn tidy_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.trim().lines() {
        let line = line.trim_end();
        blank = if line.is_empty() { blank + 1 } else { 0 };
        if blank < 2 {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// An amount in minor units as the shop's customers read it:
/// `$1,234.50`, `€9.99`, `¥1,200`, `CHF 12.00`.
pub fn format_money(amount: i64, currency: &str) -> String {
    let digits = storekeep_domain::minor_digits(currency);
    let scale = 10_i64.pow(digits);
    let (whole, frac) = (
        amount.unsigned_abs() / scale as u64,
        amount.unsigned_abs() % scale as u64,
    );
    let whole = whole.to_string();
    let mut grouped = String::new();
    for (i, ch) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    let number = if digits == 0 {
        grouped
    } else {
        format!("{grouped}.{frac:0width$}", width = digits as usize)
    };
    let sign = if amount < 0 { "-" } else { "" };
    match currency {
        "USD" => format!("{sign}${number}"),
        "EUR" => format!("{sign}€{number}"),
        "GBP" => format!("{sign}£{number}"),
        "JPY" => format!("{sign}¥{number}"),
        _ => format!("{sign}{currency} {number}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_follows_the_currency() {
        assert_eq!(format_money(123_450, "USD"), "$1,234.50");
        assert_eq!(format_money(999, "EUR"), "€9.99");
        assert_eq!(format_money(1200, "JPY"), "¥1,200");
        assert_eq!(format_money(1_500, "KWD"), "KWD 1.500");
        assert_eq!(format_money(-5, "CHF"), "-CHF 0.05");
        assert_eq!(format_money(0, "USD"), "$0.00");
    }

    #[test]
    fn text_on_a_colour_keeps_contrast() {
        assert_eq!(readable_on("#000000"), "#ffffff");
        assert_eq!(readable_on("#ffffff"), "#111111");
        assert_eq!(readable_on("#ffd700"), "#111111");
        assert_eq!(readable_on("#1f2933"), "#ffffff");
    }

    #[test]
    fn every_kind_has_a_name_that_parses_back() {
        for k in Kind::ALL {
            assert_eq!(Kind::parse(k.name()), Some(k));
        }
        assert_eq!(Kind::parse("nope"), None);
    }
}
