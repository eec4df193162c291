//! The data folder and the database files of the real binary are owner-only: the auth
//! database holds password hashes and the token signing key.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::testing::temp_dir;
use support::Setup;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

fn setup(data: &Path) -> Setup {
    let mut setup = Setup::new(data);
    setup.set("OPENCHAT_LOCAL_MODEL", "off");
    setup.stderr = Some(data.with_extension("stderr"));
    setup
}

fn database_files(data: &Path) -> Vec<std::path::PathBuf> {
    ["auth.db", "auth.db-wal", "auth.db-shm", "chat.db", "chat.db-wal", "chat.db-shm"]
        .iter()
        .map(|name| data.join(name))
        .collect()
}

#[tokio::test]
async fn a_fresh_data_folder_is_owner_only() {
    let data = temp_dir("openchat-perms").join("data");
    let server = setup(&data).start().await;
    server.user("pia").await; // some writes, so the WAL files exist
    assert_eq!(mode(&data), 0o700, "data folder");
    for file in database_files(&data) {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
}

#[tokio::test]
async fn files_opened_up_by_hand_are_fixed_with_a_warning() {
    let data = temp_dir("openchat-perms").join("data");
    let setup = setup(&data);
    let server = setup.start().await;
    server.user("quinn").await;
    drop(server);
    // Someone (an old version, a backup restore, a careless chmod) opened them up.
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    for file in database_files(&data) {
        if file.exists() {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
    }
    let server = setup.start().await;
    server.login("quinn").await;
    assert_eq!(mode(&data), 0o700, "data folder");
    for file in database_files(&data).iter().filter(|f| f.exists()) {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }
    let log = std::fs::read_to_string(data.with_extension("stderr")).unwrap();
    assert!(log.contains("the data directory was open to other users"), "{log}");
    assert!(log.contains("a database file was readable by other users"), "{log}");
}
