//! Server start-up, written once for every stand-in: bind synchronously (so
//! that errors reach the caller), then serve hyper 1 on a dedicated thread with
//! its own tokio runtime, so that the stand-in keeps answering whatever the
//! caller's runtime is doing (current-thread test runtimes, blocking calls...).
//! Plain http, or https when the [`Listen`] carries a TLS configuration.

use std::collections::VecDeque;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use hyper::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{Notify, oneshot};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;

use crate::http::Reply;

/// Where and how a stand-in listens: an address, plain http (`From<SocketAddr>`)
/// or https (`TestCa::listen`).
#[derive(Clone)]
pub struct Listen {
    addr: SocketAddr,
    tls: Option<Arc<ServerConfig>>,
}

impl Listen {
    pub(crate) fn https(addr: SocketAddr, tls: Arc<ServerConfig>) -> Listen {
        Listen { addr, tls: Some(tls) }
    }
}

impl From<SocketAddr> for Listen {
    fn from(addr: SocketAddr) -> Listen {
        Listen { addr, tls: None }
    }
}

impl std::fmt::Debug for Listen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}", scheme(self.tls.is_some()), self.addr)
    }
}

fn scheme(tls: bool) -> &'static str {
    if tls { "https" } else { "http" }
}

/// The URL of a server at `addr`, without https's default port (as the
/// response URLs CloudFormation issues, whose host alone CDK's framework reads).
fn endpoint(tls: bool, addr: SocketAddr) -> String {
    if tls && addr.port() == 443 {
        format!("https://{}", addr.ip())
    } else {
        format!("{}://{addr}", scheme(tls))
    }
}

/// What every stand-in's `start()` does: `start_on` a free loopback port,
/// panicking when it cannot bind (tests and the local run have no way round).
pub(crate) async fn start_on_loopback<T, F>(what: &str, start_on: impl FnOnce(SocketAddr) -> F) -> T
where
    F: Future<Output = std::io::Result<T>>,
{
    start_on(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap_or_else(|e| panic!("cannot start the {what}: {e:?}"))
}

/// A stand-in's state as its handler and its control API see it.
pub(crate) struct Shared<S> {
    state: Mutex<S>,
    /// Signalled after a request changed the state, for callers waiting on it.
    pub(crate) changed: Notify,
}

impl<S> Shared<S> {
    pub(crate) fn lock(&self) -> MutexGuard<'_, S> {
        // A panic while holding the lock must not wedge every later test call.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until `check` finds what it looks for in the state, checking
    /// again after every change; `None` when `deadline` comes first (never
    /// with `None` for a deadline).
    pub(crate) async fn wait_until<T>(
        &self,
        deadline: Option<tokio::time::Instant>,
        mut check: impl FnMut(&mut S) -> Option<T>,
    ) -> Option<T> {
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            // Registered before the check, so no change between the two is missed.
            notified.as_mut().enable();
            if let Some(found) = check(&mut self.lock()) {
                return Some(found);
            }
            match deadline {
                Some(deadline) => tokio::time::timeout_at(deadline, notified).await.ok()?,
                None => notified.await,
            }
        }
    }
}

/// A running stand-in: its state and its server. Cheap to clone; the server
/// stops (dropping all its connections) when the last clone is dropped.
pub(crate) struct Server<S> {
    shared: Arc<Shared<S>>,
    stop: Arc<Stop>,
}

impl<S> Clone for Server<S> {
    fn clone(&self) -> Self {
        Server {
            shared: self.shared.clone(),
            stop: self.stop.clone(),
        }
    }
}

impl<S> std::fmt::Debug for Server<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("endpoint", &self.endpoint()).finish()
    }
}

