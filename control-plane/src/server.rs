//! The accept loop: plain TCP or rustls, each connection served by hyper (HTTP/1.1 with
//! upgrades, for WebSockets) with the warp router as the service. warp 0.4 has no TLS of its
//! own, hence this loop; it also records each client's address for the login throttle.
//!
//! Every connection is admitted by the [`Gate`] first (caps, eviction of stale strangers) and
//! supervised by it until its socket closes: the TLS handshake and each request must arrive
//! within the header timeout, a quiet connection is closed after the idle timeout (threats.md 34).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use hyper::body::Incoming;
use hyper::service::Service as _;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;

use crate::app::App;
use crate::config::TlsFiles;
use crate::gate::{Conn, Gate, Refused, TrackedBody, TrackedIo, supervise};
use crate::web::Peer;

/// The most a connection buffers of what the client sends (a request's head must fit; bodies
/// pass through in pieces). hyper's default, about 400 kB, let each of thousands of strangers
/// hold that much with one slow oversized head; heads above it get 431.
const MAX_HEAD_BUFFER: usize = 16 * 1024;

/// How long shutdown waits for open connections to finish.
const DRAIN_FOR: Duration = Duration::from_secs(5);

fn tls_acceptor(files: &TlsFiles) -> anyhow::Result<TlsAcceptor> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(&files.cert)
        .with_context(|| format!("could not read the certificate {}", files.cert.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{} is not a PEM certificate chain", files.cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .with_context(|| format!("could not read the private key {}", files.key.display()))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .context("could not set up TLS")?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .context("the TLS certificate and key do not fit together")?;
    let mut config = config;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Accepts connections until `shutdown`, then tells every WebSocket task to stop and waits
/// (briefly) for open connections to finish.
pub async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    stop: watch::Sender<bool>,
) -> anyhow::Result<()> {
    let acceptor = app.config.tls.as_ref().map(tls_acceptor).transpose()?;
    let routes = crate::http::routes(Arc::clone(&app));
    let gate = Gate::new(app.config.limits.clone());
    tokio::pin!(shutdown);
    // Accepted sockets wait here, in arrival order, while the gate has no room for them (a
    // connect storm): a descriptor each and nothing else. Accepting goes on meanwhile, so
    // clients are not left to the kernel's listen queue, whose overflow costs them seconds of
    // SYN retries. At most `max_pending` wait (the open-files budget counts them), each at
    // most the header timeout.
    let mut lobby: VecDeque<(TcpStream, SocketAddr, Instant)> = VecDeque::new();
    let lobby_max = app.config.limits.max_pending;
    let waited_too_long = app.config.limits.header_timeout;
    loop {
        let mut retry_at = None;
        while let Some(&(_, peer, since)) = lobby.front() {
            if since.elapsed() >= waited_too_long {
                lobby.pop_front();
                continue;
            }
            match gate.admit(peer) {
                Ok(conn) => {
                    if let Some((tcp, peer, _)) = lobby.pop_front() {
                        tokio::spawn(serve_connection(
                            tcp,
                            peer,
                            conn,
                            acceptor.clone(),
                            routes.clone(),
                            app.shutdown.clone(),
                        ));
                    }
                }
                Err(Refused::Full { retry_in }) => {
                    retry_at = Some(Instant::now() + retry_in);
                    break;
                }
                Err(why) => {
                    tracing::debug!(%peer, ?why, "connection refused: limits reached");
                    lobby.pop_front();
                }
            }
        }
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept(), if lobby.len() < lobby_max => match accepted {
                Ok((tcp, peer)) => lobby.push_back((tcp, peer, Instant::now())),
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            _ = gate.room(), if !lobby.is_empty() => {}
            _ = tokio::time::sleep_until(retry_at.unwrap_or_else(Instant::now)), if retry_at.is_some() => {}
        }
    }
    tracing::info!("shutting down");
    let _ = stop.send(true);
    drop(listener);
    drop(lobby);
    let drained = Instant::now() + DRAIN_FOR;
    while gate.counts().0 > 0 && Instant::now() < drained {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

async fn serve_connection(
    tcp: TcpStream,
    peer: SocketAddr,
    conn: Conn,
    acceptor: Option<TlsAcceptor>,
    routes: BoxedFilter<(Response,)>,
    shutdown: watch::Receiver<bool>,
) {
    // Nothing is allocated for TLS or HTTP before the client sends a byte: an idle stranger
    // costs its socket and this small task. The rest of the connection's state (about 10 kB,
    // hyper's buffers besides) is boxed, made when the first byte arrives.
    // (`readable()` would not do: tokio reports a new socket ready until a read says otherwise.)
    // Looked at: from now on the server waits for the client.
    conn.client_turn();
    let mut first = [0u8; 1];
    match supervise(&conn, tcp.peek(&mut first)).await {
        Ok(Ok(0)) => return,
        Ok(Ok(_)) => {}
        Ok(Err(error)) => return tracing::debug!(%peer, %error, "connection failed"),
        Err(why) => return tracing::debug!(%peer, ?why, "connection closed by the server"),
    }
    Box::pin(serve_bytes(tcp, peer, conn, acceptor, routes, shutdown)).await;
}

async fn serve_bytes(
    tcp: TcpStream,
    peer: SocketAddr,
    conn: Conn,
    acceptor: Option<TlsAcceptor>,
    routes: BoxedFilter<(Response,)>,
    shutdown: watch::Receiver<bool>,
) {
    let io = TrackedIo::new(tcp, conn.clone());
    let Some(acceptor) = acceptor else {
        return http(TokioIo::new(io), peer, conn, routes, shutdown).await;
    };
    match supervise(&conn, acceptor.accept(io)).await {
        Ok(Ok(tls)) => {
            conn.client_turn();
            http(TokioIo::new(tls), peer, conn, routes, shutdown).await;
        }
        Ok(Err(error)) => tracing::debug!(%peer, %error, "TLS handshake failed"),
        Err(why) => tracing::debug!(%peer, ?why, "TLS handshake stopped"),
    }
}

/// Serves HTTP/1.1 on `io` under the gate's supervision. Every request's body is tracked (its
/// end ends the request's deadline) and carries the client's [`Peer`] and its [`Conn`] (which
/// an agent's handshake or a session check trusts).
async fn http<I>(
    io: I,
    peer: SocketAddr,
    conn: Conn,
    routes: BoxedFilter<(Response,)>,
    mut shutdown: watch::Receiver<bool>,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let inner = TowerToHyperService::new(warp::service(routes));
    let handle = conn.clone();
    let svc = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let (parts, body) = req.into_parts();
        let body = TrackedBody::new(body, handle.clone());
        let mut req = hyper::Request::from_parts(parts, body);
        req.extensions_mut().insert(Peer(peer));
        req.extensions_mut().insert(handle.clone());
        let answer = inner.call(req);
        let handle = handle.clone();
        async move {
            let answer = answer.await;
            if let Ok(response) = &answer {
                handle.response_ready(response.status() == StatusCode::SWITCHING_PROTOCOLS);
            }
            answer
        }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .max_buf_size(MAX_HEAD_BUFFER)
        .serve_connection(io, svc)
        .with_upgrades();
    let serving = async {
        tokio::pin!(connection);
        let mut draining = false;
        loop {
            tokio::select! {
                done = connection.as_mut() => return done,
                _ = shutdown.changed(), if !draining => {
                    draining = true;
                    connection.as_mut().graceful_shutdown();
                }
            }
        }
    };
    match supervise(&conn, serving).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::debug!(%peer, %error, "connection ended with an error"),
        Err(why) => tracing::debug!(%peer, ?why, "connection closed by the server"),
    }
}

#[cfg(test)]
mod tests {
    use warp::{Filter, Reply};

    /// Thousands of idle strangers may be held: each one's task must stay small until it sends
    /// a byte (it was 11 kB with the TLS and HTTP state inline, 10 times main's RSS per idle
    /// connection).
    #[tokio::test]
    async fn an_idle_connection_holds_a_small_task() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("listen");
        let addr = listener.local_addr().expect("address");
        let _client = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let (tcp, peer) = listener.accept().await.expect("accept");
        let gate = crate::gate::Gate::new(crate::limits::Limits::default());
        let conn = gate.admit(peer).expect("admitted");
        let routes = warp::any().map(|| warp::reply().into_response()).boxed();
        let (_stop, shutdown) = tokio::sync::watch::channel(false);
        let task = super::serve_connection(tcp, peer, conn, None, routes, shutdown);
        let size = std::mem::size_of_val(&task);
        assert!(size < 2048, "an idle connection's task takes {size} bytes");
    }
}
