//! The audit log's filters (`Store::search_audit`): an actor, an action
//! and a time span `[from, to)`, alone and together, newest first, paged by
//! sequence number, one chain only.

use std::time::Duration;

use chrono::{DateTime, Utc};
use storekeep_domain::{AuditContext, AuditEntry, AuditFilter};
use storekeep_store::Store;

use crate::support::{chain, connect};

fn by(actor: &str) -> AuditContext {
    AuditContext {
        actor: actor.into(),
        ip: None,
        request_id: None,
    }
}

/// Appends `(actor, action)` entries to `scope`, in order.
async fn append(store: &dyn Store, scope: &str, entries: &[(&str, &str)]) {
    for (i, (actor, action)) in entries.iter().enumerate() {
        store
            .append_audit(scope, &by(actor), action, &format!("t:{i}"), None)
            .await
            .unwrap();
    }
}

/// Every entry `filter` lets through, read a page of `limit` at a time
/// (each page's last `seq` is the next one's `before`).
async fn all_pages(
    store: &dyn Store,
    scope: &str,
    filter: &AuditFilter,
    limit: i64,
) -> Vec<AuditEntry> {
    let mut seen: Vec<AuditEntry> = Vec::new();
    loop {
        let before = seen.last().map(|e| e.seq);
        let page = store
            .search_audit(scope, filter, before, limit)
            .await
            .unwrap();
        assert!(page.len() as i64 <= limit);
        let done = (page.len() as i64) < limit;
        seen.extend(page);
        if done {
            return seen;
        }
    }
}

fn seqs(entries: &[AuditEntry]) -> Vec<i64> {
    entries.iter().map(|e| e.seq).collect()
}

/// `scope`'s chain newest first, kept where `keep` holds.
async fn expected(store: &dyn Store, scope: &str, keep: impl Fn(&AuditEntry) -> bool) -> Vec<i64> {
    let mut all = chain(store, scope).await;
    all.reverse();
    all.into_iter().filter(keep).map(|e| e.seq).collect()
}

const MIXED: &[(&str, &str)] = &[
    ("staff:1", "order.refund"),
    ("staff:2", "order.refund"),
    ("staff:1", "product.create"),
    ("api_key:9", "order.refund"),
    ("staff:1", "order.refund"),
    ("staff:2", "product.create"),
    ("staff:1", "order.refund.note"),
];

