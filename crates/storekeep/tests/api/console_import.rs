//! The console's background CSV import: the upload stores the file and
//! answers 303 to the import's page, which shows how far the job got and,
//! once done, every row error (line, column, message). Driven as a browser
//! does (multipart with the form's upload token in its action), checked
//! through the admin API and the media store; refused files, a viewer's
//! forged post and another shop's import write nothing.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use storekeep_test_support::{TestApp, spawn_app_with};

use crate::catalog_support::{body, multipart};
use crate::commerce_support::{Shop, selling_shop};
use crate::console_support::{staff_console, web_app};
use crate::identity::admin;
use crate::web_browser::{Browser, Page};
use crate::web_support::{BASE, get_at};

/// The action of the page's upload form.
fn upload_action(page: &Page) -> String {
    let at = page
        .body
        .find("enctype=\"multipart/form-data\"")
        .unwrap_or_else(|| panic!("no upload form: {}", page.body));
    let start = page.body[..at].rfind("action=\"").unwrap() + "action=\"".len();
    let len = page.body[start..].find('"').unwrap();
    page.body[start..start + len].replace("&amp;", "&")
}

fn cookie_of(b: &Browser) -> String {
    b.jar
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Posts a multipart body to `path` as a same-origin browser does.
async fn post_multipart(
    app: &TestApp,
    b: &Browser,
    path: &str,
    (content_type, bytes): (String, Vec<u8>),
) -> Page {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = client
        .post(format!("http://{}{path}", app.addr))
        .header("host", &b.host)
        .header("cookie", cookie_of(b))
        .header("sec-fetch-site", "same-origin")
        .header("origin", format!("http://{}", b.host))
        .header("content-type", content_type)
        .body(bytes)
        .send()
        .await
        .unwrap();
    Page {
        status: resp.status(),
        location: resp
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned()),
        body: resp.text().await.unwrap(),
    }
}

fn csv_file(text: &str) -> (String, Vec<u8>) {
    multipart(text.as_bytes(), "products.csv", "text/csv", None)
}

/// Lines (1 is the header) whose price is not a number.
const BAD_LINES: [u64; 3] = [12, 302, 552];

/// 600 rows, one product each; the rows on [`BAD_LINES`] have a bad price.
fn big_csv() -> String {
    let mut csv = String::from("handle,title,sku,price,inventory\n");
    for i in 0..600u64 {
        let line = i + 2;
        let price = if BAD_LINES.contains(&line) {
            "abc".to_owned()
        } else {
            (1000 + i).to_string()
        };
        csv.push_str(&format!("bulk-{i},Bulk {i},BULK-{i},{price},3\n"));
    }
    csv
}

/// Every product handle of the shop, through the admin API.
async fn handles(app: &TestApp, s: &Shop) -> Vec<String> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(c) => format!("/api/v1/admin/products?limit=200&after={c}"),
            None => "/api/v1/admin/products?limit=200".to_owned(),
        };
        let resp = admin(app, &s.slug, &s.token, Method::GET, &path)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let page = body(resp).await;
        for p in page["items"].as_array().unwrap() {
            out.push(p["handle"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => after = Some(c.to_owned()),
            None => return out,
        }
    }
}

/// The keys the media store holds under `imports/` (every level:
/// `imports/<shop>/<import>.csv`).
async fn stored_imports(app: &TestApp) -> Vec<String> {
    app.state
        .services
        .media
        .keys_under("imports")
        .await
        .unwrap()
}

