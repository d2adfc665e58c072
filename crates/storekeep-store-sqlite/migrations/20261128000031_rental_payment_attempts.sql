-- i15 phase 3: a customer's payment of one installment through the shop's
-- payment providers, pending until the provider confirms or declines it.
-- A confirmation records the installment in rental_payments (key
-- 'installment:<id>'), once.
CREATE TABLE rental_payment_attempts (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL,
    contract_id TEXT NOT NULL REFERENCES rental_contracts (id) ON DELETE CASCADE,
    installment_id TEXT NOT NULL REFERENCES rental_installments (id) ON DELETE CASCADE,
    customer_id TEXT,
    provider TEXT NOT NULL,
    reference TEXT NOT NULL,
    amount INTEGER NOT NULL CHECK (amount >= 0),
    late_fee INTEGER NOT NULL CHECK (late_fee >= 0),
    status TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'declined')),
    idempotency_key TEXT,
    -- the provider's event that settled it (a replay changes nothing)
    event_id TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CONSTRAINT rental_payment_attempts_reference UNIQUE (provider, reference)
) STRICT;

-- One attempt awaiting its provider per installment.
CREATE UNIQUE INDEX rental_payment_attempts_pending
    ON rental_payment_attempts (installment_id) WHERE status = 'pending';
-- A retried request (same Idempotency-Key) starts no second attempt.
CREATE UNIQUE INDEX rental_payment_attempts_key
    ON rental_payment_attempts (contract_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
