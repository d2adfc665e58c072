//! Newtype identifiers: a `TenantId` can never be passed where a `PlanId`
//! is expected. All ids are UUIDv7, so their byte order is creation order,
//! which cursor pagination relies on.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
            utoipa::ToSchema,
        )]
        #[serde(transparent)]
        #[schema(value_type = String, format = Uuid)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

id_type!(
    /// Identifies a tenant (one shop).
    TenantId
);
id_type!(
    /// Identifies a plan (a named set of limits).
    PlanId
);
id_type!(
    /// Identifies a product.
    ProductId
);
id_type!(
    /// Identifies a product variant (the thing with a SKU, a price and stock).
    VariantId
);
id_type!(
    /// Identifies a category.
    CategoryId
);
id_type!(
    /// Identifies a product image.
    ImageId
);
id_type!(
    /// Identifies a background CSV import of products (`product_imports`).
    ProductImportId
);
id_type!(
    /// Identifies a cart.
    CartId
);
id_type!(
    /// Identifies a line of a cart.
    CartItemId
);
id_type!(
    /// Identifies an order.
    OrderId
);
id_type!(
    /// Identifies a line of an order.
    OrderLineId
);
id_type!(
    /// Identifies a payment attempt.
    PaymentId
);
id_type!(
    /// Identifies a refund.
    RefundId
);
id_type!(
    /// Identifies a deal (an automatic promotion or a coupon).
    DealId
);
id_type!(
    /// Identifies an outbox event.
    EventId
);
id_type!(
    /// Identifies a background job.
    JobId
);
id_type!(
    /// Identifies an outbound webhook endpoint.
    WebhookEndpointId
);
id_type!(
    /// Identifies one delivery attempt to a webhook endpoint.
    WebhookDeliveryId
);
id_type!(
    /// Identifies a rental plan (the terms a variant is rented on).
    RentalPlanId
);
id_type!(
    /// Identifies one serial-tracked rentable unit.
    RentalUnitId
);
id_type!(
    /// Identifies a rental contract.
    RentalContractId
);
id_type!(
    /// Identifies one installment of a rental contract's schedule.
    InstallmentId
);