impl<S: Send + 'static> Server<S> {
    /// Binds `listen` and answers every request with `handle(shared state, request)`.
    pub(crate) fn start<F, Fut>(name: &str, listen: Listen, state: S, handle: F) -> std::io::Result<Server<S>>
    where
        F: Fn(Arc<Shared<S>>, Request<Incoming>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Reply> + Send + 'static,
    {
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            changed: Notify::new(),
        });
        let listener = std::net::TcpListener::bind(listen.addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let (tx, rx) = oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .thread_name(format!("standin-{name}"))
            .build()?;
        let for_requests = shared.clone();
        let handle = Arc::new(move |req| handle(for_requests.clone(), req));
        let tls = listen.tls.map(TlsAcceptor::from);
        let https = tls.is_some();
        std::thread::Builder::new()
            .name(format!("standin-{name}"))
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => {
                            eprintln!("standins: cannot serve: {e}");
                            return;
                        }
                    };
                    tokio::select! {
                        _ = accept_loop(listener, tls, handle) => {}
                        _ = rx => {}
                    }
                });
                runtime.shutdown_background();
            })?;
        Ok(Server {
            shared,
            stop: Arc::new(Stop {
                addr,
                https,
                tx: Some(tx),
            }),
        })
    }
}

impl<S> Server<S> {
    pub(crate) fn shared(&self) -> &Shared<S> {
        &self.shared
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, S> {
        self.shared.lock()
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.stop.addr
    }

    /// `http://127.0.0.1:PORT`, or `https://...` when serving TLS.
    pub(crate) fn endpoint(&self) -> String {
        endpoint(self.stop.https, self.stop.addr)
    }
}

/// Stops the server thread when dropped (that is, with the last clone of its [`Server`]).
struct Stop {
    addr: SocketAddr,
    https: bool,
    tx: Option<oneshot::Sender<()>>,
}

impl Drop for Stop {
    fn drop(&mut self) {
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(());
        }
    }
}

async fn accept_loop<H, Fut>(listener: tokio::net::TcpListener, tls: Option<TlsAcceptor>, handle: Arc<H>)
where
    H: Fn(Request<Incoming>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Reply> + Send + 'static,
{
    for number in 0.. {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(_) => {
                // e.g. EMFILE: back off a little and keep serving.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let (handle, tls) = (handle.clone(), tls.clone());
        tokio::spawn(async move {
            match tls {
                None => serve(stream, Connection(number), handle).await,
                // A failed handshake (e.g. a client that does not trust the CA) just ends the connection.
                Some(tls) => {
                    if let Ok(stream) = tls.accept(stream).await {
                        serve(stream, Connection(number), handle).await;
                    }
                }
            }
        });
    }
}

/// Which of a server's connections carried a request, numbered from 0 in the
/// order they were accepted: a client that keeps its connections is seen
/// sending on an old number. In each request's extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Connection(pub(crate) usize);

async fn serve<I, H, Fut>(io: I, connection: Connection, handle: Arc<H>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    H: Fn(Request<Incoming>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Reply> + Send + 'static,
{
    let service = service_fn(move |mut req: Request<Incoming>| {
        req.extensions_mut().insert(connection);
        handle(req)
    });
    let _ = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(io), service)
        .await;
}

/// Failures armed for the next requests: each answers the next `times`
/// requests, the first armed first.
#[derive(Debug)]
pub(crate) struct Armed<T>(VecDeque<(T, u32)>);

impl<T> Default for Armed<T> {
    fn default() -> Self {
        Armed(VecDeque::new())
    }
}

impl<T: Copy> Armed<T> {
    pub(crate) fn arm(&mut self, what: T, times: u32) {
        if times > 0 {
            self.0.push_back((what, times));
        }
    }

    /// The failure for this request, if one is armed.
    pub(crate) fn draw(&mut self) -> Option<T> {
        let (what, left) = self.0.front_mut()?;
        let what = *what;
        *left -= 1;
        if *left == 0 {
            self.0.pop_front();
        }
        Some(what)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_https_endpoint_on_port_443_leaves_the_port_out() {
        let on = |port| SocketAddr::from(([127, 0, 0, 1], port));
        assert_eq!(endpoint(true, on(443)), "https://127.0.0.1");
        assert_eq!(endpoint(true, on(8443)), "https://127.0.0.1:8443");
        assert_eq!(endpoint(false, on(443)), "http://127.0.0.1:443");
    }
}
