//! One emulated Kinesis per region, chosen by each request's SigV4 credential scope.
//!
//! AWS keeps each region's streams apart and names the region in every ARN. The server does the same: the
//! region a request is signed for (`Credential=<key>/<date>/<region>/kinesis/aws4_request`, or the
//! presigned `X-Amz-Credential`) picks the [`Emulator`] that serves it, so a client configured for
//! `us-west-2` creates its streams there, gets `us-west-2` ARNs and can address its streams by them. The
//! server's own emulator (the one [`Server::emulator`](super::Server::emulator) returns, whose region is
//! `--region`) serves its region and requests whose region cannot be read; every other region gets an
//! emulator of the same configuration on first use. With persistence, a region's state lives in
//! `<data-dir>/regions/<region>/` (the server's own region keeps `<data-dir>`), restored when the region is
//! first addressed again.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::Mutex;

use super::error::ApiError;
use super::persist::Persistence;
use crate::Emulator;

/// At most this many regions besides the server's own (each is a whole emulator).
pub(crate) const MAX_REGIONS: usize = 32;

/// An emulator and, with persistence on, what keeps its state.
#[derive(Debug, Clone)]
pub(crate) struct Served {
    pub(crate) emulator: Emulator,
    pub(crate) persistence: Option<Arc<Persistence>>,
}

/// The emulators of every region addressed so far.
#[derive(Debug)]
pub(crate) struct Regions {
    home: Served,
    persistence_dir: Option<PathBuf>,
    others: Mutex<HashMap<String, Served>>,
}

impl Regions {
    /// Serves `home` (in its configured region); other regions start empty, or from
    /// `<persistence_dir>/regions/<region>` when persisting.
    pub(crate) fn new(home: Served, persistence_dir: Option<PathBuf>) -> Self {
        Self {
            home,
            persistence_dir,
            others: Mutex::new(HashMap::new()),
        }
    }

    /// The emulator for `region` (the server's own for `None` or its own region), made on first use.
    pub(crate) async fn get(&self, region: Option<&str>) -> Result<Served, ApiError> {
        let home_region = self.home.emulator.config().region();
        let Some(region) = region.filter(|r| *r != home_region) else {
            return Ok(self.home.clone());
        };
        let mut others = self.others.lock().await;
        if let Some(served) = others.get(region) {
            return Ok(served.clone());
        }
        if others.len() >= MAX_REGIONS {
            return Err(ApiError::from_code(
                "UnrecognizedClientException",
                format!(
                    "the emulator serves at most {} regions besides {home_region}; {region} would be one more",
                    MAX_REGIONS
                ),
            ));
        }
        let config = self.home.emulator.config().for_region(region);
        let emulator = Emulator::new(config);
        let persistence = match &self.persistence_dir {
            Some(dir) => Some(
                Persistence::open(&dir.join("regions").join(region), emulator.clone())
                    .await
                    .map_err(|e| ApiError::internal(format!("cannot open region {region}: {e}")))?,
            ),
            None => None,
        };
        if let Some(p) = &persistence {
            tokio::spawn(p.clone().compact_when_large());
        }
        tracing::info!(%region, "serving a new region");
        let served = Served {
            emulator,
            persistence,
        };
        others.insert(region.to_owned(), served.clone());
        Ok(served)
    }

    /// Every region's persistence (for the snapshot taken at shutdown).
    pub(crate) async fn all_persistence(&self) -> Vec<Arc<Persistence>> {
        let others = self.others.lock().await;
        self.home
            .persistence
            .iter()
            .chain(others.values().filter_map(|s| s.persistence.as_ref()))
            .cloned()
            .collect()
    }
}

/// The region a request is signed for: the third part of the SigV4 credential scope, from the
/// `Authorization` header or the presigned `X-Amz-Credential` query parameter. `None` when absent or not a
/// plausible region name (lower-case letters, digits and dashes, up to 32 characters).
pub(crate) fn signed_region(headers: &http::HeaderMap, query: Option<&str>) -> Option<String> {
    let from_header = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split([',', ' '])
                .find_map(|part| part.trim().strip_prefix("Credential="))
                .map(str::to_owned)
        });
    let credential = from_header.or_else(|| {
        query?.split('&').find_map(|p| {
            p.strip_prefix("X-Amz-Credential=")
                .map(|v| v.replace("%2F", "/").replace("%2f", "/"))
        })
    })?;
    let region = credential.split('/').nth(2)?;
    let plausible = !region.is_empty()
        && region.len() <= 32
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    plausible.then(|| region.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn the_region_comes_from_the_credential_scope() {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_static(
                "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-west-2/kinesis/aws4_request, \
                 SignedHeaders=host;x-amz-date, Signature=abc",
            ),
        );
        assert_eq!(signed_region(&headers, None).as_deref(), Some("us-west-2"));
        let query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20260101%2Feu-west-1%2Fkinesis%2Faws4_request";
        assert_eq!(
            signed_region(&http::HeaderMap::new(), Some(query)).as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(signed_region(&http::HeaderMap::new(), None), None);
        headers.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_static("AWS4-HMAC-SHA256 Credential=a/b, SignedHeaders=host, Signature=c"),
        );
        assert_eq!(signed_region(&headers, None), None);
        headers.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_static("AWS4-HMAC-SHA256 Credential=a/b/US_WEST/kinesis/x, Signature=c"),
        );
        assert_eq!(signed_region(&headers, None), None, "not a region name");
    }

    #[tokio::test]
    async fn each_region_is_its_own_emulator_and_names_itself_in_arns() {
        let home = Served {
            emulator: Emulator::default(),
            persistence: None,
        };
        let regions = Regions::new(home, None);
        let east = regions.get(None).await.unwrap();
        assert_eq!(east.emulator.config().region(), "us-east-1");
        let west = regions.get(Some("us-west-2")).await.unwrap();
        assert_eq!(west.emulator.config().region(), "us-west-2");
        assert_eq!(
            west.emulator.config().account_id(),
            east.emulator.config().account_id()
        );
        // The same region is the same emulator: a stream made there is found there, not at home.
        west.emulator
            .create_stream(crate::types::CreateStreamInput {
                stream_name: "s".into(),
                shard_count: Some(1),
                ..Default::default()
            })
            .await
            .unwrap();
        let again = regions.get(Some("us-west-2")).await.unwrap();
        let listed = again.emulator.list_streams(Default::default()).await.unwrap();
        assert_eq!(listed.stream_names, ["s"]);
        let home = east.emulator.list_streams(Default::default()).await.unwrap();
        assert!(home.stream_names.is_empty());
        for i in 0..MAX_REGIONS - 1 {
            regions.get(Some(&format!("test-{i}"))).await.unwrap();
        }
        let err = regions.get(Some("one-too-many")).await.unwrap_err();
        assert_eq!(err.code, "UnrecognizedClientException");
        assert_eq!(
            regions
                .get(Some("us-east-1"))
                .await
                .unwrap()
                .emulator
                .config()
                .region(),
            "us-east-1"
        );
    }
}
