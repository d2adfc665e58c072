//! The HTTP API, driven over real HTTP against a server started in this
//! process on a random port, on SQLite or (with STOREKEEP_TEST_DATABASE_URL)
//! PostgreSQL.

mod admin;
mod auth;
mod catalog;
mod catalog_bulk;
mod catalog_bulk_rows;
mod catalog_cache;
mod catalog_csv;
mod catalog_media;
mod catalog_nodes;
mod catalog_store;
mod catalog_support;
mod catalog_variants;
mod checkout;
mod checkout_commit_lost;
mod commerce_support;
mod connections;
mod console;
mod console_admin;
mod console_audit;
mod console_catalog2;
mod console_customers;
mod console_deals;
mod console_hooks;
mod console_import;
mod console_jobs;
mod console_orders;
mod console_platform;
mod console_products;
mod console_rentals;
mod console_settings;
mod console_support;
mod contention;
mod contract;
mod deals;
mod delivery;
mod deploy_kit;
mod docs;
mod email;
mod email_pool;
mod email_smtp;
mod email_support;
mod errors;
mod fuzz;
mod health;
mod identity;
mod isolation;
mod isolation_support;
mod jobs;
mod jobs_give_way;
mod metrics;
mod mfa;
mod orders;
mod outage;
mod outage_media;
mod outage_redis;
mod outage_support;
mod payments;
mod payments_unmatched;
mod plans;
mod pooler;
mod portable;
mod portable_all;
mod portable_reseal;
mod security;
mod staff_roles;
mod tenancy;
mod tenants;
mod topology;
mod web_account;
mod web_browser;
mod web_cart;
mod web_catalog;
mod web_checkout;
mod web_rentals;
mod web_review;
mod web_session;
mod web_shell;
mod web_support;
mod webhook_support;
mod webhooks_out;
// Rentals: plans and units, contracts.
mod rentals;
mod rentals_admin;
mod rentals_contract_support;
mod rentals_support;
mod rentals_units;
mod replica;
// i15 daily job
mod rentals_daily;
// i15 phase 2, glue: the pieces joined.
mod rentals_glue;
// Rentals: the contract life cycle (i15 phase 2).
mod rentals_life;
mod rentals_life_support;
// i15 phase 3, buy-out and returns.
mod rentals_buyout;
mod rentals_closed;
mod rentals_return;
// i15 phase 3, payments and extension.
mod rentals_extend;
mod rentals_pay;
mod rentals_self_pay;
// i16: customers' rights (export, erasure).
mod privacy;
// i16 review: staff actions name their actor, not `system`.
mod privacy_actors;
// i16: customers' rights by email (guest purchases).
mod privacy_email;
// i16 review: an erasure reaches only its shop's customer; concurrent
// erasures of one account queue instead of deadlocking.
mod privacy_scope;
