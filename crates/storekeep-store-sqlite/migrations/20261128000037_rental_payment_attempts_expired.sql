-- i15: a pending installment attempt older than its shop's payment timeout
-- is closed as 'expired' when the customer starts another one, so a
-- provider that never answers cannot block the installment. SQLite cannot
-- alter a CHECK constraint: the table is rebuilt with its rows and indexes
-- (nothing references it).
CREATE TABLE rental_payment_attempts_new (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL,
    contract_id TEXT NOT NULL REFERENCES rental_contracts (id) ON DELETE CASCADE,
    installment_id TEXT NOT NULL REFERENCES rental_installments (id) ON DELETE CASCADE,
    customer_id TEXT,
    provider TEXT NOT NULL,
    reference TEXT NOT NULL,
    amount INTEGER NOT NULL CHECK (amount >= 0),
    late_fee INTEGER NOT NULL CHECK (late_fee >= 0),
    status TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'declined', 'expired')),
    idempotency_key TEXT,
    -- the provider's event that settled it (a replay changes nothing)
    event_id TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CONSTRAINT rental_payment_attempts_reference UNIQUE (provider, reference)
) STRICT;

INSERT INTO rental_payment_attempts_new (id, tenant_id, contract_id, installment_id,
    customer_id, provider, reference, amount, late_fee, status, idempotency_key, event_id,
    created_at, updated_at)
SELECT id, tenant_id, contract_id, installment_id, customer_id, provider, reference, amount,
    late_fee, status, idempotency_key, event_id, created_at, updated_at
FROM rental_payment_attempts;

DROP TABLE rental_payment_attempts;
ALTER TABLE rental_payment_attempts_new RENAME TO rental_payment_attempts;

-- One attempt awaiting its provider per installment.
CREATE UNIQUE INDEX rental_payment_attempts_pending
    ON rental_payment_attempts (installment_id) WHERE status = 'pending';
-- A retried request (same Idempotency-Key) starts no second attempt.
CREATE UNIQUE INDEX rental_payment_attempts_key
    ON rental_payment_attempts (contract_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