#[tokio::test]
async fn an_actor_or_an_action_lists_exactly_its_entries_newest_first() {
    let db = connect().await;
    let store: &dyn Store = db.store.as_ref();
    append(store, "scope-a", MIXED).await;
    // Another chain with the same actors and actions.
    append(store, "scope-b", MIXED).await;

    let actor = AuditFilter {
        actor: Some("staff:1".into()),
        ..AuditFilter::default()
    };
    let got = store
        .search_audit("scope-a", &actor, None, 50)
        .await
        .unwrap();
    assert_eq!(seqs(&got), [7, 5, 3, 1]);
    assert!(
        got.iter()
            .all(|e| e.scope == "scope-a" && e.actor == "staff:1")
    );

    let action = AuditFilter {
        action: Some("order.refund".into()),
        ..AuditFilter::default()
    };
    let got = store
        .search_audit("scope-a", &action, None, 50)
        .await
        .unwrap();
    assert_eq!(
        seqs(&got),
        [5, 4, 2, 1],
        "exact: order.refund.note is not one"
    );

    let both = AuditFilter {
        actor: Some("staff:1".into()),
        action: Some("order.refund".into()),
        ..AuditFilter::default()
    };
    let got = store
        .search_audit("scope-a", &both, None, 50)
        .await
        .unwrap();
    assert_eq!(seqs(&got), [5, 1]);
    assert!(got.iter().all(|e| e.scope == "scope-a"));

    // Exact, not a prefix nor a case-insensitive match; nobody's is empty.
    for actor in ["staff:", "STAFF:1", "staff:3"] {
        let f = AuditFilter {
            actor: Some(actor.into()),
            ..AuditFilter::default()
        };
        assert!(
            store
                .search_audit("scope-a", &f, None, 50)
                .await
                .unwrap()
                .is_empty()
        );
    }
    let prefix = AuditFilter {
        action: Some("order.".into()),
        ..AuditFilter::default()
    };
    assert!(
        store
            .search_audit("scope-a", &prefix, None, 50)
            .await
            .unwrap()
            .is_empty()
    );
    // No filter: the whole chain, as `list_audit` gives it.
    let any = store
        .search_audit("scope-a", &AuditFilter::default(), None, 50)
        .await
        .unwrap();
    assert_eq!(any, store.list_audit("scope-a", None, 50).await.unwrap());
    // A chain without entries.
    assert!(
        store
            .search_audit("nothing", &actor, None, 50)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_filtered_list_pages_by_seq_without_gaps_or_repeats() {
    let db = connect().await;
    let store: &dyn Store = db.store.as_ref();
    let many: Vec<(&str, &str)> = (0..40)
        .map(|i| match i % 3 {
            0 => ("staff:1", "order.refund"),
            1 => ("staff:2", "order.refund"),
            _ => ("staff:1", "product.create"),
        })
        .collect();
    append(store, "scope-a", &many).await;
    append(store, "scope-b", &many).await;

    for filter in [
        AuditFilter {
            actor: Some("staff:1".into()),
            ..AuditFilter::default()
        },
        AuditFilter {
            action: Some("order.refund".into()),
            ..AuditFilter::default()
        },
        AuditFilter {
            actor: Some("staff:1".into()),
            action: Some("order.refund".into()),
            ..AuditFilter::default()
        },
    ] {
        let want = expected(store, "scope-a", |e| {
            filter.actor.as_ref().is_none_or(|a| *a == e.actor)
                && filter.action.as_ref().is_none_or(|a| *a == e.action)
        })
        .await;
        assert!(want.len() > 5, "{filter:?}");
        for limit in [1, 4, 50] {
            let got = all_pages(store, "scope-a", &filter, limit).await;
            assert_eq!(seqs(&got), want, "{filter:?}, pages of {limit}");
            assert!(got.iter().all(|e| e.scope == "scope-a"));
        }
    }
}

/// Appends `n` entries to `scope`, a few milliseconds apart, and answers
/// the chain.
async fn spread(store: &dyn Store, scope: &str, n: usize) -> Vec<AuditEntry> {
    for i in 0..n {
        let actor = if i % 2 == 0 {
            "staff:even"
        } else {
            "staff:odd"
        };
        store
            .append_audit(scope, &by(actor), "note", &format!("n:{i}"), None)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    chain(store, scope).await
}

#[tokio::test]
async fn a_time_span_lists_the_entries_stamped_within_it() {
    let db = connect().await;
    let store: &dyn Store = db.store.as_ref();
    let a = spread(store, "scope-a", 12).await;
    let b = spread(store, "scope-b", 12).await;
    let span = |from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>| AuditFilter {
        from,
        to,
        ..AuditFilter::default()
    };
    let within = |from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>| {
        move |e: &AuditEntry| from.is_none_or(|f| e.at >= f) && to.is_none_or(|t| e.at < t)
    };

    let cases = [
        (Some(a[3].at), Some(a[8].at)),
        (Some(a[3].at), None),
        (None, Some(a[8].at)),
        // Bounds between two entries' times.
        (
            Some(a[3].at + chrono::Duration::microseconds(1)),
            Some(a[8].at - chrono::Duration::microseconds(1)),
        ),
        // The other chain's times: only this chain's entries within them.
        (Some(b[0].at), Some(b[11].at)),
        // Before every entry, after every entry, empty.
        (Some(a[0].at - chrono::Duration::days(1)), Some(a[0].at)),
        (Some(b[11].at + chrono::Duration::seconds(1)), None),
        (Some(a[5].at), Some(a[5].at)),
    ];
    for (from, to) in cases {
        let want = expected(store, "scope-a", within(from, to)).await;
        for limit in [2, 50] {
            let got = all_pages(store, "scope-a", &span(from, to), limit).await;
            assert_eq!(seqs(&got), want, "{from:?}..{to:?}, pages of {limit}");
            assert!(got.iter().all(|e| e.scope == "scope-a"));
        }
    }
    assert_eq!(
        expected(store, "scope-a", within(Some(a[3].at), Some(a[8].at))).await,
        [8, 7, 6, 5, 4],
        "entries 4 to 8 of the chain (seq starts at 1)"
    );

    // A span with an actor: both hold.
    let f = AuditFilter {
        actor: Some("staff:odd".into()),
        from: Some(a[3].at),
        to: Some(a[9].at),
        ..AuditFilter::default()
    };
    let got = all_pages(store, "scope-a", &f, 2).await;
    assert_eq!(seqs(&got), [8, 6, 4]);
    assert!(got.iter().all(|e| e.actor == "staff:odd"));
}
