use super::{summary, DeliveryError, Destination, Template};
use serde_json::{json, Value};
use std::time::Duration;

/// `http(s)://...`: POSTs the alert as JSON (or a chat message with `--template slack`).
pub struct Webhook {
    url: String,
    template: Template,
    agent: ureq::Agent,
}

impl Webhook {
    pub fn new(url: &str, template: Template, timeout: Duration) -> Self {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(timeout.min(Duration::from_secs(10)))
            .timeout(timeout)
            .build();
        Webhook {
            url: url.to_string(),
            template,
            agent,
        }
    }
}

impl Destination for Webhook {
    fn uri(&self) -> &str {
        &self.url
    }

    fn deliver(&mut self, payload: &Value) -> Result<(), DeliveryError> {
        let body = match self.template {
            Template::Json => payload.clone(),
            Template::Slack => json!({ "text": summary(payload) }),
        };
        let id = payload
            .get("notification_id")
            .and_then(Value::as_str)
            .unwrap_or("");
        match self
            .agent
            .post(&self.url)
            .set("Idempotency-Key", id)
            .send_json(body)
        {
            Ok(_) => Ok(()),
            Err(ureq::Error::Status(code, _)) => {
                let msg = format!("HTTP {code} from {}", self.url);
                // Timeouts, throttling and server errors may pass; other client errors will not.
                if code == 408 || code == 429 || code >= 500 {
                    Err(DeliveryError::retryable(msg))
                } else {
                    Err(DeliveryError::permanent(msg))
                }
            }
            Err(e) => Err(DeliveryError::retryable(format!("{}: {e}", self.url))),
        }
    }
}
