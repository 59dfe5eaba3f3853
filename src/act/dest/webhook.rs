use super::{render, Body, DeliveryError, Destination, Template, PAGERDUTY_KEY_VAR};
use serde_json::Value;
use std::time::Duration;

/// `http(s)://...`: POSTs the alert as JSON (or a chat message with `--template slack`).
pub struct Webhook {
    /// The URL as given, credentials included: only ever sent, never printed.
    url: String,
    /// The URL with its credentials masked: what messages and the state show.
    shown: String,
    template: Template,
    /// PagerDuty's routing key, for `--template pagerduty`.
    routing_key: String,
    agent: ureq::Agent,
}

impl Webhook {
    /// Checks the URL before any input is read: a URL that cannot be parsed
    /// would otherwise fail every notification the same way.
    pub fn new(url: &str, template: Template, timeout: Duration) -> anyhow::Result<Self> {
        let shown = crate::redact::url(url);
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(timeout.min(Duration::from_secs(10)))
            .timeout(timeout)
            .build();
        let parsed = agent.post(url).request_url().map_err(|e| {
            let why = match &e {
                ureq::Error::Transport(t) => t.message().unwrap_or("").to_string(),
                other => other.kind().to_string(),
            };
            crate::app::usage(crate::redact::text(&format!(
                "{shown}: not a valid URL: {why}"
            )))
        })?;
        if parsed.host().is_empty() {
            return Err(crate::app::usage(format!("{shown}: the URL has no host")));
        }
        let routing_key = std::env::var(PAGERDUTY_KEY_VAR).unwrap_or_default();
        if template == Template::Pagerduty && routing_key.trim().is_empty() {
            return Err(crate::app::usage(format!(
                "{shown}: --template pagerduty needs the integration's routing key in {PAGERDUTY_KEY_VAR}"
            )));
        }
        Ok(Webhook {
            url: url.to_string(),
            shown,
            template,
            routing_key,
            agent,
        })
    }
}

/// A transport failure in words, without the URL that ureq's own message
/// repeats (the caller names the destination once, masked).
fn transport(t: &ureq::Transport) -> DeliveryError {
    use ureq::ErrorKind as K;
    let mut why = t.kind().to_string();
    if let Some(m) = t.message() {
        why.push_str(": ");
        why.push_str(m);
    }
    if let Some(src) = std::error::Error::source(t) {
        why.push_str(": ");
        why.push_str(&src.to_string());
    }
    let why = crate::redact::text(&why);
    match t.kind() {
        K::Dns | K::ConnectionFailed | K::Io | K::ProxyConnect => DeliveryError::connection(why),
        K::InvalidUrl | K::UnknownScheme | K::InvalidProxyUrl => DeliveryError::permanent(why),
        _ => DeliveryError::retryable(why),
    }
}

impl Destination for Webhook {
    fn uri(&self) -> &str {
        &self.shown
    }

    fn deliver(&mut self, payload: &Value) -> Result<(), DeliveryError> {
        let id = payload
            .get("notification_id")
            .and_then(Value::as_str)
            .unwrap_or("");
        let request = self.agent.post(&self.url).set("Idempotency-Key", id);
        let sent = match render(self.template, payload, &self.routing_key) {
            Body::Json(body) => request.send_json(body),
            Body::Text(text) => request
                .set("Content-Type", "text/plain; charset=utf-8")
                .send_string(&text),
        };
        match sent {
            Ok(_) => Ok(()),
            Err(ureq::Error::Status(code, _)) => {
                let msg = format!("HTTP {code}");
                // Timeouts, throttling and server errors may pass; other client errors will not.
                if code == 408 || code == 429 || code >= 500 {
                    Err(DeliveryError::retryable(msg))
                } else {
                    Err(DeliveryError::permanent(msg))
                }
            }
            Err(ureq::Error::Transport(t)) => Err(transport(&t)),
        }
    }
}
