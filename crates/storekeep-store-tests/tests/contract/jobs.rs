//! The job queue: enqueue (unique keys, all-or-nothing batches), claims in
//! priority then time order, each job to one claimer, the lease token rule
//! for settling, rescue of expired leases, the operator's moves, the
//! queue figures and pruning.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::Duration as Span;
use storekeep_domain::{JobFilter, JobId, JobState, NewJob, TenantId};
use storekeep_store::jobs::Failure;
use storekeep_store::{Store, StoreError, now};

use crate::support::{all_pages, connect, on_postgres, page};

const LEASE: Duration = Duration::from_secs(60);

fn job(kind: &str) -> NewJob {
    NewJob::new(kind, serde_json::json!({ "n": 1 }))
}

async fn claim_one(store: &dyn Store, queue: &str) -> storekeep_domain::Job {
    let mut got = store.claim(queue, 1, LEASE, "w1").await.unwrap();
    assert_eq!(got.len(), 1, "one job claimed");
    got.remove(0)
}

#[tokio::test]
async fn a_second_enqueue_with_the_same_unique_key_answers_the_first_job() {
    let db = connect().await;
    let store = &db.store;
    let first = store.enqueue(&job("a").unique_key("k1")).await.unwrap();
    let again = store.enqueue(&job("b").unique_key("k1")).await.unwrap();
    let other = store.enqueue(&job("a").unique_key("k2")).await.unwrap();
    let plain = store.enqueue(&job("a")).await.unwrap();

    assert_eq!(first, again);
    assert_ne!(first, other);
    assert_ne!(plain, first);
    let all = store
        .list_jobs(None, &JobFilter::default(), &page(50, None))
        .await
        .unwrap();
    assert_eq!(all.items.len(), 3);
    let kept = store.job(None, first).await.unwrap();
    assert_eq!(kept.kind, "a", "the second enqueue changed nothing");
    assert_eq!(kept.state, JobState::Available);
    assert_eq!(kept.attempt, 0);
}

#[tokio::test]
async fn a_batch_with_a_bad_job_enqueues_nothing() {
    let db = connect().await;
    let store = &db.store;
    // The first job is inserted in the batch's transaction before the
    // second is refused: the rollback must take it back.
    let err = store
        .enqueue_many(&[job("good"), job("bad").max_attempts(0)])
        .await
        .unwrap_err();

    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    assert!(
        store
            .claim("default", 10, LEASE, "w1")
            .await
            .unwrap()
            .is_empty()
    );
    let listed = store
        .list_jobs(None, &JobFilter::default(), &page(10, None))
        .await
        .unwrap();
    assert!(listed.items.is_empty());
    let ids = store.enqueue_many(&[job("x"), job("y")]).await.unwrap();
    assert_eq!(ids.len(), 2);
}

#[tokio::test]
async fn claims_take_due_jobs_of_their_queue_by_priority_then_time() {
    let db = connect().await;
    let store = &db.store;
    let t = now();
    let late = store
        .enqueue(&job("late").priority(5).run_at(t - Span::seconds(30)))
        .await
        .unwrap();
    let early = store
        .enqueue(&job("early").priority(5).run_at(t - Span::seconds(60)))
        .await
        .unwrap();
    let urgent = store.enqueue(&job("urgent").priority(-1)).await.unwrap();
    let future = store
        .enqueue(&job("future").run_at(t + Span::hours(1)))
        .await
        .unwrap();
    let elsewhere = store.enqueue(&job("mail").queue("email")).await.unwrap();

    let claimed = store.claim("default", 10, LEASE, "w1").await.unwrap();

    let ids: Vec<JobId> = claimed.iter().map(|j| j.id).collect();
    assert_eq!(ids, [urgent, early, late]);
    for j in &claimed {
        assert_eq!(j.state, JobState::Running);
        assert_eq!(j.attempt, 1);
        assert_eq!(j.locked_by.as_deref(), Some("w1"));
        assert!(j.lease_token.is_some());
        assert!(j.locked_until.unwrap() > now() + Span::seconds(50));
    }
    assert!(!ids.contains(&future) && !ids.contains(&elsewhere));
    assert!(
        store
            .claim("default", 10, LEASE, "w2")
            .await
            .unwrap()
            .is_empty()
    );
    let mail = store.claim("email", 10, LEASE, "w2").await.unwrap();
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].id, elsewhere);
    // The limit holds.
    for _ in 0..3 {
        store.enqueue(&job("more").queue("bulk")).await.unwrap();
    }
    assert_eq!(store.claim("bulk", 2, LEASE, "w1").await.unwrap().len(), 2);
}

