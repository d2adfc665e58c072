-- Rentals and rent-to-own: plans (the terms a variant is rented on),
-- serial-tracked units with their history, contracts made at checkout,
-- their installment schedules, and every money movement on a contract.
-- Contracts snapshot their terms, so a later plan edit never changes a
-- signed contract; plans are deactivated, not deleted, once used.

CREATE TABLE rental_plans (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    variant_id uuid NOT NULL REFERENCES variants (id) ON DELETE CASCADE,
    name text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('fixed_term', 'rent_to_own')),
    term_unit text NOT NULL CHECK (term_unit IN ('month', 'week')),
    term integer NOT NULL CHECK (term > 0),
    min_term integer NOT NULL CHECK (min_term > 0),
    max_term integer NOT NULL CHECK (max_term >= min_term),
    price_per_period bigint NOT NULL CHECK (price_per_period >= 0),
    deposit jsonb NOT NULL,      -- DepositRule
    late_fee jsonb NOT NULL,     -- LateFeeRule
    buyout jsonb NOT NULL,       -- BuyoutRule
    extension_allowed boolean NOT NULL,
    maintainer text NOT NULL CHECK (maintainer IN ('shop', 'customer')),
    default_after_days integer NOT NULL CHECK (default_after_days >= 0),
    active boolean NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE INDEX rental_plans_tenant ON rental_plans (tenant_id, id);
CREATE INDEX rental_plans_variant ON rental_plans (tenant_id, variant_id, id);

CREATE TABLE rental_units (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    variant_id uuid NOT NULL REFERENCES variants (id) ON DELETE CASCADE,
    serial text NOT NULL,
    condition text NOT NULL CHECK (condition IN ('a', 'b', 'c')),
    notes text NOT NULL,
    status text NOT NULL CHECK (status IN
        ('available', 'rented', 'inspection', 'repair', 'sold', 'retired')),
    contract_id uuid,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT rental_units_serial_key UNIQUE (tenant_id, serial),
    -- a rented unit names its contract; no other state does
    CHECK ((status = 'rented') = (contract_id IS NOT NULL))
);

CREATE INDEX rental_units_variant ON rental_units (tenant_id, variant_id, status, id);

CREATE TABLE rental_unit_events (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    unit_id uuid NOT NULL REFERENCES rental_units (id) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN
        ('added', 'rented', 'returned', 'inspected', 'repaired', 'sold', 'retired', 'updated')),
    contract_id uuid,
    condition text CHECK (condition IN ('a', 'b', 'c')),
    note text NOT NULL,
    actor_id uuid,
    at timestamptz NOT NULL
);

CREATE INDEX rental_unit_events_unit ON rental_unit_events (unit_id, id);

CREATE TABLE rental_contracts (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    order_id uuid NOT NULL REFERENCES orders (id),
    order_line_id uuid NOT NULL,
    plan_id uuid NOT NULL,
    variant_id uuid NOT NULL,
    unit_id uuid REFERENCES rental_units (id),
    customer_id uuid,
    status text NOT NULL CHECK (status IN
        ('active', 'overdue', 'returned', 'bought_out', 'completed', 'defaulted', 'cancelled')),
    terms jsonb NOT NULL,        -- RentalTerms as agreed
    cash_price bigint NOT NULL CHECK (cash_price >= 0),
    currency text NOT NULL,
    deposit bigint NOT NULL CHECK (deposit >= 0),
    deposit_held bigint NOT NULL CHECK (deposit_held >= 0 AND deposit_held <= deposit),
    term integer NOT NULL CHECK (term > 0),
    time_zone text NOT NULL,
    start_date date NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT rental_contracts_line_key UNIQUE (order_line_id)
);

CREATE INDEX rental_contracts_tenant ON rental_contracts (tenant_id, id);
CREATE INDEX rental_contracts_status ON rental_contracts (tenant_id, status, id);
CREATE INDEX rental_contracts_customer ON rental_contracts (tenant_id, customer_id, id);
CREATE INDEX rental_contracts_order ON rental_contracts (order_id);

CREATE TABLE rental_installments (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    contract_id uuid NOT NULL REFERENCES rental_contracts (id) ON DELETE CASCADE,
    seq integer NOT NULL CHECK (seq > 0),
    due_date date NOT NULL,
    amount bigint NOT NULL CHECK (amount >= 0),
    late_fee bigint NOT NULL DEFAULT 0 CHECK (late_fee >= 0),
    late_fee_at timestamptz,
    paid_at timestamptz,
    reminders jsonb NOT NULL DEFAULT '[]',
    CONSTRAINT rental_installments_seq_key UNIQUE (contract_id, seq)
);

-- The daily job: unpaid installments by due date.
CREATE INDEX rental_installments_due ON rental_installments (due_date) WHERE paid_at IS NULL;

CREATE TABLE rental_payments (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    contract_id uuid NOT NULL REFERENCES rental_contracts (id) ON DELETE CASCADE,
    installment_id uuid,
    kind text NOT NULL CHECK (kind IN
        ('deposit', 'installment', 'late_fee', 'buyout', 'damage_charge', 'deposit_refund')),
    amount bigint NOT NULL CHECK (amount >= 0),
    provider text NOT NULL,
    reference text NOT NULL,
    reason text,
    actor_id uuid,
    -- one money movement per purpose: 'late_fee:<installment>', 'installment:<id>' …
    key text NOT NULL,
    created_at timestamptz NOT NULL,
    CONSTRAINT rental_payments_key UNIQUE (contract_id, key)
);

CREATE INDEX rental_payments_contract ON rental_payments (contract_id, id);

-- A cart line may rent its variant on a plan, for a term.
ALTER TABLE cart_items ADD COLUMN rental_plan_id uuid;
ALTER TABLE cart_items ADD COLUMN rental_term integer CHECK (rental_term > 0);
