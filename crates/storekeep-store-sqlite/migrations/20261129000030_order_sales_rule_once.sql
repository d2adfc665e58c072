-- PostgreSQL states the sales rule once in this version, in two SQL
-- functions its trigger and `order_sales_figures` call (its migration of
-- the same number). SQLite's triggers keep their own SQL: nothing changes
-- here. The migration exists so that both backends' schemas carry the
-- same version, which the portable archives compare.
SELECT 1;