#[tokio::test]
async fn only_the_current_lease_holder_settles_a_job() {
    let db = connect().await;
    let store = &db.store;
    let id = store.enqueue(&job("a")).await.unwrap();
    let first = claim_one(store.as_ref(), "default").await;
    let stale = first.lease_token.unwrap();
    // The first worker's lease ends without a word from it: rescued.
    assert_eq!(store.rescue(now() + Span::seconds(61)).await.unwrap(), 1);
    let rescued = store.job(None, id).await.unwrap();
    assert_eq!(rescued.state, JobState::Retryable);
    assert_eq!(rescued.errors.len(), 1);
    assert_eq!(rescued.lease_token, None);
    // Its lease ended with it: the token completes nothing, alone or in a
    // batch, while the job waits to run again.
    assert!(!store.complete(id, stale).await.unwrap());
    assert_eq!(store.complete_many(&[(id, stale)]).await.unwrap(), [false]);
    assert_eq!(
        store.job(None, id).await.unwrap().state,
        JobState::Retryable
    );
    let second = claim_one(store.as_ref(), "default").await;
    let token = second.lease_token.unwrap();
    assert_ne!(token, stale, "a claim takes a new token");
    assert_eq!(second.attempt, 2);

    // The stale worker comes back: nothing it says applies.
    assert!(
        !store
            .heartbeat(id, stale, now() + Span::hours(1))
            .await
            .unwrap()
    );
    assert!(!store.complete(id, stale).await.unwrap());
    assert_eq!(store.complete_many(&[(id, stale)]).await.unwrap(), [false]);
    assert!(!store.fail(id, stale, "late", Failure::Dead).await.unwrap());
    assert_eq!(store.job(None, id).await.unwrap().state, JobState::Running);

    let until = now() + Span::minutes(5);
    assert!(store.heartbeat(id, token, until).await.unwrap());
    assert_eq!(store.job(None, id).await.unwrap().locked_until, Some(until));
    assert!(store.complete(id, token).await.unwrap());
    let done = store.job(None, id).await.unwrap();
    assert_eq!(done.state, JobState::Completed);
    assert!(done.finished_at.is_some());
    assert!(!store.complete(id, token).await.unwrap(), "settled once");
}

