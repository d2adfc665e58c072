//! Rental plans and serial-tracked units: tenant-scoped CRUD, paging and
//! filters, unique serials per shop, staff status moves checked by the
//! rule (contract moves refused), and a history row and an audit entry
//! with every change.

use storekeep_domain::{
    BuyoutRule, DepositRule, LateFeeRule, Maintainer, RentalKind, RentalPlan, RentalPlanId,
    RentalTerms, RentalUnit, RentalUnitId, TermUnit, UnitCondition, UnitEventKind, UnitStatus,
    VariantId,
};
use storekeep_store::rentals::{RentalPlanFilter, RentalUnitFilter, RentalUnitPatch, UnitMove};
use storekeep_store::rules::rental_units::{CONTRACT_ONLY, NOT_ALLOWED};
use storekeep_store::{StoreError, now};

use crate::support::{Shop, all_pages, connect, ctx, page, shop};

fn plan(s: &Shop, variant: VariantId, name: &str) -> RentalPlan {
    let at = now();
    RentalPlan {
        id: RentalPlanId::new(),
        tenant_id: s.tenant,
        variant_id: variant,
        name: name.into(),
        terms: RentalTerms {
            kind: RentalKind::RentToOwn,
            term_unit: TermUnit::Month,
            term: 12,
            min_term: 6,
            max_term: 24,
            price_per_period: 4_900,
            deposit: DepositRule::Percent { bps: 1_000 },
            late_fee: LateFeeRule::Fixed {
                amount: 500,
                grace_days: 5,
            },
            buyout: BuyoutRule::CashPriceMinusRent { bps: 5_000 },
            extension_allowed: true,
            maintainer: Maintainer::Shop,
            default_after_days: 30,
        },
        active: true,
        created_at: at,
        updated_at: at,
    }
}

fn unit(s: &Shop, variant: VariantId, serial: &str) -> RentalUnit {
    let at = now();
    RentalUnit {
        id: RentalUnitId::new(),
        tenant_id: s.tenant,
        variant_id: variant,
        serial: serial.into(),
        condition: UnitCondition::A,
        notes: String::new(),
        status: UnitStatus::Available,
        contract_id: None,
        created_at: at,
        updated_at: at,
    }
}

fn to(status: UnitStatus, note: &str) -> UnitMove {
    UnitMove {
        to: status,
        condition: None,
        note: note.into(),
    }
}