/// Reloads the import's page (as its "Check again" link does) until it
/// says done or failed; bounded, with no timing asserted.
async fn until_finished(b: &mut Browser, path: &str) -> Page {
    for _ in 0..1200 {
        let page = b.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        if page.body.contains("data-import=\"status\">Done<")
            || page.body.contains("data-import=\"status\">Failed<")
        {
            return page;
        }
        assert!(
            page.body
                .contains(&format!("href=\"{path}\">Check again</a>")),
            "an unfinished import links to itself: {}",
            page.body
        );
        assert!(!page.body.contains("http-equiv"));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the import did not finish");
}

fn count(page: &Page, what: &str) -> u64 {
    let marker = format!("data-import=\"{what}\">");
    let at = page
        .body
        .find(&marker)
        .unwrap_or_else(|| panic!("no {what}: {}", page.body))
        + marker.len();
    let len = page.body[at..].find('<').unwrap();
    page.body[at..at + len].parse().unwrap()
}

#[tokio::test]
async fn console_import_runs_in_the_background_and_shows_progress_counts_and_row_errors() {
    let app = web_app().await;
    let s = selling_shop(&app, "cbig", 1999, 5).await;
    let mut b = staff_console(&app, "cbig", "owner").await;
    let form = b.get("/console/products/import").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.body.contains("No imports yet."));
    let action = upload_action(&form);

    let csv = big_csv();
    let sent = post_multipart(&app, &b, &action, csv_file(&csv)).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let at = sent.location.clone().expect("a location");
    assert!(at.starts_with("/console/products/imports/"), "{at}");

    let done = until_finished(&mut b, &at).await;
    assert!(
        done.body.contains("data-import=\"status\">Done<"),
        "{}",
        done.body
    );
    assert_eq!(count(&done, "created"), 597);
    assert_eq!(count(&done, "updated"), 0);
    assert_eq!(count(&done, "failed"), 3);
    assert!(done.body.contains("600 of 600 rows"), "{}", done.body);
    assert!(
        done.body
            .contains("<progress id=\"import-progress\" max=\"600\" value=\"600\">")
    );
    assert!(!done.body.contains("Check again"));
    for line in BAD_LINES {
        let at = done
            .body
            .find(&format!("data-row-error=\"{line}\""))
            .unwrap_or_else(|| panic!("line {line} not listed: {}", done.body));
        let row = &done.body[at..at + done.body[at..].find("</tr>").unwrap()];
        assert!(row.contains("<code>price</code>"), "{row}");
        assert!(row.contains("is not a whole number"), "{row}");
    }
    get_at(&app, &b.host, &at, &[("cookie", &cookie_of(&b))])
        .await
        .assert_safe();

    let all = handles(&app, &s).await;
    assert_eq!(all.len(), 598, "597 imported and the shop's own product");
    assert!(all.contains(&"bulk-0".to_owned()) && all.contains(&"bulk-599".to_owned()));
    assert!(
        !all.contains(&"bulk-10".to_owned()),
        "line 12 was not imported"
    );
    assert!(stored_imports(&app).await.is_empty(), "the file is deleted");

    // The upload page lists it, linking to its page.
    let listed = b.get("/console/products/import").await;
    assert!(
        listed.body.contains(&format!("href=\"{at}\"")),
        "{}",
        listed.body
    );

    // The same file again updates what it made.
    let again = post_multipart(&app, &b, &upload_action(&listed), csv_file(&csv)).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
    let second = again.location.unwrap();
    assert_ne!(second, at);
    let redone = until_finished(&mut b, &second).await;
    assert_eq!(count(&redone, "created"), 0);
    assert_eq!(count(&redone, "updated"), 597);
    assert_eq!(count(&redone, "failed"), 3);
    assert_eq!(handles(&app, &s).await.len(), 598);
    assert!(stored_imports(&app).await.is_empty());
}

