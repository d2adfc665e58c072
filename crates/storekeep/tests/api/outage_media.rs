//! The image store (S3) going away under load, as clients and probes see
//! it. The test brings its own moto, freezes it and then stops it while
//! guests browse, fill carts and check out and staff upload and fetch
//! images. Selling never needs it: uploads and image reads are 503s to
//! retry, the node stays ready, readiness names the image store as down,
//! and it recovers with no restart.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use storekeep::config::Secret;
use storekeep_test_support::{TestApp, spawn_app_with};

use crate::catalog_support::{body, multipart, png};
use crate::identity::admin;
use crate::outage::{Answer, guest, probe, send};
use crate::outage_support::{
    ALLOWED, MOTO_BUCKET, MotoServer, REQUEST_TIMEOUT, blocking, counts, done, first_with,
    no_order_lost, selling, within,
};

/// An image upload the load acknowledged: its id, URL, the bytes sent,
/// and when the answer came.
#[derive(Clone)]
struct Uploaded {
    id: String,
    url: String,
    bytes: Vec<u8>,
    done: Instant,
}

/// One image upload of `picture` to the product.
async fn upload_picture(app: &TestApp, token: &str, product: &str, picture: &[u8]) -> Answer {
    let (ct, multipart_body) = multipart(picture, "p.png", "image/png", None);
    let req = admin(
        app,
        "outage",
        token,
        Method::POST,
        &format!("/api/v1/admin/products/{product}/images"),
    )
    .header("content-type", ct)
    .body(multipart_body)
    .timeout(Duration::from_secs(30));
    send("upload", req).await
}

async fn upload_once(app: Arc<TestApp>, token: String, product: String) -> Answer {
    upload_picture(&app, &token, &product, &png(7, 7)).await
}

