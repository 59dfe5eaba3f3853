use super::common::*;

const BASE: [&str; 6] = ["--containers", "8", "--duration", "20m", "--start", "2026-11-27T03:00:00Z"];

#[test]
fn same_seed_same_bytes() {
    let a = tool("reefer-sim").args(BASE).args(["--seed", "11"]).output().unwrap();
    let b = tool("reefer-sim").args(BASE).args(["--seed", "11"]).output().unwrap();
    let c = tool("reefer-sim").args(BASE).args(["--seed", "12"]).output().unwrap();
    assert!(a.status.success() && !a.stdout.is_empty());
    assert_eq!(a.stdout, b.stdout);
    assert_ne!(a.stdout, c.stdout);
}