#[tokio::test]
async fn console_import_refuses_a_file_that_is_not_csv_and_stores_nothing() {
    let app = web_app().await;
    let s = selling_shop(&app, "cnot", 1999, 5).await;
    let mut b = staff_console(&app, "cnot", "owner").await;
    let form = b.get("/console/products/import").await;
    let action = upload_action(&form);

    let png = crate::catalog_support::png(4, 4);
    let refused = post_multipart(
        &app,
        &b,
        &action,
        multipart(&png, "photo.png", "image/png", None),
    )
    .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(
        refused
            .body
            .contains("aria-describedby=\"import-file-error\"")
    );
    assert!(
        refused.body.contains("The file cannot be imported"),
        "{}",
        refused.body
    );

    let unknown = post_multipart(
        &app,
        &b,
        &action,
        csv_file("handle,title,sku,price,colour\nx,X,X-1,100,red\n"),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unknown.body.contains("unknown column"), "{}", unknown.body);

    let empty = post_multipart(&app, &b, &action, csv_file("")).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.body.contains("Choose a CSV file"), "{}", empty.body);

    let after = b.get("/console/products/import").await;
    assert!(after.body.contains("No imports yet."), "{}", after.body);
    assert!(stored_imports(&app).await.is_empty());
    assert_eq!(handles(&app, &s).await.len(), 1);
}