#[tokio::test]
async fn a_batch_completes_only_the_jobs_still_held_under_their_tokens() {
    let db = connect().await;
    let store = &db.store;
    for _ in 0..3 {
        store.enqueue(&job("noop")).await.unwrap();
    }
    let held = store.claim("default", 3, LEASE, "w1").await.unwrap();
    assert_eq!(held.len(), 3);
    let token = |i: usize| held[i].lease_token.unwrap();
    // The third is presented with a token that is not its lease's.
    let batch = [
        (held[0].id, token(0)),
        (held[1].id, token(1)),
        (held[2].id, uuid::Uuid::now_v7()),
    ];
    assert_eq!(
        store.complete_many(&batch).await.unwrap(),
        [true, true, false]
    );
    for (j, state) in held
        .iter()
        .zip([JobState::Completed, JobState::Completed, JobState::Running])
    {
        assert_eq!(store.job(None, j.id).await.unwrap().state, state);
    }
    assert_eq!(
        store.complete_many(&batch[..1]).await.unwrap(),
        [false],
        "settled once"
    );
    assert!(store.complete_many(&[]).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_failed_attempt_is_retried_later_or_dead_lettered() {
    let db = connect().await;
    let store = &db.store;
    let id = store.enqueue(&job("a")).await.unwrap();
    let j = claim_one(store.as_ref(), "default").await;
    let later = now() + Span::minutes(10);

    assert!(
        store
            .fail(
                id,
                j.lease_token.unwrap(),
                "timed out",
                Failure::RetryAt(later)
            )
            .await
            .unwrap()
    );

    let waiting = store.job(None, id).await.unwrap();
    assert_eq!(waiting.state, JobState::Retryable);
    assert_eq!(waiting.run_at, later);
    assert_eq!(waiting.last_error.as_deref(), Some("timed out"));
    assert_eq!(waiting.errors[0].attempt, 1);
    assert!(
        store
            .claim("default", 1, LEASE, "w1")
            .await
            .unwrap()
            .is_empty(),
        "not due yet"
    );

    let other = store.enqueue(&job("b")).await.unwrap();
    let j = claim_one(store.as_ref(), "default").await;
    assert!(
        store
            .fail(other, j.lease_token.unwrap(), "refused", Failure::Dead)
            .await
            .unwrap()
    );
    let dead = store.job(None, other).await.unwrap();
    assert_eq!(dead.state, JobState::Dead);
    assert!(dead.finished_at.is_some());
}

#[tokio::test]
async fn an_expired_lease_out_of_attempts_is_dead() {
    let db = connect().await;
    let store = &db.store;
    let once = store.enqueue(&job("a").max_attempts(1)).await.unwrap();
    let live = store.enqueue(&job("b")).await.unwrap();
    claim_one(store.as_ref(), "default").await;
    claim_one(store.as_ref(), "default").await;

    assert_eq!(
        store.rescue(now() + Span::seconds(10)).await.unwrap(),
        0,
        "leases still run"
    );
    assert_eq!(store.rescue(now() + Span::seconds(61)).await.unwrap(), 2);

    assert_eq!(store.job(None, once).await.unwrap().state, JobState::Dead);
    assert_eq!(
        store.job(None, live).await.unwrap().state,
        JobState::Retryable
    );
}

#[tokio::test]
async fn operators_retry_dead_jobs_and_discard_waiting_ones() {
    let db = connect().await;
    let store = &db.store;
    let (shop, other) = (TenantId::new(), TenantId::new());
    let id = store
        .enqueue(&job("a").tenant(shop).max_attempts(1))
        .await
        .unwrap();
    let j = claim_one(store.as_ref(), "default").await;
    store
        .fail(id, j.lease_token.unwrap(), "boom", Failure::Dead)
        .await
        .unwrap();

    // Another shop sees nothing.
    assert!(matches!(
        store.job(Some(other), id).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.retry_job(Some(other), id).await,
        Err(StoreError::NotFound(_))
    ));

    let again = store.retry_job(Some(shop), id).await.unwrap();
    assert_eq!(again.state, JobState::Available);
    assert_eq!(again.attempt, 0);
    assert_eq!(again.errors.len(), 1, "the history stays");
    let j = claim_one(store.as_ref(), "default").await;
    assert_eq!(j.id, id);
    store.complete(id, j.lease_token.unwrap()).await.unwrap();
    assert!(matches!(
        store.retry_job(None, id).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store.discard_job(None, id).await,
        Err(StoreError::Invalid(_))
    ));

    let waiting = store.enqueue(&job("b")).await.unwrap();
    let gone = store.discard_job(None, waiting).await.unwrap();
    assert_eq!(gone.state, JobState::Discarded);
    assert!(
        store
            .claim("default", 5, LEASE, "w1")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        store.job(None, JobId::new()).await,
        Err(StoreError::NotFound(_))
    ));
}

#[tokio::test]
async fn lists_page_newest_first_and_filter() {
    let db = connect().await;
    let store = &db.store;
    let shop = TenantId::new();
    let mut ids = Vec::new();
    for i in 0..5 {
        let q = if i % 2 == 0 { "default" } else { "email" };
        ids.push(
            store
                .enqueue(&job("k").queue(q).tenant(shop))
                .await
                .unwrap(),
        );
    }
    store.enqueue(&job("other")).await.unwrap();

    let mine = all_pages(2, async |pg| {
        store
            .list_jobs(Some(shop), &JobFilter::default(), &pg)
            .await
    })
    .await;
    let got: Vec<JobId> = mine.iter().map(|j| j.id).collect();
    ids.reverse();
    assert_eq!(got, ids);

    let email = JobFilter {
        queue: Some("email".into()),
        ..JobFilter::default()
    };
    assert_eq!(
        store
            .list_jobs(Some(shop), &email, &page(10, None))
            .await
            .unwrap()
            .items
            .len(),
        2
    );
    let by_kind = JobFilter {
        kind: Some("other".into()),
        ..JobFilter::default()
    };
    assert_eq!(
        store
            .list_jobs(None, &by_kind, &page(10, None))
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    let dead = JobFilter {
        state: Some(JobState::Dead),
        ..JobFilter::default()
    };
    assert!(
        store
            .list_jobs(None, &dead, &page(10, None))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let bad = storekeep_domain::PageRequest::new(Some(2), Some("nope".into())).unwrap();
    assert!(matches!(
        store.list_jobs(None, &JobFilter::default(), &bad).await,
        Err(StoreError::InvalidCursor)
    ));
}

#[tokio::test]
async fn queue_figures_count_open_jobs_and_pruning_drops_old_completed_ones() {
    let db = connect().await;
    let store = &db.store;
    let t = now();
    store
        .enqueue(&job("a").run_at(t - Span::seconds(90)))
        .await
        .unwrap();
    store.enqueue(&job("b")).await.unwrap();
    store
        .enqueue(&job("c").run_at(t + Span::hours(1)))
        .await
        .unwrap();
    let d = store
        .enqueue(&job("d").queue("email").max_attempts(1))
        .await
        .unwrap();
    let done = store.enqueue(&job("e").queue("email")).await.unwrap();
    let j = store.claim("email", 2, LEASE, "w1").await.unwrap();
    for j in j {
        if j.id == d {
            store
                .fail(d, j.lease_token.unwrap(), "x", Failure::Dead)
                .await
                .unwrap();
        } else {
            assert_eq!(j.id, done);
            store.complete(done, j.lease_token.unwrap()).await.unwrap();
        }
    }
    claim_one(store.as_ref(), "default").await; // the oldest due one

    let stats = store.job_stats(now()).await.unwrap();

    let default = stats.iter().find(|s| s.queue == "default").unwrap();
    assert_eq!(
        (
            default.ready,
            default.scheduled,
            default.running,
            default.dead
        ),
        (1, 1, 1, 0)
    );
    assert!(default.oldest_ready_at.unwrap() <= now());
    let email = stats.iter().find(|s| s.queue == "email").unwrap();
    assert_eq!((email.ready, email.running, email.dead), (0, 0, 1));
    assert_eq!(email.oldest_ready_at, None);

    assert_eq!(store.prune_jobs(now() - Span::days(1)).await.unwrap(), 0);
    assert_eq!(store.prune_jobs(now() + Span::seconds(1)).await.unwrap(), 1);
    assert!(matches!(
        store.job(None, done).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(
        store.job(None, d).await.unwrap().state,
        JobState::Dead,
        "dead jobs stay"
    );
}

#[tokio::test]
async fn concurrent_claimers_never_get_the_same_job() {
    let db = connect().await;
    let store: Arc<dyn Store> = db.store.clone();
    let jobs: Vec<NewJob> = (0..60).map(|_| job("race")).collect();
    store.enqueue_many(&jobs).await.unwrap();
    // On PostgreSQL `FOR UPDATE SKIP LOCKED` lets claimers pass each
    // other; on SQLite they queue for the write lock. Either way no job
    // is handed out twice.
    let claimers = if on_postgres() { 6 } else { 3 };
    let mut tasks = Vec::new();
    for w in 0..claimers {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let got = store
                    .claim("default", 3, LEASE, &format!("w{w}"))
                    .await
                    .unwrap();
                if got.is_empty() {
                    return mine;
                }
                mine.extend(got.into_iter().map(|j| j.id));
            }
        }));
    }
    let mut seen = HashSet::new();
    let mut total = 0;
    for t in tasks {
        for id in t.await.unwrap() {
            total += 1;
            assert!(seen.insert(id), "job {id} claimed twice");
        }
    }
    assert_eq!(total, 60);
}

#[tokio::test]
async fn a_snoozed_job_waits_unrun_with_its_attempts_unchanged() {
    let db = connect().await;
    let store = &*db.store;
    let id = store.enqueue(&job("a").max_attempts(2)).await.unwrap();
    let claimed = claim_one(store, "default").await;
    assert_eq!(claimed.attempt, 1);
    let token = claimed.lease_token.unwrap();
    let later = now() + Span::seconds(60);
    assert!(
        !store.snooze(id, uuid::Uuid::now_v7(), later).await.unwrap(),
        "another token snoozes nothing"
    );
    assert!(store.snooze(id, token, later).await.unwrap());
    assert!(
        !store.complete(id, token).await.unwrap(),
        "the old lease is gone"
    );
    let snoozed = store.job(None, id).await.unwrap();
    assert_eq!(snoozed.state, JobState::Available);
    assert_eq!(snoozed.attempt, 0, "a snooze is not an attempt");
    assert_eq!(snoozed.run_at, later);
    assert!(snoozed.lease_token.is_none() && snoozed.locked_by.is_none());
    assert!(
        store
            .claim("default", 10, LEASE, "w1")
            .await
            .unwrap()
            .is_empty(),
        "not due before its time"
    );
}

#[tokio::test]
async fn batches_written_at_once_complete_every_job_once() {
    let db = connect().await;
    let store: Arc<dyn Store> = db.store.clone();
    let jobs: Vec<NewJob> = (0..200).map(|_| job("batch")).collect();
    store.enqueue_many(&jobs).await.unwrap();
    let held = store.claim("default", 200, LEASE, "w1").await.unwrap();
    assert_eq!(held.len(), 200);
    // Four batches at once (the runner's completer keeps several in flight
    // on PostgreSQL), each in reverse id order, each also naming a job of
    // another batch under a wrong token.
    let mut pairs: Vec<_> = held
        .iter()
        .map(|j| (j.id, j.lease_token.unwrap()))
        .collect();
    pairs.reverse();
    let mut tasks = Vec::new();
    for (i, chunk) in pairs.chunks(50).enumerate() {
        let mut batch = chunk.to_vec();
        let stranger = pairs[(i * 50 + 50) % 200].0;
        batch.push((stranger, uuid::Uuid::now_v7()));
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store.complete_many(&batch).await.unwrap()
        }));
    }
    for t in tasks {
        let applied = t.await.unwrap();
        assert_eq!(applied.len(), 51);
        assert!(applied[..50].iter().all(|a| *a), "the batch's own jobs");
        assert!(!applied[50], "a wrong token changes nothing");
    }
    for j in &held {
        let done = store.job(None, j.id).await.unwrap();
        assert_eq!(done.state, JobState::Completed);
        assert!(done.finished_at.is_some());
        assert_eq!(done.lease_token, None);
    }
}