#[tokio::test]
async fn plans_are_stored_listed_changed_and_deleted_per_shop() {
    let db = connect().await;
    let (a, b) = (shop(&db, "alpha").await, shop(&db, "beta").await);
    let laptop = a
        .product("laptop", &[("L-1", 90_000, 5), ("L-2", 120_000, 5)])
        .await;
    let (v1, v2) = (laptop.variants[0].id, laptop.variants[1].id);
    let store = &db.store;

    let one = store
        .create_rental_plan(&plan(&a, v1, "Monthly"), &ctx())
        .await
        .unwrap();
    assert_eq!(store.rental_plan(a.tenant, one.id).await.unwrap(), one);
    let two = store
        .create_rental_plan(&plan(&a, v2, "Yearly"), &ctx())
        .await
        .unwrap();
    let mut off = plan(&a, v1, "Old");
    off.active = false;
    let three = store.create_rental_plan(&off, &ctx()).await.unwrap();

    // Another shop sees none of them and cannot name this shop's variant.
    assert!(matches!(
        store.rental_plan(b.tenant, one.id).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store
            .create_rental_plan(&plan(&b, v1, "Stolen"), &ctx())
            .await,
        Err(StoreError::UnknownReference {
            field: "variant_id"
        })
    ));
    let none = RentalPlanFilter::default();
    let theirs = store
        .list_rental_plans(b.tenant, &none, &page(10, None))
        .await
        .unwrap();
    assert!(theirs.items.is_empty());

    // Paged, oldest first; filtered by variant and by activity.
    let all = all_pages(2, async |p| {
        store.list_rental_plans(a.tenant, &none, &p).await
    })
    .await;
    let ids: Vec<_> = all.iter().map(|p| p.id).collect();
    assert_eq!(ids, vec![one.id, two.id, three.id]);
    let by_variant = RentalPlanFilter {
        variant_id: Some(v1),
        active: None,
    };
    let of_v1 = store
        .list_rental_plans(a.tenant, &by_variant, &page(10, None))
        .await
        .unwrap();
    assert_eq!(
        of_v1.items.iter().map(|p| p.id).collect::<Vec<_>>(),
        vec![one.id, three.id]
    );
    let active_v1 = RentalPlanFilter {
        variant_id: Some(v1),
        active: Some(true),
    };
    let live = store
        .list_rental_plans(a.tenant, &active_v1, &page(10, None))
        .await
        .unwrap();
    assert_eq!(live.items, vec![one.clone()]);

    // An update keeps the creation time; another shop's is not found.
    let mut changed = one.clone();
    changed.name = "Monthly plus".into();
    changed.terms.price_per_period = 5_900;
    let updated = store.update_rental_plan(&changed, &ctx()).await.unwrap();
    assert_eq!(updated.created_at, one.created_at);
    assert_eq!(
        store
            .rental_plan(a.tenant, one.id)
            .await
            .unwrap()
            .terms
            .price_per_period,
        5_900
    );
    let mut foreign = changed.clone();
    foreign.tenant_id = b.tenant;
    assert!(matches!(
        store.update_rental_plan(&foreign, &ctx()).await,
        Err(StoreError::NotFound(_))
    ));

    // Deleting: another shop's is not found; an unused plan goes.
    assert!(matches!(
        store.delete_rental_plan(b.tenant, two.id, &ctx()).await,
        Err(StoreError::NotFound(_))
    ));
    store
        .delete_rental_plan(a.tenant, two.id, &ctx())
        .await
        .unwrap();
    assert!(matches!(
        store.rental_plan(a.tenant, two.id).await,
        Err(StoreError::NotFound(_))
    ));
    let actions = a.actions().await;
    for action in [
        "rental_plan.create",
        "rental_plan.update",
        "rental_plan.delete",
    ] {
        assert!(
            actions.iter().any(|x| x == action),
            "{action} in {actions:?}"
        );
    }
}

