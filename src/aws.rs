//! The shared AWS client layer: configuration from the standard chain
//! (`AWS_PROFILE`, `AWS_REGION`, credentials chain, `AWS_ENDPOINT_URL`) plus an
//! explicit endpoint, bounded timeouts, and one classification of failures that
//! every sink uses to decide between retrying, dead-lettering and giving up.
//!
//! The SDK's own retries are off: callers retry themselves so that they can
//! count requests, retry only the failed entries of a batch, and report honestly.
//! Nothing here ever prints credentials.

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_kinesis::config::http::HttpResponse;
use aws_sdk_kinesis::error::{ProvideErrorMetadata, SdkError};
use std::time::Duration;

/// How to reach AWS, as given on the command line.
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    /// `--endpoint-url`; `AWS_ENDPOINT_URL` applies when absent.
    pub endpoint_url: Option<String>,
    /// `--region`; the standard chain applies when absent.
    pub region: Option<String>,
    /// `--profile`; `AWS_PROFILE` applies when absent.
    pub profile: Option<String>,
    /// Time allowed to open a connection.
    pub connect_timeout: Duration,
    /// Time allowed for one request attempt.
    pub request_timeout: Duration,
}

/// A loaded configuration, from which clients are built.
#[derive(Clone, Debug)]
pub struct Aws {
    config: SdkConfig,
    custom_endpoint: bool,
}

/// Region used with a custom endpoint (an emulator) when none is configured.
const EMULATOR_REGION: &str = "us-east-1";

impl Aws {
    /// Loads the configuration. Fails (as a configuration problem) when no region is set.
    pub async fn load(opts: &AwsOptions) -> Result<Aws, String> {
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(opts.connect_timeout)
            .read_timeout(opts.request_timeout)
            .operation_attempt_timeout(opts.request_timeout)
            .build();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(RetryConfig::disabled())
            .timeout_config(timeouts);
        if let Some(p) = &opts.profile {
            loader = loader.profile_name(p);
        }
        if let Some(r) = &opts.region {
            loader = loader.region(Region::new(r.clone()));
        }
        if let Some(e) = &opts.endpoint_url {
            loader = loader.endpoint_url(e);
        }
        let mut config = loader.load().await;
        let custom_endpoint =
            config.endpoint_url().is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
        if config.region().is_none() {
            if !custom_endpoint {
                return Err(
                    "no AWS region configured: set AWS_REGION, a profile region, or --region"
                        .into(),
                );
            }
            config = config
                .into_builder()
                .region(Region::from_static(EMULATOR_REGION))
                .build();
        }
        Ok(Aws {
            config,
            custom_endpoint,
        })
    }

    pub fn region(&self) -> &str {
        self.config.region().map(|r| r.as_ref()).unwrap_or("?")
    }

    /// Where requests go, for messages: the custom endpoint or "AWS <region>".
    pub fn endpoint_label(&self) -> String {
        match self.config.endpoint_url() {
            Some(e) => e.to_string(),
            None => format!("AWS {}", self.region()),
        }
    }

    pub fn sdk_config(&self) -> &SdkConfig {
        &self.config
    }

    pub fn kinesis(&self) -> aws_sdk_kinesis::Client {
        aws_sdk_kinesis::Client::new(&self.config)
    }

    pub fn firehose(&self) -> aws_sdk_firehose::Client {
        aws_sdk_firehose::Client::new(&self.config)
    }

    /// S3 with path-style addressing whenever the endpoint is not AWS's own
    /// (emulators answer on one host name, not per-bucket subdomains).
    pub fn s3(&self) -> aws_sdk_s3::Client {
        let conf = aws_sdk_s3::config::Builder::from(&self.config)
            .force_path_style(self.custom_endpoint)
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }

    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.config)
    }

    pub fn sns(&self) -> aws_sdk_sns::Client {
        aws_sdk_sns::Client::new(&self.config)
    }
}

/// What a failed request means for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The service asked to slow down: retry later, more slowly.
    Throttled { code: String, message: String },
    /// A server-side or transient failure (5xx, bad response): retry.
    Server { code: String, message: String },
    /// No answer: connection refused, DNS, TLS, timeout. Retry a little, then give up.
    Unreachable { message: String },
    /// The resource does not exist.
    NotFound { code: String, message: String },
    /// Credentials or permissions are wrong: a configuration problem.
    Denied { code: String, message: String },
    /// The request itself is wrong: retrying will not help.
    Client { code: String, message: String },
}

