-- The sales counters' bucket is the committing connection's, not a random
-- one of eight (migration 20261128000090).
--
-- Measured with `scripts/bench checkout` at 64 clients on a 32-connection
-- pool: checkouts waited on the eight hot rows of the quarter hour (269
-- lock waits over 5 ms in 2,000 checkouts, 241 of them "while inserting
-- index tuple in relation order_sales_slots"), each row held from the
-- deferred trigger through the commit's WAL flush, and PostgreSQL took
-- about 325 checkouts/s whatever the checkout itself cost.
--
-- A connection commits one transaction at a time, so a bucket of its own
-- never makes it wait: the bucket is the server process id modulo 64.
-- Two connections share a bucket only when their process ids do modulo
-- 64 (with 32 connections, about two pairs). A slot holds at most one row
-- per bucket used in it: a reader of a day sums at most 96 x 64 rows per
-- currency, however many orders the day took.
CREATE OR REPLACE FUNCTION order_sales_count() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    b smallint := (pg_backend_pid() % 64)::smallint;
    add_orders bigint;
    add_revenue bigint;
    old_orders bigint;
    old_revenue bigint;
BEGIN
    SELECT f.orders, f.revenue INTO add_orders, add_revenue
    FROM order_sales_figures(NEW.status, NEW.total, NEW.refunded) f;
    IF TG_OP = 'UPDATE' THEN
        SELECT f.orders, f.revenue INTO old_orders, old_revenue
        FROM order_sales_figures(OLD.status, OLD.total, OLD.refunded) f;
        IF OLD.tenant_id = NEW.tenant_id AND OLD.currency = NEW.currency
           AND order_sales_slot(OLD.created_at) = order_sales_slot(NEW.created_at) THEN
            add_orders := add_orders - old_orders;
            add_revenue := add_revenue - old_revenue;
        ELSE
            INSERT INTO order_sales_slots AS s (tenant_id, slot, currency, bucket, orders, revenue)
            VALUES (OLD.tenant_id, order_sales_slot(OLD.created_at), OLD.currency, b,
                    -old_orders, -old_revenue)
            ON CONFLICT (tenant_id, slot, currency, bucket) DO UPDATE
            SET orders = s.orders + excluded.orders, revenue = s.revenue + excluded.revenue;
        END IF;
    END IF;
    IF add_orders <> 0 OR add_revenue <> 0 THEN
        INSERT INTO order_sales_slots AS s (tenant_id, slot, currency, bucket, orders, revenue)
        VALUES (NEW.tenant_id, order_sales_slot(NEW.created_at), NEW.currency, b,
                add_orders, add_revenue)
        ON CONFLICT (tenant_id, slot, currency, bucket) DO UPDATE
        SET orders = s.orders + excluded.orders, revenue = s.revenue + excluded.revenue;
    END IF;
    RETURN NULL;
END
$$;
