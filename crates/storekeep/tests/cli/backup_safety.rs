//! `storekeep backup` and the files around it: plain dumps stay private
//! and local whatever the umask, and an edited manifest cannot make a
//! command touch a file outside the backup folder.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use storekeep_test_support::{TestDb, storekeep_command};

use crate::BIN;
use crate::backup::{backups_dir, tools_ready};
use crate::crash_support::shop_with_owner;

/// `storekeep ARGS` under umask 000, so only the modes the code sets
/// itself keep what it writes private; it must succeed.
fn open_umask(db: &TestDb, args: &[&str]) -> Output {
    let base = storekeep_command(BIN, db);
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("umask 000 && exec \"$0\" \"$@\"")
        .arg(BIN)
        .args(args)
        .current_dir(db.dir.path());
    for (k, v) in base.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "storekeep {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn names(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The plain dump is staged in `DATA_DIR/tmp` (0700), not in `backup.dir`
/// (a network mount or synced folder, maybe), and nothing plain is left
/// anywhere once `create` and `verify` are done.
#[tokio::test]
async fn plain_dumps_stay_in_a_private_local_folder() {
    let db = TestDb::new().await;
    if !tools_ready(&db) {
        return;
    }
    shop_with_owner(&db);
    let out = open_umask(&db, &["backup", "create", "--json"]);
    let manifest: Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = manifest["id"].as_str().unwrap();
    let sealed_only = BTreeSet::from([
        format!("{id}.manifest.json"),
        manifest["archive"]["file"].as_str().unwrap().to_owned(),
    ]);
    assert_eq!(names(&backups_dir(&db)), sealed_only);
    let tmp = db.dir.path().join("tmp");
    assert_eq!(mode(&tmp), 0o700, "the local staging folder is private");
    assert!(names(&tmp).is_empty(), "no plain dump left after create");

    open_umask(&db, &["backup", "verify", "latest"]);
    assert_eq!(names(&backups_dir(&db)), sealed_only);
    assert_eq!(mode(&tmp), 0o700);
    assert!(names(&tmp).is_empty(), "no plain dump left after verify");
}
