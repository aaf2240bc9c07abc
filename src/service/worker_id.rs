//! The default worker id: the ECS task id from the task metadata endpoint (`ECS_CONTAINER_METADATA_URI_V4`)
//! when present, else the host name plus a random suffix (so two processes on one host never share an id).

use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;

/// How long the metadata endpoint may take.
const METADATA_TIMEOUT: Duration = Duration::from_secs(3);

/// The task id at the end of a task ARN (`arn:aws:ecs:<region>:<account>:task/<cluster>/<task id>`).
pub(crate) fn task_id_from_arn(arn: &str) -> Option<&str> {
    let (_, resource) = arn.split_once(":task/")?;
    resource.rsplit('/').next().filter(|id| !id.is_empty())
}

/// GETs `url` (plain HTTP) within `timeout`: the status code and the body, or a message naming the URL and
/// the cause. Shared by the task metadata lookup and the `--healthcheck` probe.
pub(crate) async fn http_get(url: &str, timeout: Duration) -> Result<(u16, Bytes), String> {
    let uri: hyper::Uri = url.parse().map_err(|e| format!("{url}: not a URL: {e}"))?;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Empty<Bytes>>();
    let fetch = async {
        let response = client
            .get(uri)
            .await
            .map_err(|e| format!("{url}: {}", kcl_checkpoint::DisplayChain(&e)))?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("{url}: {e}"))?
            .to_bytes();
        Ok((status, body))
    };
    tokio::time::timeout(timeout, fetch)
        .await
        .map_err(|_| format!("{url}: no answer within {} s", timeout.as_secs()))?
}

/// Reads `<metadata uri>/task` and returns the task id.
pub(crate) async fn ecs_task_id(metadata_uri: &str) -> Result<String, String> {
    let url = format!("{}/task", metadata_uri.trim_end_matches('/'));
    let (status, body) = http_get(&url, METADATA_TIMEOUT).await?;
    if !(200..300).contains(&status) {
        return Err(format!("{url}: HTTP {status}"));
    }
    let json: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| format!("{url}: not JSON: {e}"))?;
    let arn = json
        .get("TaskARN")
        .and_then(|v| v.as_str())
        .ok_or_else(|| format!("{url}: no TaskARN in the task metadata"))?;
    task_id_from_arn(arn)
        .map(str::to_owned)
        .ok_or_else(|| format!("{url}: TaskARN {arn:?} has no task id"))
}

/// The host name (`HOSTNAME`, else `/etc/hostname`, else `localhost`) plus a random suffix.
pub(crate) fn host_based() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());
    format!("{host}-{:08x}", rand_suffix())
}

fn rand_suffix() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    // RandomState is seeded from the OS's randomness; the process id separates forks.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.finish() as u32
}

/// The default worker id, and where it came from (for the start-up log line).
pub(crate) async fn default_worker_id() -> (String, &'static str) {
    if let Ok(uri) = std::env::var("ECS_CONTAINER_METADATA_URI_V4") {
        match ecs_task_id(&uri).await {
            Ok(id) => return (id, "the ECS task id"),
            Err(e) => tracing::warn!(error = %e, "reading the ECS task id failed; using the host name"),
        }
    }
    (host_based(), "the host name with a random suffix")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_task_id_is_the_last_part_of_the_arn() {
        assert_eq!(
            task_id_from_arn("arn:aws:ecs:us-east-1:123456789012:task/prod/0123456789abcdef0123456789abcdef"),
            Some("0123456789abcdef0123456789abcdef")
        );
        assert_eq!(
            task_id_from_arn("arn:aws:ecs:us-east-1:123456789012:task/abc"),
            Some("abc")
        );
        assert_eq!(
            task_id_from_arn("arn:aws:ecs:us-east-1:123456789012:cluster/prod"),
            None
        );
    }

    #[test]
    fn host_based_ids_differ_between_calls() {
        assert_ne!(host_based(), host_based());
    }
}
