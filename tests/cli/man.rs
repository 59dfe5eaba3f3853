//! `man/` is generated from the clap definitions and must be current.

use super::common::{blessing, repo_path};

#[test]
fn man_pages_are_current() {
    for (name, text) in reefer::tools::man_pages().unwrap() {
        let path = repo_path(&format!("man/{name}"));
        if blessing() {
            std::fs::write(&path, &text).unwrap();
            continue;
        }
        let on_disk = std::fs::read(&path).unwrap_or_default();
        assert!(
            on_disk == text,
            "man/{name} is stale: run `REEFER_BLESS=1 cargo test --test cli man_pages` to regenerate it"
        );
    }
}
