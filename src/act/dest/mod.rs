//! Where alerts go. A destination is one file: it parses nothing but its own
//! URI and delivers one JSON payload at a time.

mod dynamodb;
mod exec;
mod sns;
mod sqlite;
mod stdout;
mod template;
mod webhook;

use crate::app::usage;
use serde_json::Value;

/// Why a delivery failed, and whether trying again may help.
#[derive(Debug, Clone)]
pub struct DeliveryError {
    pub message: String,
    pub retryable: bool,
    /// The reader of stdout went away: end quietly, as after `| head`.
    pub broken_pipe: bool,
    /// The destination could not be reached at all (refused, DNS, timeout):
    /// what the circuit breaker counts.
    pub connection: bool,
}

impl DeliveryError {
    pub fn retryable(message: impl Into<String>) -> Self {
        DeliveryError {
            message: message.into(),
            retryable: true,
            broken_pipe: false,
            connection: false,
        }
    }

    /// The destination did not answer: retried, and counted by the circuit breaker.
    pub fn connection(message: impl Into<String>) -> Self {
        DeliveryError {
            connection: true,
            ..DeliveryError::retryable(message)
        }
    }

    pub fn permanent(message: impl Into<String>) -> Self {
        DeliveryError {
            message: message.into(),
            retryable: false,
            broken_pipe: false,
            connection: false,
        }
    }
}

pub trait Destination {
    /// The destination as given on the command line with its credentials
    /// masked ([`crate::redact`]): what is printed, and the outbox key.
    fn uri(&self) -> &str;

    /// Record destinations (databases) mirror every change of an alert;
    /// notification destinations only hear of openings, escalations and resolutions.
    fn records_every_change(&self) -> bool {
        false
    }

    fn deliver(&mut self, payload: &Value) -> Result<(), DeliveryError>;

    /// Called once at the end of a run.
    fn finish(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub use template::{render, Body, Template, PAGERDUTY_KEY_VAR};

/// What `exec:` programs get on stdin in `template`.
pub fn body_text(template: Template, payload: &Value) -> String {
    let key = std::env::var(PAGERDUTY_KEY_VAR).unwrap_or_default();
    render(template, payload, &key).into_text()
}

/// Options that shape destinations.
pub struct DestOptions {
    pub template: Template,
    pub timeout: std::time::Duration,
    /// `-o FILE`: where `-` writes (stdout when `None`).
    pub output: Option<String>,
    pub line_buffered: bool,
    /// How to reach AWS, for `dynamodb://` and `sns://`.
    pub aws: crate::aws::AwsOptions,
}

/// The AWS configuration and a runtime to drive the SDK from this synchronous tool.
fn aws(
    uri: &str,
    opts: &DestOptions,
) -> anyhow::Result<(crate::aws::Aws, tokio::runtime::Runtime)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let aws = runtime
        .block_on(crate::aws::Aws::load(&opts.aws))
        .map_err(|e| usage(format!("{uri}: {e}")))?;
    Ok((aws, runtime))
}

/// Parses a `--to` value into a destination.
pub fn open(uri: &str, opts: &DestOptions) -> anyhow::Result<Box<dyn Destination>> {
    if uri == "-" {
        let out = crate::codec::Output::open(opts.output.as_deref(), opts.line_buffered)
            .map_err(|e| usage(e.to_string()))?;
        return Ok(Box::new(stdout::Stdout::new(out)));
    }
    if let Some(path) = uri.strip_prefix("sqlite://") {
        return Ok(Box::new(sqlite::Sqlite::open(uri, path)?));
    }
    if uri.starts_with("http://") || uri.starts_with("https://") {
        return Ok(Box::new(webhook::Webhook::new(
            uri,
            opts.template,
            opts.timeout,
        )?));
    }
    if let Some(table) = uri.strip_prefix("dynamodb://") {
        let (aws, rt) = aws(uri, opts)?;
        return Ok(Box::new(dynamodb::DynamoDb::open(uri, table, &aws, rt)?));
    }
    if let Some(topic) = uri.strip_prefix("sns://") {
        let (aws, rt) = aws(uri, opts)?;
        return Ok(Box::new(sns::Sns::open(uri, topic, &aws, rt)?));
    }
    if let Some(cmd) = uri.strip_prefix("exec:") {
        return Ok(Box::new(exec::Exec::parse_with(
            uri,
            cmd,
            opts.timeout,
            opts.template,
        )?));
    }
    Err(usage(format!(
        "unknown destination {:?} (expected -, sqlite://PATH, http(s)://URL, exec:PROGRAM ARGS..., dynamodb://TABLE, sns://TOPIC_ARN)",
        crate::redact::text(uri)
    )))
}

/// What a failed check of an AWS destination at start-up means: a missing or
/// forbidden resource is a configuration error (exit 2), anything else a runtime one.
fn open_failure(uri: &str, f: crate::aws::Failure) -> anyhow::Error {
    use crate::aws::Failure;
    match f {
        f @ (Failure::NotFound { .. } | Failure::Denied { .. } | Failure::Client { .. }) => {
            usage(crate::redact::text(&format!("{uri}: {f}")))
        }
        f => anyhow::anyhow!(crate::redact::text(&format!("{uri}: {f}"))),
    }
}

/// A delivery error from an AWS failure: retried when the service says it may
/// pass; no answer at all counts for the circuit breaker. (The caller names
/// the destination.)
fn delivery_failure(f: crate::aws::Failure) -> DeliveryError {
    let msg = crate::redact::text(&f.to_string());
    match f {
        crate::aws::Failure::Unreachable { .. } => DeliveryError::connection(msg),
        f if f.is_retryable() => DeliveryError::retryable(msg),
        _ => DeliveryError::permanent(msg),
    }
}

/// One line of human text about an alert, for chat and e-mail: what happened,
/// where, and for a resolve how long it lasted.
pub fn summary(payload: &Value) -> String {
    let s = |k: &str| payload.get(k).and_then(Value::as_str).unwrap_or("?");
    let severity = s("severity").to_uppercase();
    let what = match s("action") {
        "resolved" => format!(
            "✅ resolved after {} (was {severity})",
            payload
                .get("duration_s")
                .and_then(Value::as_i64)
                .map_or("?".to_string(), |d| crate::time::Span::from_secs(d)
                    .to_string())
        ),
        "reminder" => format!("⏰ {severity} still open since {}", s("since")),
        action if s("severity") == "critical" => format!("🔴 {severity} {action}"),
        action => format!("🟠 {severity} {action}"),
    };
    format!(
        "{what}: {} on container {} [{}] — {}",
        s("fault"),
        s("container_id"),
        payload
            .get("product_id")
            .and_then(Value::as_str)
            .unwrap_or("unknown product"),
        s("message"),
    )
}
