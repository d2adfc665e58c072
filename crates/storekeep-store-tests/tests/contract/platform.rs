//! The store itself, plans and tenants: the platform-level operations.

use storekeep_domain::{
    DomainName, NewPlan, PLATFORM_SCOPE, PlanLimits, PlanName, Slug, TenantPatch, TenantSettings,
    TenantStatus,
};
use storekeep_store::{DatabaseKind, StoreError};

use crate::support::{POOL_SIZE, actions, all_pages, connect, ctx, new_tenant, on_postgres, page};

fn plan(name: &str, max_products: i64) -> NewPlan {
    NewPlan {
        name: PlanName::parse(name).unwrap(),
        limits: PlanLimits {
            max_products,
            ..PlanLimits::default()
        },
    }
}

fn domain(name: &str) -> DomainName {
    DomainName::parse(name).unwrap()
}

#[tokio::test]
async fn a_fresh_store_is_migrated_reachable_and_says_what_it_runs_on() {
    let db = connect().await;
    let store = &db.store;

    store.ping().await.unwrap();
    let status = store.migration_status().await.unwrap();
    store.migrate().await.unwrap();

    assert!(status.is_current(), "{status:?}");
    assert_eq!(status.unknown_applied, 0);
    assert_eq!(store.migration_status().await.unwrap(), status);
    let expected = if on_postgres() {
        DatabaseKind::Postgres
    } else {
        DatabaseKind::Sqlite
    };
    assert_eq!(store.kind(), expected);
    let pool = store.pool_stats();
    assert_eq!(pool.max, POOL_SIZE);
    assert!(pool.idle <= pool.size && pool.size <= pool.max, "{pool:?}");
}

#[tokio::test]
async fn plans_are_created_found_by_name_and_listed_by_cursor() {
    let db = connect().await;
    let store = &db.store;

    let growth = store
        .create_plan(&plan("growth", 50), &ctx())
        .await
        .unwrap();
    store.create_plan(&plan("pro", 500), &ctx()).await.unwrap();
    store.create_plan(&plan("max", 5000), &ctx()).await.unwrap();
    let taken = store.create_plan(&plan("growth", 1), &ctx()).await;

    assert!(matches!(taken, Err(StoreError::Conflict { field: "name" })));
    assert_eq!(
        store
            .plan_by_name(&PlanName::parse("growth").unwrap())
            .await
            .unwrap(),
        growth
    );
    assert_eq!(growth.limits.max_products, 50);
    assert!(matches!(
        store.plan_by_name(&PlanName::parse("nope").unwrap()).await,
        Err(StoreError::NotFound("plan"))
    ));
    let names: Vec<String> = all_pages(2, async |p| store.list_plans(&p).await)
        .await
        .into_iter()
        .map(|p| p.name.to_string())
        .collect();
    assert_eq!(names, ["default", "growth", "pro", "max"]);
    let audit = actions(store.as_ref(), PLATFORM_SCOPE).await;
    assert_eq!(audit, ["plan.create", "plan.create", "plan.create"]);
}

#[tokio::test]
async fn a_tenant_is_created_with_its_plan_and_domains_and_found_by_slug_or_domain() {
    let db = connect().await;
    let store = &db.store;
    store
        .create_plan(&plan("growth", 50), &ctx())
        .await
        .unwrap();
    let mut new = new_tenant("acme");
    new.plan = Some(PlanName::parse("growth").unwrap());
    new.domains = vec![domain("shop.acme.test"), domain("acme.example")];

    let tenant = store.create_tenant(&new, &ctx()).await.unwrap();

    assert_eq!(tenant.slug.as_str(), "acme");
    assert_eq!(tenant.status, TenantStatus::Active);
    assert_eq!(tenant.plan.as_str(), "growth");
    assert_eq!(tenant.limits.max_products, 50);
    let domains: Vec<&str> = tenant.domains.iter().map(DomainName::as_str).collect();
    assert_eq!(domains, ["acme.example", "shop.acme.test"], "sorted");
    assert_eq!(store.tenant_by_slug(&new.slug).await.unwrap(), tenant);
    assert_eq!(
        store
            .tenant_by_domain(&domain("SHOP.acme.test"))
            .await
            .unwrap(),
        tenant
    );
    assert!(matches!(
        store.tenant_by_domain(&domain("other.test")).await,
        Err(StoreError::NotFound("tenant"))
    ));
    assert!(matches!(
        store.tenant_by_slug(&Slug::parse("nobody").unwrap()).await,
        Err(StoreError::NotFound("tenant"))
    ));
    let audit = actions(store.as_ref(), PLATFORM_SCOPE).await;
    assert_eq!(audit.last().map(String::as_str), Some("tenant.create"));
}

