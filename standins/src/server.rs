//! Server start-up, written once for every stand-in: bind synchronously (so
//! that errors reach the caller), then serve hyper 1 on a dedicated thread with
//! its own tokio runtime, so that the stand-in keeps answering whatever the
//! caller's runtime is doing (current-thread test runtimes, blocking calls...).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use hyper::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::sync::{Notify, oneshot};

use crate::http::Reply;

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
        f.debug_struct("Server").field("addr", &self.stop.addr).finish()
    }
}

impl<S: Send + 'static> Server<S> {
    /// Binds `addr` and answers every request with `handle(shared state, request)`.
    pub(crate) fn start<F, Fut>(name: &str, addr: SocketAddr, state: S, handle: F) -> std::io::Result<Server<S>>
    where
        F: Fn(Arc<Shared<S>>, Request<Incoming>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Reply> + Send + 'static,
    {
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            changed: Notify::new(),
        });
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let (tx, rx) = oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .thread_name(format!("standin-{name}"))
            .build()?;
        let for_requests = shared.clone();
        let handle = Arc::new(move |req| handle(for_requests.clone(), req));
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
                        _ = accept_loop(listener, handle) => {}
                        _ = rx => {}
                    }
                });
                runtime.shutdown_background();
            })?;
        Ok(Server {
            shared,
            stop: Arc::new(Stop { addr, tx: Some(tx) }),
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

    /// `http://127.0.0.1:PORT`
    pub(crate) fn endpoint(&self) -> String {
        format!("http://{}", self.stop.addr)
    }
}

/// Stops the server thread when dropped (that is, with the last clone of its [`Server`]).
struct Stop {
    addr: SocketAddr,
    tx: Option<oneshot::Sender<()>>,
}

impl Drop for Stop {
    fn drop(&mut self) {
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(());
        }
    }
}

async fn accept_loop<H, Fut>(listener: tokio::net::TcpListener, handle: Arc<H>)
where
    H: Fn(Request<Incoming>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Reply> + Send + 'static,
{
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(_) => {
                // e.g. EMFILE: back off a little and keep serving.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let handle = handle.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(req));
            let _ = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
