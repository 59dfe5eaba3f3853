//! Locations as URIs (contract §6): `-`, `file://DIR`, `s3://bucket/prefix`,
//! `kinesis://stream`, `firehose://stream`.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// Where records come from or go to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// stdin or stdout.
    Std,
    /// A local data lake laid out like the S3 one.
    Lake(PathBuf),
    /// An S3 bucket and a key prefix (no leading or trailing `/`; may be empty).
    S3 { bucket: String, prefix: String },
    /// A Kinesis data stream, by name or ARN.
    Kinesis(String),
    /// A Firehose delivery stream, by name.
    Firehose(String),
    /// An MQTT broker and a topic filter (source) or template (sink).
    Mqtt(super::mqtt::Broker),
}

impl Location {
    /// True for the locations that need AWS configuration.
    pub fn is_aws(&self) -> bool {
        matches!(
            self,
            Location::S3 { .. } | Location::Kinesis(_) | Location::Firehose(_)
        )
    }
}

impl FromStr for Location {
    type Err = String;

    fn from_str(s: &str) -> Result<Location, String> {
        if s == "-" {
            return Ok(Location::Std);
        }
        let Some((scheme, rest)) = s.split_once("://") else {
            return Err(format!(
                "{s:?} is not a location: use -, file://DIR, s3://BUCKET/PREFIX, kinesis://STREAM, firehose://STREAM or mqtt://HOST/TOPIC"
            ));
        };
        match scheme.to_ascii_lowercase().as_str() {
            "file" => {
                if rest.is_empty() {
                    return Err(
                        "file:// needs a directory, e.g. file://lake or file:///var/lake".into(),
                    );
                }
                Ok(Location::Lake(PathBuf::from(rest)))
            }
            "s3" => {
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                if !valid_bucket(bucket) {
                    return Err(format!("{bucket:?} is not a valid S3 bucket name"));
                }
                Ok(Location::S3 {
                    bucket: bucket.to_string(),
                    prefix: prefix.trim_matches('/').to_string(),
                })
            }
            "kinesis" => stream_name(rest).map(Location::Kinesis),
            "firehose" => stream_name(rest).map(Location::Firehose),
            "mqtt" => super::mqtt::Broker::parse(false, rest).map(Location::Mqtt),
            "mqtts" => super::mqtt::Broker::parse(true, rest).map(Location::Mqtt),
            other => Err(format!(
                "unknown location scheme {other}:// (use file://, s3://, kinesis://, firehose://, mqtt:// or mqtts://)"
            )),
        }
    }
}

fn stream_name(rest: &str) -> Result<String, String> {
    let name = rest.trim_end_matches('/');
    if name.is_empty() {
        return Err("a stream name is missing after ://".into());
    }
    if name.starts_with("arn:") {
        return Err("give the stream's name, not its ARN (kinesis://NAME, firehose://NAME)".into());
    }
    if name.len() > 128
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    {
        return Err(format!(
            "{name:?} is not a valid stream name (1-128 of a-z A-Z 0-9 _ . -)"
        ));
    }
    Ok(name.to_string())
}

fn valid_bucket(b: &str) -> bool {
    (3..=63).contains(&b.len())
        && b.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'.' | b'-'))
        && b.as_bytes()[0].is_ascii_alphanumeric()
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Std => f.write_str("-"),
            Location::Lake(p) => write!(f, "file://{}", p.display()),
            Location::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            Location::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
            Location::Kinesis(s) => write!(f, "kinesis://{s}"),
            Location::Firehose(s) => write!(f, "firehose://{s}"),
            Location::Mqtt(b) => write!(f, "{b}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_kind() {
        assert_eq!("-".parse::<Location>().unwrap(), Location::Std);
        assert_eq!(
            "file://lake/x".parse::<Location>().unwrap(),
            Location::Lake("lake/x".into())
        );
        assert_eq!(
            "file:///abs".parse::<Location>().unwrap(),
            Location::Lake("/abs".into())
        );
        assert_eq!(
            "s3://my-bucket/a/b/".parse::<Location>().unwrap(),
            Location::S3 {
                bucket: "my-bucket".into(),
                prefix: "a/b".into()
            }
        );
        assert_eq!(
            "s3://my-bucket".parse::<Location>().unwrap(),
            Location::S3 {
                bucket: "my-bucket".into(),
                prefix: "".into()
            }
        );
        assert_eq!(
            "kinesis://telemetry".parse::<Location>().unwrap(),
            Location::Kinesis("telemetry".into())
        );
        assert_eq!(
            "firehose://lake-feed".parse::<Location>().unwrap(),
            Location::Firehose("lake-feed".into())
        );
    }

    #[test]
    fn rejects_nonsense_with_a_hint() {
        for bad in [
            "telemetry",
            "http://x",
            "s3://A_B",
            "kinesis://",
            "kinesis://a b",
            "file://",
        ] {
            assert!(bad.parse::<Location>().is_err(), "{bad}");
        }
        assert!("telemetry"
            .parse::<Location>()
            .unwrap_err()
            .contains("kinesis://"));
    }

    #[test]
    fn displays_as_given() {
        for s in [
            "-",
            "file://lake",
            "s3://b-1/p/q",
            "s3://b-1",
            "kinesis://t",
            "firehose://f",
        ] {
            assert_eq!(s.parse::<Location>().unwrap().to_string(), s);
        }
    }
}
