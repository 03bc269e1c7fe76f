//! The HTTP server loop: hyper with the limits a public server needs, serving the poem
//! endpoint. poem's own loop has none of these, and a client could hold the server with
//! slow or idle connections:
//! - request headers must arrive within [`ServeLimits::header_read_timeout`]; the same
//!   timer closes keep-alive connections idle that long (hyper's `header_read_timeout`
//!   runs whenever the connection waits for a request head);
//! - request bodies must keep coming: no gap longer than [`ServeLimits::body_stall`] and,
//!   after that long, at least [`ServeLimits::min_body_rate`] bytes a second on average
//!   (a body at one byte every two seconds is cut off, a slow phone upload is not);
//! - at most [`ServeLimits::max_connections`] connections at once, WebSockets included:
//!   the loop stops accepting until one closes, so the kernel's backlog absorbs a burst
//!   and health checks on open connections keep answering;
//! - `accept` errors (out of descriptors: EMFILE, ENFILE, ENOBUFS) back off instead of
//!   spinning;
//! - on shutdown, connections finish their requests within the grace period.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Body, Endpoint, Request};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// Limits of the connection loop.
#[derive(Clone, Copy, Debug)]
pub struct ServeLimits {
    pub header_read_timeout: Duration,
    pub body_stall: Duration,
    pub min_body_rate: u64,
    pub max_connections: usize,
    /// How long requests in flight may take to finish after shutdown begins.
    pub shutdown_grace: Duration,
}

impl Default for ServeLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(20),
            body_stall: Duration::from_secs(15),
            min_body_rate: 1024,
            max_connections: 10_000,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// True for accept errors that say "no resources right now" rather than "this one
/// connection failed": the loop waits before accepting again.
fn is_resource_exhaustion(err: &std::io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// Serves `endpoint` on `listener` until `signal` resolves, then drains.
pub async fn serve<E>(
    listener: TcpListener,
    endpoint: E,
    limits: ServeLimits,
    signal: impl Future<Output = ()>,
) -> std::io::Result<()>
where
    E: Endpoint + 'static,
{
    let endpoint = Arc::new(endpoint);
    let local = LocalAddr(poem::Addr::SocketAddr(listener.local_addr()?));
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let shutdown = CancellationToken::new();
    let mut backoff = Duration::ZERO;
    tokio::pin!(signal);
    loop {
        let accepted = tokio::select! {
            _ = &mut signal => break,
            accepted = accept_within(&listener, &slots) => accepted,
        };
        let (permit, stream, remote) = match accepted {
            Ok(ok) => {
                backoff = Duration::ZERO;
                ok
            }
            Err(err) if is_resource_exhaustion(&err) => {
                backoff = (backoff * 2).clamp(Duration::from_millis(10), Duration::from_secs(1));
                metrics::counter!("reelgraph_accept_errors_total", "kind" => "resources")
                    .increment(1);
                tracing::warn!(error = %err, wait_ms = backoff.as_millis() as u64, "cannot accept connections; waiting");
                tokio::select! {
                    _ = &mut signal => break,
                    _ = tokio::time::sleep(backoff) => continue,
                }
            }
            // One connection that failed during its handshake: nothing to wait for.
            Err(_) => continue,
        };
        let _ = stream.set_nodelay(true);
        let endpoint = endpoint.clone();
        let local = local.clone();
        let shutdown = shutdown.clone();
        // The slot travels with the socket, so an upgraded connection (a WebSocket, whose
        // socket poem owns after the handshake) holds it until it closes.
        let stream = Counted {
            io: stream,
            _slot: permit,
        };
        tokio::spawn(serve_connection(
            stream, local, remote, endpoint, limits, shutdown,
        ));
    }
    // Stop accepting, let requests in flight finish, then stop waiting.
    drop(listener);
    shutdown.cancel();
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(limits.shutdown_grace, slots.acquire_many(all)).await;
    Ok(())
}

/// The next connection, once a slot is free.
async fn accept_within(
    listener: &TcpListener,
    slots: &Arc<Semaphore>,
) -> std::io::Result<(
    tokio::sync::OwnedSemaphorePermit,
    tokio::net::TcpStream,
    RemoteAddr,
)> {
    let permit = slots
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| std::io::Error::other("connection slots closed"))?;
    let (stream, addr) = listener.accept().await?;
    Ok((permit, stream, RemoteAddr(poem::Addr::SocketAddr(addr))))
}

