-- The sales rule (what an order counts in the sales figures) stated once:
-- two scalar SQL functions, called by the counters' trigger and by
-- `order_sales_figures`. Migration 20261129000010 had written the rule
-- out in the trigger's expressions (for each of NEW and OLD) beside
-- `order_sales_figures`, so the rule was in three places.
--
-- A scalar SQL function whose body is one expression is inlined where it
-- is called, so the trigger's assignments stay expressions with no table
-- in them, which PL/pgSQL evaluates on its fast path (no statement per
-- order: a `SELECT … FROM order_sales_figures(…)` per row was what
-- migration 20261129000010 took out).
--
-- The rule: an order counts as one order unless it is cancelled; its
-- revenue is its total less its refunds once it is paid (paid or later),
-- and nothing before. SQLite's triggers state it in their own SQL.
CREATE FUNCTION order_sales_orders(status text) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE WHEN status <> 'cancelled' THEN 1::bigint ELSE 0::bigint END $$;

CREATE FUNCTION order_sales_revenue(status text, total bigint, refunded bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE WHEN status IN ('paid', 'fulfilled', 'delivered', 'refunded')
                  THEN total - refunded ELSE 0::bigint END $$;

CREATE OR REPLACE FUNCTION order_sales_figures(status text, total bigint, refunded bigint,
    OUT orders bigint, OUT revenue bigint)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT order_sales_orders(status), order_sales_revenue(status, total, refunded) $$;

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
    add_orders := order_sales_orders(NEW.status);
    add_revenue := order_sales_revenue(NEW.status, NEW.total, NEW.refunded);
    IF TG_OP = 'UPDATE' THEN
        old_orders := order_sales_orders(OLD.status);
        old_revenue := order_sales_revenue(OLD.status, OLD.total, OLD.refunded);
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
