//! What a notification looks like on the wire, per `--template`: the alert
//! JSON as it is, or the body a chat, incident or mail system expects.

use super::summary;
use serde_json::{json, Value};

/// Body layout for webhooks (and for `exec:` stdin).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Template {
    /// The alert JSON as it is.
    Json,
    /// `{"text": "..."}` for Slack, Mattermost, Rocket.Chat and other chat webhooks.
    Slack,
    /// A Microsoft Teams message with an Adaptive Card (Teams Workflows webhooks).
    Teams,
    /// PagerDuty Events API v2 (`https://events.pagerduty.com/v2/enqueue`): trigger,
    /// then resolve, with one dedup key per alert; the routing key comes from
    /// the environment variable REEFER_PAGERDUTY_ROUTING_KEY.
    Pagerduty,
    /// A plain-text e-mail (Subject header, then the facts), e.g. for `exec:sendmail -t`
    /// or `exec:/usr/sbin/sendmail oncall@example.com`.
    Text,
}

/// The environment variable that holds PagerDuty's routing (integration) key:
/// kept off the command line, where `ps` would show it.
pub const PAGERDUTY_KEY_VAR: &str = "REEFER_PAGERDUTY_ROUTING_KEY";

/// A rendered body.
pub enum Body {
    Json(Value),
    Text(String),
}

impl Body {
    /// The body as bytes for a pipe (one JSON line, or the text).
    pub fn into_text(self) -> String {
        match self {
            Body::Json(v) => format!("{v}\n"),
            Body::Text(t) => t,
        }
    }
}

fn s<'a>(p: &'a Value, k: &str) -> &'a str {
    p.get(k).and_then(Value::as_str).unwrap_or("")
}

/// The facts of an alert, in reading order, for cards and mail.
fn facts(p: &Value) -> Vec<(&'static str, String)> {
    let mut f = vec![
        ("Container", s(p, "container_id").to_string()),
        ("Product", s(p, "product_id").to_string()),
        ("Fault", s(p, "fault").to_string()),
        ("Severity", s(p, "severity").to_string()),
        ("Status", s(p, "status").to_string()),
        ("Since", s(p, "since").to_string()),
        ("Last seen", s(p, "last_seen").to_string()),
    ];
    if !s(p, "resolved_at").is_empty() {
        f.push(("Resolved at", s(p, "resolved_at").to_string()));
    }
    f.push((
        "Events",
        p.get("event_count").map_or(String::new(), Value::to_string),
    ));
    f.push((
        "Alert",
        format!(
            "{} (notification {})",
            p.get("alert_id").map_or(String::new(), Value::to_string),
            s(p, "notification_id")
        ),
    ));
    f.retain(|(_, v)| !v.is_empty());
    f
}

/// PagerDuty's dedup key: one per alert (container, fault, opening), stable across runs.
fn dedup_key(p: &Value) -> String {
    format!(
        "reefer/{}/{}/{}",
        s(p, "container_id"),
        s(p, "fault"),
        s(p, "opened_at")
    )
}

/// Renders `payload` (an alert notification) in `template`. `routing_key` is
/// PagerDuty's, for [`Template::Pagerduty`].
pub fn render(template: Template, payload: &Value, routing_key: &str) -> Body {
    match template {
        Template::Json => Body::Json(payload.clone()),
        Template::Slack => Body::Json(json!({ "text": summary(payload) })),
        Template::Teams => {
            let facts: Vec<Value> = facts(payload)
                .into_iter()
                .map(|(t, v)| json!({ "title": t, "value": v }))
                .collect();
            Body::Json(json!({
                "type": "message",
                "attachments": [{
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "content": {
                        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                        "type": "AdaptiveCard",
                        "version": "1.4",
                        "body": [
                            { "type": "TextBlock", "text": summary(payload), "wrap": true, "weight": "Bolder" },
                            { "type": "FactSet", "facts": facts }
                        ]
                    }
                }]
            }))
        }
        Template::Pagerduty => {
            let action = if s(payload, "action") == "resolved" {
                "resolve"
            } else {
                "trigger"
            };
            let mut summary = summary(payload);
            // PagerDuty's limit for the summary.
            if summary.len() > 1024 {
                let mut cut = 1021;
                while !summary.is_char_boundary(cut) {
                    cut -= 1;
                }
                summary.truncate(cut);
                summary.push_str("...");
            }
            Body::Json(json!({
                "routing_key": routing_key,
                "event_action": action,
                "dedup_key": dedup_key(payload),
                "payload": {
                    "summary": summary,
                    "source": s(payload, "container_id"),
                    "severity": if s(payload, "severity") == "critical" { "critical" } else { "warning" },
                    "timestamp": s(payload, "last_seen"),
                    "component": s(payload, "product_id"),
                    "group": "reefer",
                    "class": s(payload, "fault"),
                    "custom_details": payload,
                }
            }))
        }
        Template::Text => Body::Text(mail(payload)),
    }
}

