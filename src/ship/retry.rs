//! Retrying AWS calls with [`Backoff`].

pub use crate::backoff::Backoff;

/// Attempts allowed when the endpoint does not answer at all: enough to ride
/// out a blip, few enough that an unreachable endpoint ends the run quickly.
pub const UNREACHABLE_ATTEMPTS: u32 = 3;

/// Calls `f` until it succeeds, retrying throttling, server errors and (a few
/// times) unreachable endpoints with backoff; counts every request.
pub async fn call<T, E, F, Fut>(
    requests: &super::account::Requests,
    api: &'static str,
    backoff: &mut Backoff,
    max_attempts: u32,
    mut f: F,
) -> Result<T, crate::aws::Failure>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<
        Output = Result<
            T,
            aws_sdk_kinesis::error::SdkError<E, aws_sdk_kinesis::config::http::HttpResponse>,
        >,
    >,
    E: aws_sdk_kinesis::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        requests.count(api);
        match f().await {
            Ok(v) => return Ok(v),
            Err(e) => {
                let failure = crate::aws::classify(&e);
                let limit = if matches!(failure, crate::aws::Failure::Unreachable { .. }) {
                    UNREACHABLE_ATTEMPTS.min(max_attempts.max(1))
                } else {
                    max_attempts
                };
                if !failure.is_retryable() || attempt >= limit {
                    return Err(failure);
                }
                tokio::time::sleep(backoff.delay(attempt)).await;
            }
        }
    }
}