/// A connection that holds one of the server's connection slots for as long as it lives.
struct Counted {
    io: tokio::net::TcpStream,
    _slot: tokio::sync::OwnedSemaphorePermit,
}

impl tokio::io::AsyncRead for Counted {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for Counted {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

async fn serve_connection<E>(
    stream: Counted,
    local: LocalAddr,
    remote: RemoteAddr,
    endpoint: Arc<E>,
    limits: ServeLimits,
    shutdown: CancellationToken,
) where
    E: Endpoint + 'static,
{
    // The first request must start within the header timeout: hyper's own timer starts only
    // once it knows the protocol, and a client that sends nothing (or half of HTTP/2's
    // preface) would otherwise hold its slot for ever.
    if !tokio::time::timeout(limits.header_read_timeout, protocol_known(&stream.io))
        .await
        .unwrap_or(false)
    {
        return;
    }
    let service = hyper::service::service_fn(move |req: poem::http::Request<Incoming>| {
        let endpoint = endpoint.clone();
        let has_body = !hyper::body::Body::is_end_stream(req.body());
        let request: Request = (
            req,
            local.clone(),
            remote.clone(),
            poem::http::uri::Scheme::HTTP,
        )
            .into();
        async move {
            let request = if has_body {
                with_body_deadlines(request, limits)
            } else {
                request
            };
            let response = endpoint.get_response(request).await;
            Ok::<_, Infallible>(hyper::Response::from(response))
        }
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    // HTTP/2 (cleartext, prior knowledge): a peer that stops answering pings is dropped.
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(limits.header_read_timeout))
        .keep_alive_timeout(limits.header_read_timeout);
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => return,
        _ = shutdown.cancelled() => {}
    }
    connection.as_mut().graceful_shutdown();
    let _ = connection.await;
}

/// True once enough of the connection's first bytes have arrived for hyper to tell the
/// protocol: one byte of an HTTP/1 request line, or all 24 bytes of HTTP/2's preface.
/// False when the peer closed first.
async fn protocol_known(stream: &tokio::net::TcpStream) -> bool {
    const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    let mut buf = [0u8; 24];
    loop {
        let Ok(n) = stream.peek(&mut buf).await else {
            return false;
        };
        if n == 0 {
            return false;
        }
        if n == PREFACE.len() || buf[..n] != PREFACE[..n] {
            return true;
        }
        // Part of the preface: wait for more (peek returns at once while data is queued).
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The request with its body read under the stall and rate limits.
fn with_body_deadlines(mut request: Request, limits: ServeLimits) -> Request {
    let body = request.take_body().into_bytes_stream();
    let started = Instant::now();
    let state = (body, 0u64);
    let checked = futures_util::stream::unfold(Some(state), move |state| async move {
        let (mut body, mut received) = state?;
        let next = match tokio::time::timeout(limits.body_stall, body.next()).await {
            Err(_) => Some(Err(too_slow(
                "no part of the request body came for too long",
            ))),
            Ok(None) => None,
            Ok(Some(Err(e))) => Some(Err(e)),
            Ok(Some(Ok(chunk))) => {
                received += chunk.len() as u64;
                let elapsed = started.elapsed();
                if elapsed > limits.body_stall
                    && (received as f64) < limits.min_body_rate as f64 * elapsed.as_secs_f64()
                {
                    Some(Err(too_slow("the request body is arriving too slowly")))
                } else {
                    Some(Ok(chunk))
                }
            }
        };
        match next {
            Some(Ok(chunk)) => Some((Ok(chunk), Some((body, received)))),
            // An error ends the body: nothing after it is read.
            Some(Err(e)) => Some((Err(e), None)),
            None => None,
        }
    });
    request.set_body(Body::from_bytes_stream(checked));
    request
}

fn too_slow(message: &'static str) -> std::io::Error {
    metrics::counter!("reelgraph_slow_bodies_total").increment(1);
    std::io::Error::new(std::io::ErrorKind::TimedOut, message)
}
