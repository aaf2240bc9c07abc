//! The accept loop: HTTP/1.1 and h2c (HTTP/2 over cleartext, prior knowledge) on one listener.
//!
//! Each connection is served on its own task by hyper-util's auto builder, which tells the protocols apart
//! by the HTTP/2 connection preface. Shutdown stops accepting, signals streaming responses to end, and gives
//! open connections a grace period to finish before they are dropped.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::service::Handler;

/// How long open connections get to finish after shutdown is requested.
const GRACE_PERIOD: Duration = Duration::from_secs(5);

/// Serves `handler` on `listener` until `shutdown` completes.
pub(crate) async fn run(
    listener: TcpListener,
    handler: Arc<Handler>,
    stop_streams: watch::Sender<bool>,
    shutdown: impl Future<Output = ()>,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http2().max_concurrent_streams(1000);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(pair) => pair,
                    Err(error) => {
                        // Per-connection failures (such as too many open files) must not end the server.
                        tracing::warn!(%error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let handler = handler.clone();
                let service = service_fn(move |request| handler.clone().handle(request));
                let connection = builder.serve_connection(TokioIo::new(stream), service).into_owned();
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    if let Err(error) = connection.await {
                        tracing::debug!(%peer, %error, "connection ended with an error");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    let _ = stop_streams.send(true);
    tokio::select! {
        () = graceful.shutdown() => tracing::debug!("all connections closed"),
        () = tokio::time::sleep(GRACE_PERIOD) => tracing::warn!("connections still open after the grace period"),
    }
}
