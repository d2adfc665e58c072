//! Records the git revision the binary was built from, for
//! `/api/health/detailed` and the `storekeep_build_info` metric.

use std::process::Command;

fn main() {
    let revision = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_owned());
    // Not named STOREKEEP_*: `cargo run` hands build-script variables to the
    // process, and every STOREKEEP_* variable is read as a setting.
    println!("cargo:rustc-env=BUILD_GIT_REVISION={revision}");
    // Rebuild when HEAD moves (a commit or a checkout).
    for path in ["../../.git/HEAD", "../../.git/index"] {
        if std::path::Path::new(path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
}
