-- Rentals and rent-to-own: plans (the terms a variant is rented on),
-- serial-tracked units with their history, contracts made at checkout,
-- their installment schedules, and every money movement on a contract.
-- Contracts snapshot their terms, so a later plan edit never changes a
-- signed contract; plans are deactivated, not deleted, once used.

CREATE TABLE rental_plans (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    variant_id TEXT NOT NULL REFERENCES variants (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('fixed_term', 'rent_to_own')),
    term_unit TEXT NOT NULL CHECK (term_unit IN ('month', 'week')),
    term INTEGER NOT NULL CHECK (term > 0),
    min_term INTEGER NOT NULL CHECK (min_term > 0),
    max_term INTEGER NOT NULL CHECK (max_term >= min_term),
    price_per_period INTEGER NOT NULL CHECK (price_per_period >= 0),
    deposit TEXT NOT NULL,      -- DepositRule
    late_fee TEXT NOT NULL,     -- LateFeeRule
    buyout TEXT NOT NULL,       -- BuyoutRule
    extension_allowed INTEGER NOT NULL,
    maintainer TEXT NOT NULL CHECK (maintainer IN ('shop', 'customer')),
    default_after_days INTEGER NOT NULL CHECK (default_after_days >= 0),
    active INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

CREATE INDEX rental_plans_tenant ON rental_plans (tenant_id, id);
CREATE INDEX rental_plans_variant ON rental_plans (tenant_id, variant_id, id);

CREATE TABLE rental_units (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    variant_id TEXT NOT NULL REFERENCES variants (id) ON DELETE CASCADE,
    serial TEXT NOT NULL,
    condition TEXT NOT NULL CHECK (condition IN ('a', 'b', 'c')),
    notes TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN
        ('available', 'rented', 'inspection', 'repair', 'sold', 'retired')),
    contract_id TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CONSTRAINT rental_units_serial_key UNIQUE (tenant_id, serial),
    -- a rented unit names its contract; no other state does
    CHECK ((status = 'rented') = (contract_id IS NOT NULL))
) STRICT;

CREATE INDEX rental_units_variant ON rental_units (tenant_id, variant_id, status, id);

CREATE TABLE rental_unit_events (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL,
    unit_id TEXT NOT NULL REFERENCES rental_units (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN
        ('added', 'rented', 'returned', 'inspected', 'repaired', 'sold', 'retired', 'updated')),
    contract_id TEXT,
    condition TEXT CHECK (condition IN ('a', 'b', 'c')),
    note TEXT NOT NULL,
    actor_id TEXT,
    at TEXT NOT NULL
) STRICT;

CREATE INDEX rental_unit_events_unit ON rental_unit_events (unit_id, id);

CREATE TABLE rental_contracts (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    order_id TEXT NOT NULL REFERENCES orders (id),
    order_line_id TEXT NOT NULL,
    plan_id TEXT NOT NULL,
    variant_id TEXT NOT NULL,
    unit_id TEXT REFERENCES rental_units (id),
    customer_id TEXT,
    status TEXT NOT NULL CHECK (status IN
        ('active', 'overdue', 'returned', 'bought_out', 'completed', 'defaulted', 'cancelled')),
    terms TEXT NOT NULL,        -- RentalTerms as agreed
    cash_price INTEGER NOT NULL CHECK (cash_price >= 0),
    currency TEXT NOT NULL,
    deposit INTEGER NOT NULL CHECK (deposit >= 0),
    deposit_held INTEGER NOT NULL CHECK (deposit_held >= 0 AND deposit_held <= deposit),
    term INTEGER NOT NULL CHECK (term > 0),
    time_zone TEXT NOT NULL,
    start_date TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CONSTRAINT rental_contracts_line_key UNIQUE (order_line_id)
) STRICT;

CREATE INDEX rental_contracts_tenant ON rental_contracts (tenant_id, id);
CREATE INDEX rental_contracts_status ON rental_contracts (tenant_id, status, id);
CREATE INDEX rental_contracts_customer ON rental_contracts (tenant_id, customer_id, id);
CREATE INDEX rental_contracts_order ON rental_contracts (order_id);

CREATE TABLE rental_installments (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL,
    contract_id TEXT NOT NULL REFERENCES rental_contracts (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL CHECK (seq > 0),
    due_date TEXT NOT NULL,
    amount INTEGER NOT NULL CHECK (amount >= 0),
    late_fee INTEGER NOT NULL DEFAULT 0 CHECK (late_fee >= 0),
    late_fee_at TEXT,
    paid_at TEXT,
    reminders TEXT NOT NULL DEFAULT '[]',
    CONSTRAINT rental_installments_seq_key UNIQUE (contract_id, seq)
) STRICT;

-- The daily job: unpaid installments by due date.
CREATE INDEX rental_installments_due ON rental_installments (due_date) WHERE paid_at IS NULL;

CREATE TABLE rental_payments (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL,
    contract_id TEXT NOT NULL REFERENCES rental_contracts (id) ON DELETE CASCADE,
    installment_id TEXT,
    kind TEXT NOT NULL CHECK (kind IN
        ('deposit', 'installment', 'late_fee', 'buyout', 'damage_charge', 'deposit_refund')),
    amount INTEGER NOT NULL CHECK (amount >= 0),
    provider TEXT NOT NULL,
    reference TEXT NOT NULL,
    reason TEXT,
    actor_id TEXT,
    -- one money movement per purpose: 'late_fee:<installment>', 'installment:<id>' …
    key TEXT NOT NULL,
    created_at TEXT NOT NULL,
    CONSTRAINT rental_payments_key UNIQUE (contract_id, key)
) STRICT;

CREATE INDEX rental_payments_contract ON rental_payments (contract_id, id);

-- A cart line may rent its variant on a plan, for a term.
ALTER TABLE cart_items ADD COLUMN rental_plan_id TEXT;
ALTER TABLE cart_items ADD COLUMN rental_term INTEGER CHECK (rental_term > 0);