/// A plain-text e-mail, headers first (sendmail -t reads them).
fn mail(p: &Value) -> String {
    let line = summary(p);
    // A header must be ASCII without line breaks (no RFC 2047 encoding needed then).
    let subject: String = format!(
        "reefer: {} {}: {} on container {}",
        s(p, "severity").to_uppercase(),
        s(p, "action"),
        s(p, "fault"),
        s(p, "container_id")
    )
    .chars()
    .filter(|c| c.is_ascii_graphic() || *c == ' ')
    .take(200)
    .collect();
    let mut text = format!(
        "Subject: {subject}\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n{line}\n\n"
    );
    let facts = facts(p);
    let width = facts.iter().map(|(t, _)| t.len()).max().unwrap_or(0);
    for (t, v) in facts {
        text.push_str(&format!("{t:width$}  {v}\n"));
    }
    if let Some(e) = p.get("evidence").filter(|e| !e.is_null()) {
        text.push_str(&format!("{:width$}  {e}\n", "Evidence"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(action: &str) -> Value {
        json!({
            "notification_id": "3:opened:1", "action": action, "alert_id": 3,
            "container_id": "MSKU1234565", "product_id": "P07", "fault": "power_off",
            "severity": "critical", "status": if action == "resolved" { "resolved" } else { "open" },
            "message": "No power", "since": "2026-11-27T03:00:00Z",
            "opened_at": "2026-11-27T03:05:00Z", "last_seen": "2026-11-27T03:30:00Z",
            "resolved_at": null, "duration_s": null, "event_count": 2, "evidence": {"kilowatts": 0}
        })
    }

    #[test]
    fn pagerduty_triggers_then_resolves_with_one_dedup_key() {
        let Body::Json(t) = render(Template::Pagerduty, &payload("opened"), "KEY") else {
            panic!("json")
        };
        let Body::Json(r) = render(Template::Pagerduty, &payload("resolved"), "KEY") else {
            panic!("json")
        };
        assert_eq!(t["event_action"], "trigger");
        assert_eq!(r["event_action"], "resolve");
        assert_eq!(t["dedup_key"], r["dedup_key"]);
        assert_eq!(
            t["dedup_key"],
            "reefer/MSKU1234565/power_off/2026-11-27T03:05:00Z"
        );
        assert_eq!(t["routing_key"], "KEY");
        assert_eq!(t["payload"]["severity"], "critical");
        assert_eq!(t["payload"]["source"], "MSKU1234565");
        assert_eq!(t["payload"]["custom_details"]["alert_id"], 3);
    }

    #[test]
    fn teams_gets_an_adaptive_card_with_the_facts() {
        let Body::Json(v) = render(Template::Teams, &payload("opened"), "") else {
            panic!("json")
        };
        let card = &v["attachments"][0]["content"];
        assert_eq!(card["type"], "AdaptiveCard");
        assert!(card["body"][0]["text"]
            .as_str()
            .unwrap()
            .contains("power_off"));
        let facts = card["body"][1]["facts"].as_array().unwrap();
        assert!(facts
            .iter()
            .any(|f| f["title"] == "Container" && f["value"] == "MSKU1234565"));
    }

    #[test]
    fn text_is_a_mail_with_an_ascii_subject() {
        let text = render(Template::Text, &payload("opened"), "").into_text();
        let (head, body) = text.split_once("\n\n").unwrap();
        assert!(head
            .starts_with("Subject: reefer: CRITICAL opened: power_off on container MSKU1234565\n"));
        assert!(head.is_ascii());
        assert!(body.contains("Container  MSKU1234565"), "{body}");
        assert!(body.contains("Evidence   {\"kilowatts\":0}"), "{body}");
    }
}
