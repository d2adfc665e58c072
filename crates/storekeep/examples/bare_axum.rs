//! The ceiling for `scripts/bench request-path`: a bare axum handler that
//! answers `GET /` with "ok", built with the same axum, hyper and tokio
//! versions, the same allocator and the same runtime flavour as the
//! server, so the ratio storekeep / bare axum is the cost of storekeep's
//! own request path.
//!
//! `cargo run --release --example bare_axum -- 127.0.0.1:PORT`

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8081".into());
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on {addr}");
    axum::serve(listener, app).await
}