/// A member of staff who uploads a small picture to the product and reads
/// it back through the server, over and over. Each upload is a distinct
/// picture (its width is its sequence number). Acknowledged uploads are
/// added to `acknowledged` as they come.
async fn photographer(
    app: Arc<TestApp>,
    token: String,
    product: String,
    seed: u32,
    acknowledged: Arc<Mutex<Vec<Uploaded>>>,
    stop: Arc<AtomicBool>,
) -> Vec<Answer> {
    let mut answers = Vec::new();
    let mut n = 0;
    while !stop.load(Ordering::SeqCst) {
        n += 1;
        let picture = png(seed + n, 3);
        let answer = upload_picture(&app, &token, &product, &picture).await;
        let image = answer.body["image"].clone();
        let ok = answer.status == 201;
        if ok {
            acknowledged.lock().unwrap().push(Uploaded {
                id: image["id"].as_str().unwrap().to_owned(),
                url: image["url"].as_str().unwrap().to_owned(),
                bytes: picture,
                done: done(&answer),
            });
        }
        answers.push(answer);
        if ok {
            let url = image["url"].as_str().unwrap();
            let req = app
                .request(Method::GET, url)
                .timeout(Duration::from_secs(30));
            answers.push(send("image", req).await);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    answers
}

/// Every upload in `uploads` reads back byte for byte.
async fn readable(app: &TestApp, uploads: &[Uploaded]) {
    assert!(!uploads.is_empty());
    for u in uploads {
        let resp = app.get(&u.url).await;
        assert_eq!(resp.status(), 200, "{}", u.url);
        assert!(
            resp.bytes().await.unwrap() == u.bytes,
            "{} reads back as uploaded",
            u.url
        );
    }
}

/// How long readiness reuses the image store's answer (docs/operations.md).
const PROBE_REUSE: Duration = Duration::from_secs(1);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_image_store_outage_is_a_503_for_images_only_and_recovers_by_itself() {
    let Some(moto) = MotoServer::start() else {
        return;
    };
    let endpoint = moto.endpoint();
    let moto = Arc::new(Mutex::new(moto));
    let app = spawn_app_with(|s| {
        s.request_timeout = REQUEST_TIMEOUT;
        s.media.s3_bucket = Some(MOTO_BUCKET.into());
        s.media.s3_endpoint = Some(endpoint);
        s.media.s3_access_key_id = Some("test".into());
        s.media.s3_secret_access_key = Some(Secret::new("test"));
    })
    .await;
    let (token, product, variant) = selling(&app).await;

    // Act: load; the store hangs for ~6 s (moto frozen with SIGSTOP: the
    // port open, nothing answering), then runs again; then it is stopped
    // for ~3 s (connections refused) and started again.
    let app = Arc::new(app);
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let began = Instant::now();
    let guests: Vec<_> = (0..2)
        .map(|_| tokio::spawn(guest(app.clone(), variant.clone(), stop.clone())))
        .collect();
    let photographers: Vec<_> = [10, 1000]
        .into_iter()
        .map(|seed| {
            tokio::spawn(photographer(
                app.clone(),
                token.clone(),
                product.clone(),
                seed,
                acknowledged.clone(),
                stop.clone(),
            ))
        })
        .collect();
    let prober = tokio::spawn(probe(app.clone(), stop.clone()));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let freezing = Instant::now();
    blocking(&moto, |m| m.freeze()).await;
    let frozen = Instant::now();
    // One upload sent once the store is frozen, besides the load's (which
    // may have been sent just before): it hangs until the request timeout.
    let hung = tokio::spawn(upload_once(app.clone(), token.clone(), product.clone()));
    tokio::time::sleep(REQUEST_TIMEOUT + Duration::from_secs(1)).await;
    let thawing = Instant::now();
    blocking(&moto, |m| m.thaw()).await;
    let thawed = Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    // Every image acknowledged so far, through the freeze, reads back.
    let before_stop = acknowledged.lock().unwrap().clone();
    readable(&app, &before_stop).await;
    let stopping = Instant::now();
    blocking(&moto, MotoServer::stop).await;
    let down = Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let starting = Instant::now();
    blocking(&moto, MotoServer::start_again).await;
    let up = Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::SeqCst);
    let mut answers = Vec::new();
    for g in guests {
        answers.extend(g.await.expect("guest task"));
    }
    for p in photographers {
        answers.extend(p.await.expect("photographer task"));
    }
    let hung = hung.await.expect("upload task");
    answers.push(hung.clone());
    let (readiness, detailed): (Vec<Answer>, Vec<Answer>) = prober
        .await
        .expect("probe task")
        .into_iter()
        .partition(|a| a.what == "ready");
    let slowest_503 = answers
        .iter()
        .filter(|a| a.status == 503)
        .map(|a| a.took)
        .max();
    eprintln!(
        "answers {:?}; slowest 503 {slowest_503:?}; freeze took {:?}, stop {:?}, start {:?}",
        counts(&answers),
        frozen - freezing,
        down - stopping,
        up - starting
    );

    // Assert: every answer in time; success, or a 503 problem to retry.
    // (Except an upload in the instant between moto listening again and
    // the helper making its bucket again: S3 answers that there is no such
    // bucket, a configuration error, rightly a 500. A real S3 does not
    // lose its buckets.)
    let bucketless = |a: &Answer| a.what == "upload" && done(a) >= starting && a.sent <= up;
    for a in answers.iter().chain(&readiness).chain(&detailed) {
        if a.status == 500 && bucketless(a) {
            continue;
        }
        assert!(
            matches!(a.status, 200 | 201 | 503),
            "{} answered {} after {:?}: {}",
            a.what,
            a.status,
            a.took,
            a.body
        );
        assert!(a.took <= ALLOWED, "{} took {:?}", a.what, a.took);
        if a.status == 503 {
            assert!(a.problem_json, "{} 503 is a problem: {}", a.what, a.body);
            assert!(a.retry_after.is_some(), "{} 503 has Retry-After", a.what);
            assert_eq!(a.body["status"], 503);
        }
    }
    // Selling never needs the image store: guests are never refused.
    for a in answers
        .iter()
        .filter(|a| matches!(a.what, "browse" | "cart" | "checkout"))
    {
        assert!(matches!(a.status, 200 | 201), "{}: {}", a.what, a.body);
    }
    assert!(!within(&answers, "checkout", frozen, thawing).is_empty());
    assert!(!within(&answers, "checkout", down, starting).is_empty());
    // Uploads during either outage are refused; a refused connection is
    // reported at once (the store's few quick retries), not by the
    // request timeout.
    assert!(
        done(&hung) < thawing,
        "the upload was answered before the thaw"
    );
    let frozen_out = within(&answers, "upload", frozen, thawing);
    let refused = within(&answers, "upload", down, starting);
    assert!(!frozen_out.is_empty() && !refused.is_empty());
    for a in frozen_out.iter().chain(&refused) {
        assert_eq!(a.status, 503, "upload during an outage: {}", a.body);
    }
    for a in &refused {
        assert!(a.took < REQUEST_TIMEOUT, "refused upload took {:?}", a.took);
        assert_eq!(
            a.body["detail"],
            "the image store is not answering; retry after the Retry-After delay"
        );
    }
    let succeeded = |from: Instant, to: Instant| {
        answers
            .iter()
            .any(|a| a.what == "upload" && a.status == 201 && a.sent >= from && done(a) < to)
    };
    assert!(succeeded(began, freezing), "uploads succeed before");
    assert!(
        succeeded(thawed, stopping),
        "uploads succeed after the thaw"
    );
    assert!(
        succeeded(up, Instant::now()),
        "uploads succeed after the start"
    );

    // Readiness stays 200 and names the image store as down during each
    // outage, and as back after each.
    // (A node reuses the store's answer for a second: answers sent within
    // a second of a change may still say what was true before it.)
    let during: Vec<&Answer> = within(&readiness, "ready", frozen + PROBE_REUSE, thawing)
        .into_iter()
        .chain(within(&readiness, "ready", down + PROBE_REUSE, starting))
        .collect();
    assert!(!during.is_empty());
    for r in &during {
        assert_eq!(r.body["status"], "ready", "{}", r.body);
        assert_eq!(r.body["media"]["ok"], false, "{}", r.body);
        assert_eq!(
            r.body["media"]["detail"],
            "image store unreachable: image uploads and reads fail"
        );
    }
    let detailed_during: Vec<&Answer> =
        within(&detailed, "detailed", frozen + PROBE_REUSE, thawing)
            .into_iter()
            .chain(within(&detailed, "detailed", down + PROBE_REUSE, starting))
            .collect();
    assert!(!detailed_during.is_empty());
    for d in detailed_during {
        assert_eq!(d.status, 200, "{}", d.body);
        assert_eq!(d.body["media"]["ok"], false, "{}", d.body);
        assert_eq!(d.body["media_store"], "s3");
    }
    for (changed, after, ok) in [
        (freezing, frozen, false),
        (thawed, thawed, true),
        (stopping, down, false),
        (up, up, true),
    ] {
        let first = first_with(&readiness, changed, "media", ok);
        let said = done(first).saturating_duration_since(after);
        eprintln!("readiness: media.ok = {ok} {said:?} after the change");
        assert!(said <= ALLOWED, "media.ok = {ok} only {said:?} after");
    }
    assert!(
        readiness
            .iter()
            .filter(|r| r.sent >= up + ALLOWED)
            .all(|r| r.body["media"]["ok"] == true)
    );

    // Nothing acknowledged is lost: every order; every image acknowledged
    // after the start reads back, as did those before the stop (moto keeps
    // objects in memory, so those it held went with it when it stopped; a
    // frozen moto kept them); every acknowledged image is on the product.
    no_order_lost(&app, &token, &answers).await;
    let acknowledged = acknowledged.lock().unwrap().clone();
    let after_start: Vec<Uploaded> = acknowledged
        .iter()
        .filter(|u| u.done > starting)
        .cloned()
        .collect();
    readable(&app, &after_start).await;
    let listed = body(
        admin(
            &app,
            "outage",
            &token,
            Method::GET,
            &format!("/api/v1/admin/products/{product}"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    let listed: Vec<&str> = listed["product"]["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    for u in &acknowledged {
        assert!(
            listed.contains(&u.id.as_str()),
            "image {} is on the product",
            u.id
        );
    }
}
