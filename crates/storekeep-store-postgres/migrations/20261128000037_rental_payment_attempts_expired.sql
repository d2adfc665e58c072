-- i15: a pending installment attempt older than its shop's payment timeout
-- is closed as 'expired' when the customer starts another one, so a
-- provider that never answers cannot block the installment.
ALTER TABLE rental_payment_attempts DROP CONSTRAINT rental_payment_attempts_status_check;
ALTER TABLE rental_payment_attempts ADD CONSTRAINT rental_payment_attempts_status_check
    CHECK (status IN ('pending', 'confirmed', 'declined', 'expired'));
