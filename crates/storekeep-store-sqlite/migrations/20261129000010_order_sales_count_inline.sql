-- PostgreSQL's sales-counter trigger works out an order's figures as
-- PL/pgSQL expressions in this version (its migration of the same
-- number). SQLite's triggers are SQL already: nothing changes here. The
-- migration exists so that both backends' schemas carry the same
-- version, which the portable archives compare.
SELECT 1;
