use super::{delivery_failure, open_failure, DeliveryError, Destination};
use crate::aws::{classify, Aws};
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;
use std::collections::HashMap;

/// `dynamodb://TABLE`: every change of every alert, as one item per alert
/// (the reference design's persistence). The table's partition key is the
/// string `alert_key` = `container_id#fault#opened_at`, unique across pipelines.
pub struct DynamoDb {
    uri: String,
    table: String,
    client: aws_sdk_dynamodb::Client,
    runtime: tokio::runtime::Runtime,
}

impl DynamoDb {
    pub fn open(
        uri: &str,
        table: &str,
        aws: &Aws,
        runtime: tokio::runtime::Runtime,
    ) -> anyhow::Result<Self> {
        if table.is_empty() {
            return Err(crate::app::usage(
                "dynamodb:// needs a table name, e.g. dynamodb://reefer-alerts",
            ));
        }
        let client = aws.dynamodb();
        let described = runtime
            .block_on(client.describe_table().table_name(table).send())
            .map_err(|e| open_failure(uri, classify(&e)))?;
        if let Some(t) = described.table() {
            check_key_schema(table, t)?;
        }
        Ok(DynamoDb {
            uri: crate::redact::url(uri),
            table: table.to_string(),
            client,
            runtime,
        })
    }
}

/// The one key schema reefer-act writes: a string partition key `alert_key`,
/// no sort key. Any other table fails every PutItem with a ValidationException,
/// so it is refused before any input is read.
pub const KEY: &str = "alert_key";

fn check_key_schema(
    table: &str,
    t: &aws_sdk_dynamodb::types::TableDescription,
) -> anyhow::Result<()> {
    use aws_sdk_dynamodb::types::{KeyType, ScalarAttributeType};
    let keys: Vec<String> = t
        .key_schema()
        .iter()
        .map(|k| {
            let ty = t
                .attribute_definitions()
                .iter()
                .find(|d| d.attribute_name() == k.attribute_name())
                .map_or("?", |d| d.attribute_type().as_str());
            format!("{} ({}, {ty})", k.attribute_name(), k.key_type().as_str())
        })
        .collect();
    let ok = t.key_schema().len() == 1
        && t.key_schema()[0].attribute_name() == KEY
        && t.key_schema()[0].key_type() == &KeyType::Hash
        && t.attribute_definitions()
            .iter()
            .any(|d| d.attribute_name() == KEY && d.attribute_type() == &ScalarAttributeType::S);
    if ok {
        return Ok(());
    }
    Err(crate::app::usage(format!(
        "dynamodb://{table}: the table is keyed {}; reefer-act needs a string partition key {KEY} and no sort key \
         (aws dynamodb create-table --table-name {table} --attribute-definitions AttributeName={KEY},AttributeType=S \
         --key-schema AttributeName={KEY},KeyType=HASH --billing-mode PAY_PER_REQUEST)",
        keys.join(", ")
    )))
}

fn attribute(v: &Value) -> Option<AttributeValue> {
    match v {
        Value::Null => None,
        Value::Bool(b) => Some(AttributeValue::Bool(*b)),
        Value::Number(n) => Some(AttributeValue::N(n.to_string())),
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(AttributeValue::S(s.clone())),
        // Evidence stays JSON text: readable as is, and free of DynamoDB's type rules.
        other => Some(AttributeValue::S(other.to_string())),
    }
}

impl Destination for DynamoDb {
    fn uri(&self) -> &str {
        &self.uri
    }

    fn records_every_change(&self) -> bool {
        true
    }

    fn deliver(&mut self, payload: &Value) -> Result<(), DeliveryError> {
        let s = |k: &str| payload.get(k).and_then(Value::as_str).unwrap_or("");
        let key = format!("{}#{}#{}", s("container_id"), s("fault"), s("opened_at"));
        let mut item: HashMap<String, AttributeValue> = HashMap::new();
        item.insert("alert_key".into(), AttributeValue::S(key));
        if let Value::Object(m) = payload {
            for (k, v) in m {
                if k == "notification_id" {
                    continue;
                }
                if let Some(a) = attribute(v) {
                    item.insert(k.clone(), a);
                }
            }
        }
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send();
        self.runtime
            .block_on(request)
            .map(|_| ())
            .map_err(|e| delivery_failure(classify(&e)))
    }
}
