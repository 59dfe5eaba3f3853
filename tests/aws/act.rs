//! reefer-act against the AWS emulator: DynamoDB and SNS destinations.

use super::common::*;
use assert_cmd::assert::Assert;

struct Scene {
    dir: tempfile::TempDir,
}

impl Scene {
    fn new() -> Scene {
        Scene {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
}

/// reefer-act with emulator credentials.
fn act_aws(s: &Scene, events: &[String], args: &[&str]) -> Assert {
    let state = s.path("state.db");
    tool("reefer-act")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .args([
            "--state",
            &state,
            "--retry-delay",
            "5ms",
            "--endpoint-url",
            &endpoint(),
        ])
        .args(args)
        .write_stdin(events.join("\n") + "\n")
        .assert()
}

#[test]
fn dynamodb_holds_every_alert_and_sns_tells_people() {
    let s = Scene::new();
    let table = unique("alerts");
    admin(&["create-table", &table, "alert_key"]);
    let lines = admin(&["create-topic-queue", &unique("oncall")]);
    let mut lines = lines.lines();
    let (topic, queue) = (
        lines.next().unwrap().to_string(),
        lines.next().unwrap().to_string(),
    );
    let evs = vec![
        event("C1", "power_off", "warning", "2026-11-27T03:05:00Z", "open"),
        event("C1", "power_off", "warning", "2026-11-27T03:06:00Z", "open"),
        event(
            "C1",
            "power_off",
            "critical",
            "2026-11-27T03:30:00Z",
            "open",
        ),
        event("C2", "door_open", "warning", "2026-11-27T03:10:00Z", "open"),
        event(
            "C1",
            "power_off",
            "critical",
            "2026-11-27T04:00:00Z",
            "resolved",
        ),
    ];
    let dynamo = format!("dynamodb://{table}");
    let sns = format!("sns://{topic}");
    let out = act_aws(&s, &evs, &["--to", &dynamo, "--to", &sns]);
    out.success();

    // Read back from the emulator: one item per alert, in its final state.
    let items: Vec<serde_json::Value> = admin(&["scan-table", &table])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(items.len(), 2, "{items:?}");
    let c1 = items.iter().find(|i| i["container_id"] == "C1").unwrap();
    assert_eq!(c1["status"], "resolved");
    assert_eq!(c1["severity"], "critical");
    // The resolve event counts too, and the item says how long the fault lasted.
    assert_eq!(c1["event_count"], 4);
    assert_eq!(c1["duration_s"], 3600);
    assert_eq!(c1["alert_key"], "C1#power_off#2026-11-27T03:05:00Z");
    let c2 = items.iter().find(|i| i["container_id"] == "C2").unwrap();
    assert_eq!(c2["status"], "open");

    // SNS: opened, escalated, opened (C2), resolved — never the repeat.
    let msgs: Vec<serde_json::Value> = admin(&["receive", &queue])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut seen: Vec<(String, String)> = msgs
        .iter()
        .map(|m| {
            let a = &m["MessageAttributes"];
            (
                a["action"]["Value"].as_str().unwrap().to_string(),
                a["container_id"]["Value"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    seen.sort();
    let want = [
        ("escalated", "C1"),
        ("opened", "C1"),
        ("opened", "C2"),
        ("resolved", "C1"),
    ];
    assert_eq!(seen, want.map(|(a, c)| (a.to_string(), c.to_string())));
    let body = msgs[0]["Message"].as_str().unwrap();
    assert!(body.contains("\"notification_id\""), "{body}");
    assert!(msgs[0]["Subject"].as_str().unwrap().starts_with("reefer: "));

    // A second run with the same events: nothing new reaches SNS.
    let out = act_aws(&s, &evs, &["--to", &dynamo, "--to", &sns]);
    out.success();
    assert!(admin(&["receive", &queue]).trim().is_empty());
}

#[test]
fn a_missing_table_or_topic_is_a_configuration_error() {
    let s = Scene::new();
    let out = act_aws(
        &s,
        &[],
        &["--to", &format!("dynamodb://{}", unique("nope"))],
    );
    out.code(2);
    let out = act_aws(
        &s,
        &[],
        &["--to", "sns://arn:aws:sns:us-east-1:123456789012:nope"],
    );
    out.code(2);
}

#[test]
fn a_table_with_another_key_schema_is_refused_before_any_input_is_read() {
    let s = Scene::new();
    let table = unique("keyed-by-id");
    admin(&["create-table", &table, "id"]);
    let evs = vec![event(
        "C1",
        "power_off",
        "warning",
        "2026-11-27T03:05:00Z",
        "open",
    )];
    let out = act_aws(&s, &evs, &["--to", &format!("dynamodb://{table}")]).code(2);
    out.stdout("").stderr(predicates::str::contains(format!(
        "dynamodb://{table}: the table is keyed id (HASH, S); reefer-act needs a string partition key alert_key and no sort key"
    )));
    assert!(!std::path::Path::new(&s.path("state.db")).exists());
    // Nothing was written to the table.
    assert!(admin(&["scan-table", &table]).trim().is_empty());
}
