//! The `storekeep` binary: parses the command line and hands over to
//! `storekeep::cli`.

use std::process::ExitCode;

use clap::Parser;

/// jemalloc, with its background thread, gives freed memory back to the
/// system; glibc's malloc kept what argon2 and busy connections had used,
/// per thread arena, for good (see docs/benchmarks.md, memory).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = storekeep::cli::Cli::parse();
    match storekeep::cli::run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
