//! The HTTP server: hyper over TCP with limits against slow and greedy clients.
//!
//! - A connection that has not sent a request's headers within `APEX_HTTP_HEADER_TIMEOUT` is
//!   closed (slowloris), by hyper's HTTP/1 header read timeout.
//! - A request body that stalls for `APEX_HTTP_BODY_TIMEOUT` between two chunks fails, and a
//!   request not answered within `APEX_HTTP_REQUEST_TIMEOUT` gets 408.
//! - At most `APEX_HTTP_MAX_CONCURRENT` requests are handled at once; beyond that the answer
//!   is 503 with `Retry-After: 1` at once, rather than a queue that grows without bound.
//!
//! Each request carries the peer's address (`ConnectInfo<SocketAddr>`), as
//! `into_make_service_with_connect_info` would give it: rate limits, sign-in throttling, key
//! networks and the audit log use it (behind `APEX_TRUSTED_PROXIES`, `X-Forwarded-For`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use apex_api::error::ApiError;
use apex_core::config::HttpServer;
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::Service as _;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};

/// `app` behind the request limits: the concurrency limit, the request timeout and the
/// body timeout.
pub fn harden(app: Router, limits: &HttpServer) -> Router {
    let permits = Arc::new(Semaphore::new(limits.max_concurrent));
    app.layer(axum::middleware::from_fn(
        move |req: Request, next: Next| {
            let permits = permits.clone();
            async move {
                // Held until the handler has answered (streaming the body is not counted).
                let Ok(_permit) = permits.try_acquire_owned() else {
                    return overloaded();
                };
                next.run(req).await
            }
        },
    ))
    .layer(TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        limits.request_timeout,
    ))
    .layer(RequestBodyTimeoutLayer::new(limits.body_timeout))
}

fn overloaded() -> Response {
    let mut response = ApiError::Refused {
        kind: "urn:apex:problem:overloaded",
        title: "Server busy",
        status: StatusCode::SERVICE_UNAVAILABLE,
        detail: "the server is handling as many requests as it may at once; try again in a moment"
            .into(),
    }
    .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

/// Accepts connections on `listener` and serves `app` on each, until the task is dropped.
pub async fn serve(listener: TcpListener, app: Router, limits: HttpServer) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder.http2().timer(TokioTimer::new());
    let builder = Arc::new(builder);
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of file descriptors and the like: wait rather than spin.
                tracing::warn!(error = %e, "could not accept an HTTP connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let builder = builder.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: hyper::Request<_>| {
                let mut req = req.map(Body::new);
                req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
                app.clone().call(req)
            });
            if let Err(e) = builder
                .serve_connection_with_upgrades(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(error = %e, client = %peer, "HTTP connection ended with an error");
            }
        });
    }
}
