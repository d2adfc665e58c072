//! Domain types shared by every layer of storekeep: identifiers, validated
//! newtypes and the records the business logic works with.
//!
//! Nothing here knows about HTTP or SQL. Values are parsed once at the edge
//! ("parse, don't validate"): a `Slug` or `DomainName` that exists is valid.

mod catalog;
mod commerce;
mod identity;
mod ids;
mod jobs;
mod page;
mod permission;
mod plan;
#[cfg(test)]
mod proptests;
mod rentals;
mod storefront;
mod tenant;
mod validation;
mod webhooks;

pub use catalog::{
    Category, CategoryPatch, Handle, ImageVariant, ImportOutcome, ImportProgress, ImportRow,
    ImportRowError, ImportStatus, ImportVariant, Inventory, InventoryAdjustment, MAX_AMOUNT,
    MAX_DESCRIPTION, MAX_QUANTITY, MAX_TAGS, MAX_TITLE, MAX_VARIANTS, Money, NewCategory, NewImage,
    NewProduct, NewProductImport, NewVariant, Product, ProductCursor, ProductImage, ProductImport,
    ProductPatch, ProductQuery, ProductSort, ProductStatus, SearchDoc, Sku, Variant, VariantPatch,
    minor_digits, parse_tag, search_document, search_terms, title_key,
};
pub use commerce::{
    AppliedDeal, Cart, CartItem, CartPatch, CartStatus, CheckoutOutcome, CurrencySales, Deal,
    DealKind, DealTarget, MAX_CART_LINES, MAX_LINE_QUANTITY, NewCart, NewDeal, NewOrder,
    NewPayment, NewRefund, Order, OrderDetail, OrderFilter, OrderLine, OrderStatus,
    OrderTransition, OutboxEvent, Payment, PaymentOutcome, PaymentStatus, PricingContext,
    PricingLine, Quote, QuotedLine, Refund, RestockLine, SaleVariant, Settlement, ShippingMethod,
    Shortage, TaxRate, UnmatchedPayment, parse_country, parse_coupon_code, parse_region, price,
    tax_rate_for,
};
pub use identity::{
    AccessTokenRecord, ApiKeyId, ApiKeyRecord, AuditContext, AuditEntry, AuditFilter,
    LoginThrottle, NewApiKey, NewOAuthClient, NewSession, NewSignInChallenge, OAuthClientId,
    OAuthClientRecord, PLATFORM_SCOPE, Role, SessionId, SessionRecord, UserId, UserKind,
    UserRecord,
};
pub use ids::JobId;
pub use ids::{
    CartId, CartItemId, CategoryId, DealId, EventId, ImageId, OrderId, OrderLineId, PaymentId,
    PlanId, ProductId, ProductImportId, RefundId, TenantId, VariantId,
};
pub use ids::{InstallmentId, RentalContractId, RentalPlanId, RentalUnitId};
pub use ids::{WebhookDeliveryId, WebhookEndpointId};
pub use jobs::{Job, JobErrorEntry, JobFilter, JobState, NewJob, QueueStats};
pub use page::{Page, PageRequest};
pub use permission::Permission;
pub use plan::{DEFAULT_PLAN, NewPlan, Plan, PlanLimits, PlanLimitsPatch, PlanName};
pub use rentals::{
    BuyoutRule, ContractStatus, DepositRule, FULL_SHARE_BPS, InspectionOutcome, Installment,
    LateFeeRule, MAX_TERM_PERIODS, Maintainer, RentalContract, RentalKind, RentalPaymentKind,
    RentalPlan, RentalTerms, RentalUnit, TermUnit, UnitCondition, UnitEvent, UnitEventKind,
    UnitStatus,
};
pub use storefront::{
    FONT_STACKS, MAX_CUSTOM_CSS, STOREFRONT_LANGUAGES, StorefrontSettings, custom_css_problem,
    is_media_key,
};
pub use tenant::{
    DomainName, EmailDkim, NewTenant, PAYMENT_PROVIDERS, Slug, Tenant, TenantPatch, TenantSettings,
    TenantStatus, parse_display_name,
};
pub use validation::{FieldError, ValidationErrors};
pub use webhooks::{
    DeliveryOutcome, WebhookDelivery, WebhookEndpoint, WebhookEndpointPatch, WebhookReplay,
    WebhookStatus, subscribes,
};
// Rental contracts (contracts part).
pub use rentals::{ContractDetail, ContractFilter, NewContract, RentalPayment};