#[tokio::test]
async fn units_have_unique_serials_filters_and_a_history() {
    let db = connect().await;
    let (a, b) = (shop(&db, "alpha").await, shop(&db, "beta").await);
    let phone = a
        .product("phone", &[("P-1", 30_000, 5), ("P-2", 40_000, 5)])
        .await;
    let (v1, v2) = (phone.variants[0].id, phone.variants[1].id);
    let other = b.product("phone", &[("P-1", 30_000, 5)]).await.variants[0].id;
    let store = &db.store;

    let first = store
        .add_rental_unit(&unit(&a, v1, "SN-001"), "bought refurbished", &ctx())
        .await
        .unwrap();
    let second = store
        .add_rental_unit(&unit(&a, v1, "SN-002"), "", &ctx())
        .await
        .unwrap();
    let third = store
        .add_rental_unit(&unit(&a, v2, "SN-003"), "", &ctx())
        .await
        .unwrap();
    // A serial is the shop's once; another shop may have the same one.
    assert!(matches!(
        store
            .add_rental_unit(&unit(&a, v2, "SN-001"), "", &ctx())
            .await,
        Err(StoreError::Conflict { field: "serial" })
    ));
    store
        .add_rental_unit(&unit(&b, other, "SN-001"), "", &ctx())
        .await
        .unwrap();
    assert!(matches!(
        store
            .add_rental_unit(&unit(&b, v1, "SN-999"), "", &ctx())
            .await,
        Err(StoreError::UnknownReference {
            field: "variant_id"
        })
    ));
    assert_eq!(store.available_units(a.tenant, v1).await.unwrap(), 2);

    // Moves: to repair and back, refusals leave the unit as it was.
    store
        .move_rental_unit(
            a.tenant,
            second.id,
            &to(UnitStatus::Repair, "cracked screen"),
            &ctx(),
        )
        .await
        .unwrap();
    assert_eq!(store.available_units(a.tenant, v1).await.unwrap(), 1);
    for (status, why) in [
        (UnitStatus::Rented, CONTRACT_ONLY),
        (UnitStatus::Sold, CONTRACT_ONLY),
        (UnitStatus::Inspection, NOT_ALLOWED),
    ] {
        match store
            .move_rental_unit(a.tenant, second.id, &to(status, "no"), &ctx())
            .await
        {
            Err(StoreError::Invalid(m)) => assert_eq!(m, why),
            other => panic!("{status:?}: {other:?}"),
        }
    }
    let fixed = UnitMove {
        to: UnitStatus::Available,
        condition: Some(UnitCondition::B),
        note: "new screen".into(),
    };
    let back = store
        .move_rental_unit(a.tenant, second.id, &fixed, &ctx())
        .await
        .unwrap();
    assert_eq!(
        (back.status, back.condition),
        (UnitStatus::Available, UnitCondition::B)
    );
    store
        .move_rental_unit(
            a.tenant,
            third.id,
            &to(UnitStatus::Retired, "water damage"),
            &ctx(),
        )
        .await
        .unwrap();
    assert!(matches!(
        store
            .move_rental_unit(a.tenant, third.id, &to(UnitStatus::Available, ""), &ctx())
            .await,
        Err(StoreError::Invalid(NOT_ALLOWED))
    ));
    let patch = RentalUnitPatch {
        condition: Some(UnitCondition::C),
        notes: Some("scuffed lid".into()),
    };
    store
        .update_rental_unit(a.tenant, first.id, &patch, &ctx())
        .await
        .unwrap();

    // History, newest first.
    let (now_second, history) = store.rental_unit(a.tenant, second.id).await.unwrap();
    assert_eq!(now_second, back);
    let kinds: Vec<_> = history.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        vec![
            UnitEventKind::Repaired,
            UnitEventKind::Updated,
            UnitEventKind::Added
        ]
    );
    assert_eq!(history[0].note, "new screen");
    assert_eq!(history[0].condition, Some(UnitCondition::B));
    assert_eq!(history[1].note, "cracked screen");
    let (patched, history) = store.rental_unit(a.tenant, first.id).await.unwrap();
    assert_eq!(
        (patched.condition, patched.notes.as_str()),
        (UnitCondition::C, "scuffed lid")
    );
    assert_eq!(history.len(), 2);
    assert_eq!(history[1].note, "bought refurbished");

    // Lists: filters and paging; another shop's units are not found.
    let none = RentalUnitFilter::default();
    let all = all_pages(2, async |p| {
        store.list_rental_units(a.tenant, &none, &p).await
    })
    .await;
    assert_eq!(
        all.iter().map(|u| u.id).collect::<Vec<_>>(),
        vec![first.id, second.id, third.id]
    );
    let retired = RentalUnitFilter {
        status: Some(UnitStatus::Retired),
        ..RentalUnitFilter::default()
    };
    let found = store
        .list_rental_units(a.tenant, &retired, &page(10, None))
        .await
        .unwrap();
    assert_eq!(
        found.items.iter().map(|u| u.id).collect::<Vec<_>>(),
        vec![third.id]
    );
    let graded = RentalUnitFilter {
        variant_id: Some(v1),
        condition: Some(UnitCondition::B),
        ..RentalUnitFilter::default()
    };
    let found = store
        .list_rental_units(a.tenant, &graded, &page(10, None))
        .await
        .unwrap();
    assert_eq!(
        found.items.iter().map(|u| u.id).collect::<Vec<_>>(),
        vec![second.id]
    );
    assert!(matches!(
        store.rental_unit(b.tenant, first.id).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store
            .move_rental_unit(b.tenant, first.id, &to(UnitStatus::Repair, ""), &ctx())
            .await,
        Err(StoreError::NotFound(_))
    ));
    let counts = store.rental_unit_counts(a.tenant, v2).await.unwrap();
    assert_eq!((counts.total, counts.available), (1, 0));
    let actions = a.actions().await;
    for action in [
        "rental_unit.create",
        "rental_unit.status",
        "rental_unit.update",
    ] {
        assert!(
            actions.iter().any(|x| x == action),
            "{action} in {actions:?}"
        );
    }
}