#[tokio::test]
async fn a_claim_takes_at_most_its_limit_whatever_plan_postgresql_picks() {
    let db = connect().await;
    let store = &*db.store;
    // A queue as a node's looks most of the time: a history of completed
    // jobs (kept for days) and none due, which is what its statistics say
    // (autovacuum analyzes it then)...
    let jobs: Vec<NewJob> = (0..1000).map(|_| job("many")).collect();
    for chunk in jobs.chunks(500) {
        store.enqueue_many(chunk).await.unwrap();
    }
    for _ in 0..10 {
        let got = store.claim("default", 100, LEASE, "w0").await.unwrap();
        let done: Vec<_> = got.iter().map(|j| (j.id, j.lease_token.unwrap())).collect();
        assert!(
            store
                .complete_many(&done)
                .await
                .unwrap()
                .iter()
                .all(|ok| *ok)
        );
    }
    let generic = db.generic_plans().await;
    // ... until a burst. Planned for the one due job the statistics
    // promised, the claim's pick once ran again for each job it updated,
    // and a claim of 4 took every due job.
    let burst: Vec<NewJob> = (0..400).map(|_| job("burst")).collect();
    store.enqueue_many(&burst).await.unwrap();
    for round in 0..5 {
        let got = generic.claim("default", 4, LEASE, "w1").await.unwrap();
        assert_eq!(got.len(), 4, "claim {round}");
    }
    let stats = generic.job_stats(now()).await.unwrap();
    let default = stats.iter().find(|s| s.queue == "default").unwrap();
    assert_eq!((default.ready, default.running), (380, 20));
}
