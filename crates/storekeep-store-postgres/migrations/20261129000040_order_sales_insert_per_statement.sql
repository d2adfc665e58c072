-- The sales counters count a statement's new orders once per statement,
-- not once per order.
--
-- Until now a deferred row trigger ran `order_sales_count()` for every
-- order inserted, at `COMMIT`: a checkout batch (`commerce/batch.rs`)
-- inserts up to 128 orders of a shop in one statement and so ran the
-- trigger function, and its upsert into the same counter row, once for
-- each of them. An `AFTER INSERT … FOR EACH STATEMENT` trigger reads the
-- statement's new rows from its transition table and adds them up per
-- counter row: one upsert per shop, quarter hour and currency in the
-- statement, whatever the number of orders.
--
-- The counter row is now locked from the order's insert to `COMMIT`
-- rather than at `COMMIT` only. It is the inserting connection's own
-- bucket (the process id modulo 64, migration 20261128000110), so only
-- a connection sharing that bucket could wait on it. A batch inserts its
-- orders in its last statement before `COMMIT`, and so does a lone
-- checkout (`commerce/checkout.rs`) unless it rents: then the contract,
-- one statement per installment (a term may have hundreds) and an event
-- follow, and a connection sharing the bucket may wait for them (a batch
-- at most its 300 ms `lock_timeout`, after which its checkouts run
-- alone). The rows are upserted in shop, quarter and currency order, so
-- two statements that share a bucket and several counter rows queue
-- rather than deadlock.
--
-- Updates keep the deferred row trigger (`order_sales_update`): a
-- trigger with a column list cannot have transition tables, and orders
-- change one at a time.
DROP TRIGGER order_sales_insert ON orders;

CREATE FUNCTION order_sales_count_inserted() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    INSERT INTO order_sales_slots AS s (tenant_id, slot, currency, bucket, orders, revenue)
    SELECT n.tenant_id, order_sales_slot(n.created_at), n.currency,
           (pg_backend_pid() % 64)::smallint,
           sum(order_sales_orders(n.status)),
           sum(order_sales_revenue(n.status, n.total, n.refunded))
    FROM inserted n
    GROUP BY 1, 2, 3
    HAVING sum(order_sales_orders(n.status)) <> 0
        OR sum(order_sales_revenue(n.status, n.total, n.refunded)) <> 0
    ORDER BY 1, 2, 3
    ON CONFLICT (tenant_id, slot, currency, bucket) DO UPDATE
    SET orders = s.orders + excluded.orders, revenue = s.revenue + excluded.revenue;
    RETURN NULL;
END
$$;

CREATE TRIGGER order_sales_insert AFTER INSERT ON orders
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION order_sales_count_inserted();
