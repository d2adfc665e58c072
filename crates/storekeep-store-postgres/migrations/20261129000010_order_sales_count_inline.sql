-- The sales counters' trigger (migrations 20261128000090 and …110) with
-- an order's figures worked out as PL/pgSQL expressions instead of a
-- `SELECT … FROM order_sales_figures(…)` per row.
--
-- Measured with `pg_stat_statements.track = all` over 6,000 checkouts
-- (docs/benchmarks.md, "Where a PostgreSQL checkout's time goes" and the
-- section after it): that SELECT ran once per order written, 0.06 to
-- 0.10 ms each, a statement through
-- the executor to evaluate two CASE expressions. As expressions with no
-- table in them, PL/pgSQL evaluates them on its fast path. The figures
-- are order_sales_figures' (kept: the backfill of …090 used it, and it
-- states the rule in one place to read); the console's sales tests on
-- PostgreSQL check the counters after every kind of order write.
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
    add_orders := CASE WHEN NEW.status <> 'cancelled' THEN 1 ELSE 0 END;
    add_revenue := CASE WHEN NEW.status IN ('paid', 'fulfilled', 'delivered', 'refunded')
                        THEN NEW.total - NEW.refunded ELSE 0 END;
    IF TG_OP = 'UPDATE' THEN
        old_orders := CASE WHEN OLD.status <> 'cancelled' THEN 1 ELSE 0 END;
        old_revenue := CASE WHEN OLD.status IN ('paid', 'fulfilled', 'delivered', 'refunded')
                            THEN OLD.total - OLD.refunded ELSE 0 END;
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
