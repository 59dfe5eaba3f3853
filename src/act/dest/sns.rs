use super::{delivery_failure, open_failure, summary, DeliveryError, Destination};
use crate::aws::{classify, Aws};
use aws_sdk_sns::types::MessageAttributeValue;
use serde_json::Value;

/// `sns://TOPIC_ARN`: each notification published to an SNS topic (the reference
/// design's e-mail to the field engineer): a one-line subject, a message with the
/// human summary followed by the alert JSON, and `severity`, `fault`,
/// `container_id` and `action` as message attributes for subscription filters.
pub struct Sns {
    uri: String,
    topic_arn: String,
    client: aws_sdk_sns::Client,
    runtime: tokio::runtime::Runtime,
}

impl Sns {
    pub fn open(
        uri: &str,
        topic_arn: &str,
        aws: &Aws,
        runtime: tokio::runtime::Runtime,
    ) -> anyhow::Result<Self> {
        if !topic_arn.starts_with("arn:") {
            return Err(crate::app::usage(format!(
                "{uri}: expected a topic ARN, e.g. sns://arn:aws:sns:eu-west-1:123456789012:reefer-alerts"
            )));
        }
        let client = aws.sns();
        runtime
            .block_on(client.get_topic_attributes().topic_arn(topic_arn).send())
            .map_err(|e| open_failure(uri, classify(&e)))?;
        Ok(Sns {
            uri: crate::redact::url(uri),
            topic_arn: topic_arn.to_string(),
            client,
            runtime,
        })
    }
}

impl Destination for Sns {
    fn uri(&self) -> &str {
        &self.uri
    }

    fn deliver(&mut self, payload: &Value) -> Result<(), DeliveryError> {
        let text = summary(payload);
        // SNS subjects: at most 100 printable ASCII characters, no line breaks.
        let mut subject: String = text
            .chars()
            .filter(|c| c.is_ascii_graphic() || *c == ' ')
            .collect::<String>()
            .trim()
            .to_string();
        subject.truncate(100);
        let mut request = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(
                format!("reefer: {subject}")
                    .chars()
                    .take(100)
                    .collect::<String>(),
            )
            .message(format!("{text}\n\n{payload:#}"));
        for key in ["severity", "fault", "container_id", "action"] {
            if let Some(v) = payload.get(key).and_then(Value::as_str) {
                let attr = MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value(v)
                    .build()
                    .map_err(|e| DeliveryError::permanent(e.to_string()))?;
                request = request.message_attributes(key, attr);
            }
        }
        self.runtime
            .block_on(request.send())
            .map(|_| ())
            .map_err(|e| delivery_failure(classify(&e)))
    }
}
