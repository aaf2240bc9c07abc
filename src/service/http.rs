//! The HTTP endpoints (feature `http`): `/healthz`, `/readyz`, `/metrics`, `/status`.
//!
//! | path | 200 when | body |
//! |---|---|---|
//! | `/healthz` | liveness: no fatal error, the loops ran recently, the lease store answered within the lease duration | JSON `{"status":"ok"}` or `{"status":"unhealthy","reasons":[...]}` (503) |
//! | `/readyz` | readiness: running, a shard sync succeeded, the fair share is held or the fleet is settled | as `/healthz` (503 `not_ready`) |
//! | `/metrics` | always | Prometheus text exposition (metrics-exporter-prometheus) |
//! | `/status` | always | JSON: worker id, phase, balance, leases with checkpoint, millis behind latest, consumer state |
//!
//! `GET` and `HEAD` only (others get 405 with `Allow`); unknown paths get 404. Request handling never
//! panics on input: there is no request body to parse.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use kcl_checkpoint::DisplayChain;
use kcl_core::{metrics as m, WorkerStatusSnapshot};

/// What the endpoints read: a fresh status snapshot of the worker.
pub type StatusSource = Arc<dyn Fn() -> WorkerStatusSnapshot + Send + Sync>;

/// Histogram buckets: batch processing time in seconds.
const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Histogram buckets: millis behind latest.
const BEHIND_BUCKETS: &[f64] = &[
    0.0,
    100.0,
    500.0,
    1_000.0,
    5_000.0,
    10_000.0,
    30_000.0,
    60_000.0,
    300_000.0,
    900_000.0,
    3_600_000.0,
    86_400_000.0,
];

/// The process-wide Prometheus recorder (installed on first use; the `metrics` facade has one global
/// recorder), with histogram buckets for the batch metrics.
///
/// # Errors
///
/// A message when another `metrics` recorder was installed first.
pub fn prometheus() -> Result<PrometheusHandle, String> {
    static HANDLE: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(m::BATCH_PROCESSING_SECONDS.into()), SECONDS_BUCKETS)
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full(m::BATCH_MILLIS_BEHIND_LATEST.into()),
                        BEHIND_BUCKETS,
                    )
                })
                .map_err(|e| e.to_string())?
                .install_recorder()
                .map_err(|e| format!("installing the Prometheus recorder failed: {e}"))?;
            Ok(handle)
        })
        .clone()
}

/// A running HTTP server; dropping it does not stop it, [`HttpServer::stop`] does.
#[derive(Debug)]
pub struct HttpServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl HttpServer {
    /// Binds `addr` and serves the endpoints for `status`.
    ///
    /// # Errors
    ///
    /// The bind error (address in use, permission denied), with the address.
    pub async fn start(
        addr: SocketAddr,
        status: StatusSource,
        metrics: PrometheusHandle,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await.map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("binding the HTTP endpoints to {addr} (KCL_HTTP_ADDR): {e}"),
            )
        })?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            // Histogram samples are folded into their buckets by upkeep (render() runs it too); running it
            // periodically bounds memory when nobody scrapes.
            let upkeep = metrics.clone();
            let _upkeep = AbortOnDrop(tokio::spawn(async move {
                let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
                loop {
                    tick.tick().await;
                    upkeep.run_upkeep();
                }
            }));
            loop {
                let (socket, _) = match listener.accept().await {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::warn!(error = %DisplayChain(&e), "accepting an HTTP connection failed");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let status = Arc::clone(&status);
                let metrics = metrics.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let response = route(&req, &status, &metrics);
                        async move { Ok::<_, Infallible>(response) }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(socket), service)
                        .await;
                });
            }
        });
        Ok(HttpServer { addr, task })
    }

    /// The bound address (with the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting connections.
    pub fn stop(self) {
        self.task.abort();
    }
}

/// Aborts a task when dropped (the upkeep task ends with the server task).
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn respond(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(content_type),
    );
    response
}

fn json(status: StatusCode, value: &serde_json::Value) -> Response<Full<Bytes>> {
    let mut body = serde_json::to_vec(value).unwrap_or_default();
    body.push(b'\n');
    respond(status, "application/json", body)
}

fn check(check: &kcl_core::Check, bad: &str) -> Response<Full<Bytes>> {
    if check.ok {
        json(StatusCode::OK, &serde_json::json!({ "status": "ok" }))
    } else {
        json(
            StatusCode::SERVICE_UNAVAILABLE,
            &serde_json::json!({ "status": bad, "reasons": check.reasons }),
        )
    }
}

/// The `/status` document.
pub fn status_json(s: &WorkerStatusSnapshot) -> serde_json::Value {
    let shards: Vec<_> = s
        .shards
        .iter()
        .map(|sh| {
            serde_json::json!({
                "shard_id": sh.shard_id,
                "state": sh.state.to_string(),
                "checkpoint": sh.checkpoint.as_ref().map(ToString::to_string),
                "millis_behind_latest": sh.millis_behind_latest,
                "records_processed": sh.records_processed,
            })
        })
        .collect();
    let live = s.liveness();
    let ready = s.readiness();
    serde_json::json!({
        "worker_id": s.worker_id,
        "phase": s.phase.name(),
        "healthy": live.ok,
        "ready": ready.ok,
        "reasons": live.reasons.iter().chain(&ready.reasons).collect::<Vec<_>>(),
        "synced": s.synced,
        "lease_store_answered_ms_ago": s.store_answered_ago.map(|d| d.as_millis() as u64),
        "balance": s.balance.map(|b| serde_json::json!({
            "assignable_leases": b.assignable_leases,
            "live_workers": b.live_workers,
            "held": b.held,
            "fair_share": b.fair_share,
            "settled": b.settled,
        })),
        "fatal": s.fatal,
        "leases": shards,
    })
}

fn route(
    req: &Request<Incoming>,
    status: &StatusSource,
    metrics: &PrometheusHandle,
) -> Response<Full<Bytes>> {
    let path = req.uri().path();
    let known = matches!(path, "/healthz" | "/readyz" | "/metrics" | "/status");
    if !known {
        return respond(StatusCode::NOT_FOUND, "text/plain; charset=utf-8", "not found\n");
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = respond(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain; charset=utf-8",
            "method not allowed\n",
        );
        r.headers_mut().insert(
            hyper::header::ALLOW,
            hyper::header::HeaderValue::from_static("GET, HEAD"),
        );
        return r;
    }
    match path {
        "/healthz" => check(&status().liveness(), "unhealthy"),
        "/readyz" => check(&status().readiness(), "not_ready"),
        "/metrics" => respond(
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            metrics.render(),
        ),
        _ => json(StatusCode::OK, &status_json(&status())),
    }
}

/// GETs `http://<addr>/healthz` (an unspecified address means 127.0.0.1): the container health check of
/// the `--healthcheck` flag. `Ok` on 200.
///
/// # Errors
///
/// What was wrong: no answer (with the cause), or the status and the reasons the endpoint gave.
pub async fn probe(addr: SocketAddr) -> Result<(), String> {
    let host = match addr.ip() {
        ip if ip.is_unspecified() => SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), addr.port()),
        _ => addr,
    };
    let url = format!("http://{host}/healthz");
    let (status, body) = super::worker_id::http_get(&url, std::time::Duration::from_secs(5)).await?;
    if status == 200 {
        Ok(())
    } else {
        Err(format!(
            "{url}: HTTP {status}: {}",
            String::from_utf8_lossy(&body).trim()
        ))
    }
}