#[tokio::test]
async fn a_taken_slug_or_domain_or_an_unknown_plan_creates_nothing() {
    let db = connect().await;
    let store = &db.store;
    let mut first = new_tenant("acme");
    first.domains = vec![domain("acme.test")];
    store.create_tenant(&first, &ctx()).await.unwrap();
    let mut same_domain = new_tenant("other");
    same_domain.domains = vec![domain("fresh.test"), domain("acme.test")];
    let mut unknown_plan = new_tenant("third");
    unknown_plan.plan = Some(PlanName::parse("missing").unwrap());

    let slug = store.create_tenant(&new_tenant("acme"), &ctx()).await;
    let taken = store.create_tenant(&same_domain, &ctx()).await;
    let plan = store.create_tenant(&unknown_plan, &ctx()).await;

    assert!(matches!(slug, Err(StoreError::Conflict { field: "slug" })));
    assert!(matches!(
        taken,
        Err(StoreError::Conflict { field: "domains" })
    ));
    assert!(matches!(
        plan,
        Err(StoreError::UnknownReference { field: "plan" })
    ));
    for slug in ["other", "third"] {
        assert!(matches!(
            store.tenant_by_slug(&Slug::parse(slug).unwrap()).await,
            Err(StoreError::NotFound("tenant"))
        ));
    }
    assert!(matches!(
        store.tenant_by_domain(&domain("fresh.test")).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(
        actions(store.as_ref(), PLATFORM_SCOPE).await,
        ["tenant.create"]
    );
}

#[tokio::test]
async fn updating_a_tenant_applies_its_patch_and_replaces_its_domains() {
    let db = connect().await;
    let store = &db.store;
    store
        .create_plan(&plan("growth", 50), &ctx())
        .await
        .unwrap();
    let mut new = new_tenant("acme");
    new.domains = vec![domain("old.test")];
    let before = store.create_tenant(&new, &ctx()).await.unwrap();
    let mut other = new_tenant("other");
    other.domains = vec![domain("other.test")];
    store.create_tenant(&other, &ctx()).await.unwrap();
    let settings = TenantSettings {
        currency: "EUR".into(),
        ..TenantSettings::default()
    };

    let after = store
        .update_tenant(
            &new.slug,
            &TenantPatch {
                name: Some("Acme Ltd".into()),
                status: Some(TenantStatus::Suspended),
                plan: Some(PlanName::parse("growth").unwrap()),
                domains: Some(vec![domain("new.test")]),
                settings: Some(settings.clone()),
                keep_email_dkim: false,
            },
            &ctx(),
        )
        .await
        .unwrap();

    assert_eq!(after.id, before.id);
    assert_eq!(after.name, "Acme Ltd");
    assert_eq!(after.status, TenantStatus::Suspended);
    assert_eq!(
        (after.plan.as_str(), after.limits.max_products),
        ("growth", 50)
    );
    assert_eq!(after.settings, settings);
    assert_eq!(after.domains, [domain("new.test")]);
    assert_eq!(after.created_at, before.created_at);
    assert!(matches!(
        store.tenant_by_domain(&domain("old.test")).await,
        Err(StoreError::NotFound("tenant"))
    ));
    assert_eq!(
        store.tenant_by_domain(&domain("new.test")).await.unwrap(),
        after
    );
    let last = crate::support::chain(store.as_ref(), PLATFORM_SCOPE)
        .await
        .pop()
        .unwrap();
    assert_eq!(last.action, "tenant.update");
    assert_eq!(last.before.unwrap()["name"], "Shop acme");
    assert_eq!(last.after.unwrap()["name"], "Acme Ltd");
}

#[tokio::test]
async fn a_refused_tenant_update_changes_nothing() {
    let db = connect().await;
    let store = &db.store;
    let mut new = new_tenant("acme");
    new.domains = vec![domain("acme.test")];
    let before = store.create_tenant(&new, &ctx()).await.unwrap();
    let mut other = new_tenant("other");
    other.domains = vec![domain("other.test")];
    store.create_tenant(&other, &ctx()).await.unwrap();
    let rename = |domains, plan: Option<&str>| TenantPatch {
        name: Some("Renamed".into()),
        domains,
        plan: plan.map(|p| PlanName::parse(p).unwrap()),
        ..TenantPatch::default()
    };

    let taken = store
        .update_tenant(
            &new.slug,
            &rename(Some(vec![domain("other.test")]), None),
            &ctx(),
        )
        .await;
    let plan = store
        .update_tenant(&new.slug, &rename(None, Some("missing")), &ctx())
        .await;
    let missing = store
        .update_tenant(&Slug::parse("nobody").unwrap(), &rename(None, None), &ctx())
        .await;

    assert!(matches!(
        taken,
        Err(StoreError::Conflict { field: "domains" })
    ));
    assert!(matches!(
        plan,
        Err(StoreError::UnknownReference { field: "plan" })
    ));
    assert!(matches!(missing, Err(StoreError::NotFound("tenant"))));
    assert_eq!(store.tenant_by_slug(&new.slug).await.unwrap(), before);
    assert_eq!(
        actions(store.as_ref(), PLATFORM_SCOPE).await,
        ["tenant.create", "tenant.create"]
    );
}

#[tokio::test]
async fn tenants_page_by_cursor_without_skips_or_repeats() {
    let db = connect().await;
    let store = &db.store;
    let mut made = Vec::new();
    for slug in ["aa", "bb", "cc", "dd", "ee"] {
        made.push(
            store
                .create_tenant(&new_tenant(slug), &ctx())
                .await
                .unwrap()
                .id,
        );
    }

    let listed: Vec<_> = all_pages(2, async |p| store.list_tenants(&p).await)
        .await
        .into_iter()
        .map(|t| t.id)
        .collect();
    let bad = store
        .list_tenants(&page(2, Some("not-a-cursor".into())))
        .await;

    assert_eq!(listed, made, "every tenant once, in creation order");
    assert!(matches!(bad, Err(StoreError::InvalidCursor)));
}

#[tokio::test]
async fn a_closed_store_refuses_further_work() {
    let db = connect().await;
    let store = &db.store;
    store.ping().await.unwrap();

    store.close().await;

    // A closed pool is a node going away: callers get the outage answer
    // (503 and Retry-After), never a fault.
    assert!(matches!(
        store.ping().await,
        Err(StoreError::Unavailable(_))
    ));
    assert!(matches!(
        store.list_plans(&Default::default()).await,
        Err(StoreError::Unavailable(_))
    ));
}