#[tokio::test]
async fn console_import_viewer_sees_no_upload_and_a_forged_upload_is_refused() {
    let app = web_app().await;
    let s = selling_shop(&app, "cimpv", 1999, 5).await;
    crate::identity::cli_staff(&app, "cimpv", "viewer@cimpv.example", "viewer").await;
    let b = staff_console(&app, "cimpv", "viewer").await;
    let mut b = b;
    let page = b.get("/console/products/import").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(!page.body.contains("multipart/form-data"));
    assert!(page.body.contains("Recent imports"));
    let token = page.csrf();
    let forged = post_multipart(
        &app,
        &b,
        &format!("/console/products/import?csrf={token}"),
        csv_file("handle,title,sku,price\nv,V,V-1,100\n"),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
    assert!(!handles(&app, &s).await.contains(&"v".to_owned()));
    assert!(stored_imports(&app).await.is_empty());
    let mut owner = staff_console(&app, "cimpv", "owner").await;
    let listed = owner.get("/console/products/import").await;
    assert!(listed.body.contains("No imports yet."), "{}", listed.body);
}

#[tokio::test]
async fn console_import_of_another_shop_is_not_found() {
    let app = web_app().await;
    selling_shop(&app, "cown", 1999, 5).await;
    selling_shop(&app, "cother", 1999, 5).await;
    let mut mine = staff_console(&app, "cown", "owner").await;
    let form = mine.get("/console/products/import").await;
    let sent = post_multipart(
        &app,
        &mine,
        &upload_action(&form),
        csv_file("handle,title,sku,price\nmine,Mine,M-1,100\n"),
    )
    .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let at = sent.location.unwrap();
    until_finished(&mut mine, &at).await;

    let mut theirs = staff_console(&app, "cother", "owner").await;
    assert_eq!(theirs.get(&at).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        theirs
            .get("/console/products/imports/not-an-id")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn console_import_with_s3_media_stores_the_file_in_the_bucket_and_deletes_it() {
    let Some((endpoint, bucket)) = crate::catalog_support::s3_env() else {
        return;
    };
    let app = spawn_app_with(|s| {
        s.base_domain = Some(storekeep_domain::DomainName::parse(BASE).unwrap());
        s.media.s3_bucket = Some(bucket.clone());
        s.media.s3_endpoint = Some(endpoint.clone());
        s.media.s3_access_key_id = Some("test".into());
        s.media.s3_secret_access_key = Some(storekeep::config::Secret::new("test"));
    })
    .await;
    let s = selling_shop(&app, "cimps3", 1999, 5).await;
    let mut b = staff_console(&app, "cimps3", "owner").await;
    let form = b.get("/console/products/import").await;
    let sent = post_multipart(
        &app,
        &b,
        &upload_action(&form),
        csv_file("handle,title,sku,price\ns3-lamp,Lamp,S3-1,100\n"),
    )
    .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let at = sent.location.unwrap();
    let done = until_finished(&mut b, &at).await;
    assert_eq!(count(&done, "created"), 1, "{}", done.body);
    assert!(handles(&app, &s).await.contains(&"s3-lamp".to_owned()));
    let id = at.rsplit('/').next().unwrap();
    assert!(
        !stored_imports(&app).await.iter().any(|k| k.contains(id)),
        "the file is deleted from the bucket"
    );
}

/// The object store down for every attempt of the import's job: the job
/// is dead-lettered and the import ends `failed` with why (not `running`
/// for ever). Once storage is back, retrying the dead job deletes the
/// stored file and leaves the import failed. One node enqueues (its
/// runner off), a second runs the jobs, as on a scaled-out platform.
#[tokio::test]
async fn console_import_whose_job_runs_out_of_attempts_ends_failed_and_its_file_is_deleted() {
    let Some(mut moto) = crate::outage_support::MotoServer::start() else {
        return;
    };
    let endpoint = moto.endpoint();
    let s3 = |s: &mut storekeep::config::Settings| {
        s.base_domain = Some(storekeep_domain::DomainName::parse(BASE).unwrap());
        s.media.s3_bucket = Some(crate::outage_support::MOTO_BUCKET.into());
        s.media.s3_endpoint = Some(endpoint.clone());
        s.media.s3_access_key_id = Some("test".into());
        s.media.s3_secret_access_key = Some(storekeep::config::Secret::new("test"));
        s.jobs.max_attempts = 1;
    };
    let app = spawn_app_with(|s| {
        s3(s);
        s.jobs.enabled = false;
    })
    .await;
    selling_shop(&app, "cimpdead", 1999, 5).await;
    let mut b = staff_console(&app, "cimpdead", "owner").await;
    let form = b.get("/console/products/import").await;
    let sent = post_multipart(
        &app,
        &b,
        &upload_action(&form),
        csv_file("handle,title,sku,price\ndead-lamp,Lamp,DEAD-1,100\n"),
    )
    .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let at = sent.location.unwrap();
    let id = at.rsplit('/').next().unwrap().to_owned();
    let stored = stored_imports(&app).await;
    let key = stored
        .iter()
        .find(|k| k.contains(&id))
        .unwrap_or_else(|| panic!("the upload is stored: {stored:?} {id}"))
        .clone();
    let file = app.state.services.media.get(&key).await.unwrap().unwrap();

    moto.stop();
    let worker = storekeep_test_support::spawn_app_on(
        storekeep_test_support::TestDb::at(app.db.url.clone()),
        s3,
    )
    .await;
    let failed = until_finished(&mut b, &at).await;
    assert!(
        failed.body.contains("data-import=\"status\">Failed<"),
        "{}",
        failed.body
    );
    assert!(
        failed.body.contains("gave up after 1 attempts"),
        "the page says why: {}",
        failed.body
    );

    // The import is marked failed just before the job is saved dead.
    let mut job = None;
    for _ in 0..300 {
        let dead = app
            .platform(
                Method::GET,
                "/api/v1/platform/jobs?state=dead&kind=catalog.import",
            )
            .send()
            .await
            .unwrap();
        assert_eq!(dead.status(), 200);
        let dead = body(dead).await;
        job = dead["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|j| j["payload"]["import"] == id.as_str())
            .cloned();
        if job.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let job = job.expect("the import's job is dead");
    assert!(
        job["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("gave up after 1 attempts")),
        "{job}"
    );

    // Storage is back, holding the file as a real bucket would (moto
    // restarts empty).
    moto.start_again();
    app.state.services.media.put(&key, file).await.unwrap();
    let retried = app
        .platform(
            Method::POST,
            &format!(
                "/api/v1/platform/jobs/{}/retry",
                job["id"].as_str().unwrap()
            ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(retried.status(), 200);
    let mut gone = false;
    for _ in 0..300 {
        if !stored_imports(&app).await.contains(&key) {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(gone, "the retried job deletes the file");
    let still = b.get(&at).await;
    assert!(
        still.body.contains("data-import=\"status\">Failed<"),
        "{}",
        still.body
    );
    worker.stop().await;
}
