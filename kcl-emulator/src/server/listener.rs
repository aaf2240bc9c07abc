//! The accept loop: HTTP/1.1 and h2c (HTTP/2 over cleartext, prior knowledge) on one listener.
//!
//! Each connection is served on its own task by hyper-util's auto builder, which tells the protocols apart
//! by the HTTP/2 connection preface. With TLS, the handshake runs on the connection's task first (bounded
//! by a timeout, so a silent client cannot hold a task forever), and ALPN lets clients choose HTTP/2. Shutdown stops accepting, signals streaming responses to end, and gives
//! open connections a grace period to finish before they are dropped.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::service::Handler;
use super::tls::TlsConfig;

/// How long open connections get to finish after shutdown is requested.
const GRACE_PERIOD: Duration = Duration::from_secs(5);

/// How long a client gets to complete the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `handler` on `listener` (behind TLS when `tls` is set) until `shutdown` completes.
pub(crate) async fn run(
    listener: TcpListener,
    tls: Option<TlsConfig>,
    idle_timeout: Duration,
    handler: Arc<Handler>,
    stop_streams: watch::Sender<bool>,
    shutdown: impl Future<Output = ()>,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // A timer lets hyper bound how long a client may take to send its headers; the bound also closes
    // keep-alive connections idle for that long (hyper's timer starts when it waits for the next request).
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(idle_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(1000);
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
                let builder = builder.clone();
                let watcher = graceful.watcher();
                let acceptor = tls.as_ref().map(TlsConfig::acceptor);
                tokio::spawn(async move {
                    let result = match acceptor {
                        None => {
                            let connection = builder.serve_connection(TokioIo::new(stream), service);
                            watcher.watch(connection.into_owned()).await
                        }
                        Some(acceptor) => {
                            let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                                Ok(Ok(stream)) => stream,
                                Ok(Err(error)) => {
                                    tracing::debug!(%peer, %error, "TLS handshake failed");
                                    return;
                                }
                                Err(_) => {
                                    tracing::debug!(%peer, "TLS handshake timed out");
                                    return;
                                }
                            };
                            let connection = builder.serve_connection(TokioIo::new(stream), service);
                            watcher.watch(connection.into_owned()).await
                        }
                    };
                    if let Err(error) = result {
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