impl Failure {
    pub fn code(&self) -> &str {
        match self {
            Failure::Unreachable { .. } => "Unreachable",
            Failure::Throttled { code, .. }
            | Failure::Server { code, .. }
            | Failure::NotFound { code, .. }
            | Failure::Denied { code, .. }
            | Failure::Client { code, .. } => code,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Failure::Unreachable { message }
            | Failure::Throttled { message, .. }
            | Failure::Server { message, .. }
            | Failure::NotFound { message, .. }
            | Failure::Denied { message, .. }
            | Failure::Client { message, .. } => message,
        }
    }

    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Failure::Throttled { .. } | Failure::Server { .. } | Failure::Unreachable { .. }
        )
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Unreachable { message } => write!(f, "unreachable: {message}"),
            other => write!(f, "{} ({})", other.message(), other.code()),
        }
    }
}

/// Error codes that mean "slow down" across Kinesis, Firehose, S3, DynamoDB and SNS.
pub fn is_throttling_code(code: &str) -> bool {
    matches!(
        code,
        "ProvisionedThroughputExceededException"
            | "ThrottlingException"
            | "Throttling"
            | "ThrottledException"
            | "LimitExceededException"
            | "RequestLimitExceeded"
            | "SlowDown"
            | "KMSThrottlingException"
            | "RequestThrottled"
            | "TooManyRequestsException"
    )
}

/// Error codes of transient server trouble.
pub fn is_server_code(code: &str) -> bool {
    matches!(
        code,
        "InternalFailure"
            | "InternalError"
            | "InternalServerError"
            | "ServiceUnavailable"
            | "ServiceUnavailableException"
            | "ServiceFailure"
    )
}

/// An error and its causes on one line, each said once (no debug dumps, no
/// response bodies).
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        let text = e.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = e.source();
    }
    parts.join(": ")
}

/// A service's error answer, by its code and HTTP status.
fn service_failure(status: u16, code: String, message: String) -> Failure {
    if is_throttling_code(&code) || status == 429 {
        Failure::Throttled { code, message }
    } else if is_server_code(&code) || status >= 500 {
        Failure::Server { code, message }
    } else if code.contains("NotFound") || code == "NoSuchBucket" || status == 404 {
        Failure::NotFound { code, message }
    } else if status == 403
        || matches!(
            code.as_str(),
            "UnrecognizedClientException"
                | "InvalidSignatureException"
                | "AccessDenied"
                | "AccessDeniedException"
                | "ExpiredToken"
                | "ExpiredTokenException"
                | "InvalidAccessKeyId"
                | "SignatureDoesNotMatch"
        )
    {
        Failure::Denied { code, message }
    } else {
        Failure::Client { code, message }
    }
}

/// Classifies any SDK error (every service's error type shares this shape).
pub fn classify<E>(err: &SdkError<E, HttpResponse>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let detail = || error_chain(err);
    match err {
        SdkError::DispatchFailure(d) => {
            let message = detail();
            if d.is_user() || message.contains("credentials") {
                Failure::Denied {
                    code: "CredentialsError".into(),
                    message,
                }
            } else {
                Failure::Unreachable { message }
            }
        }
        SdkError::TimeoutError(_) => Failure::Unreachable {
            message: "request timed out".into(),
        },
        SdkError::ResponseError(r) => {
            let _ = r;
            let mut message = "unreadable response".to_string();
            if let Some(src) = std::error::Error::source(err) {
                message = format!("unreadable response: {src}");
            }
            message.truncate(300);
            Failure::Server {
                code: "ResponseError".into(),
                message,
            }
        }
        SdkError::ConstructionFailure(_) => {
            let message = detail();
            if message.contains("credentials") {
                Failure::Denied {
                    code: "CredentialsError".into(),
                    message,
                }
            } else {
                Failure::Client {
                    code: "ConstructionFailure".into(),
                    message,
                }
            }
        }
        SdkError::ServiceError(se) => {
            let status = se.raw().status().as_u16();
            let e = se.err();
            let code = e
                .code()
                .map(str::to_string)
                .unwrap_or_else(|| format!("HTTP{status}"));
            let message = e
                .message()
                .map(str::to_string)
                .unwrap_or_else(|| format!("HTTP status {status}"));
            service_failure(status, code, message)
        }
        _ => Failure::Server {
            code: "Unknown".into(),
            message: detail(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_and_server_codes() {
        assert!(is_throttling_code("ProvisionedThroughputExceededException"));
        assert!(is_throttling_code("SlowDown"));
        assert!(!is_throttling_code("ResourceNotFoundException"));
        assert!(is_server_code("InternalFailure"));
        let f = Failure::Throttled {
            code: "SlowDown".into(),
            message: "m".into(),
        };
        assert!(f.is_retryable());
        assert_eq!(f.to_string(), "m (SlowDown)");
        assert!(!Failure::NotFound {
            code: "x".into(),
            message: "m".into()
        }
        .is_retryable());
    }
}
