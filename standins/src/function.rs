//! Runs the Lambda binary as Lambda would: a clean environment pointing at a
//! [`RuntimeApi`], with stdout and stderr captured continuously.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::runtime_api::RuntimeApi;

/// The function name given to the process.
pub const FUNCTION_NAME: &str = "sagemaker-image-version";

/// Where a function process's stdout and stderr go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Logs {
    /// Captured, for [`FunctionProcess::logs`] and [`FunctionProcess::wait_for_log`].
    Captured,
    /// Both onto this process's stderr, as they come; nothing is captured.
    Stderr,
}

/// A running function process; killed when dropped.
pub struct FunctionProcess {
    child: Mutex<Child>,
    pid: u32,
    logs: Arc<Mutex<Vec<u8>>>,
    spawned_at: Instant,
}

impl std::fmt::Debug for FunctionProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FunctionProcess").field("pid", &self.pid).finish()
    }
}

impl FunctionProcess {
    /// Spawns `bin` with the Lambda environment (pointing at `runtime_api`) plus `envs`.
    /// Panics if the binary cannot be started (see [`FunctionProcess::try_spawn`]).
    pub fn spawn(bin: &Path, runtime_api: &RuntimeApi, envs: &[(String, String)]) -> FunctionProcess {
        Self::try_spawn(bin, runtime_api, envs)
            .unwrap_or_else(|e| panic!("cannot spawn the function {}: {e}", bin.display()))
    }

    pub fn try_spawn(
        bin: &Path,
        runtime_api: &RuntimeApi,
        envs: &[(String, String)],
    ) -> std::io::Result<FunctionProcess> {
        Self::try_spawn_at(bin, &runtime_api.address(), envs, Logs::Captured)
    }

    /// Spawns `bin` with the Lambda environment pointing at the Runtime API
    /// endpoint `runtime_api_address` (`127.0.0.1:PORT`, such as an
    /// execution environment's, [`crate::runtime_api::Environment::address`]).
    pub fn try_spawn_at(
        bin: &Path,
        runtime_api_address: &str,
        envs: &[(String, String)],
        logs: Logs,
    ) -> std::io::Result<FunctionProcess> {
        let mut cmd = Command::new(bin);
        cmd.env_clear();
        for keep in ["PATH", "HOME"] {
            if let Some(v) = std::env::var_os(keep) {
                cmd.env(keep, v);
            }
        }
        cmd.env("AWS_LAMBDA_RUNTIME_API", runtime_api_address)
            .env("AWS_LAMBDA_FUNCTION_NAME", FUNCTION_NAME)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env(
                "AWS_LAMBDA_LOG_STREAM_NAME",
                "2026/11/27/[$LATEST]0123456789abcdef0123456789abcdef",
            )
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{FUNCTION_NAME}"));
        for (k, v) in envs {
            cmd.env(k, v);
        }
        cmd.stdin(Stdio::null());
        match logs {
            Logs::Captured => cmd.stdout(Stdio::piped()).stderr(Stdio::piped()),
            Logs::Stderr => cmd.stdout(std::io::stderr()).stderr(std::io::stderr()),
        };
        let spawned_at = Instant::now();
        let mut child = cmd.spawn()?;
        let logs = Arc::new(Mutex::new(Vec::new()));
        let readers: [Option<Box<dyn Read + Send>>; 2] = [
            child.stdout.take().map(|s| Box::new(s) as Box<dyn Read + Send>),
            child.stderr.take().map(|s| Box::new(s) as Box<dyn Read + Send>),
        ];
        for mut reader in readers.into_iter().flatten() {
            let logs = logs.clone();
            std::thread::Builder::new()
                .name("function-logs".into())
                .spawn(move || {
                    let mut buf = [0u8; 8192];
                    loop {
                        match reader.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => logs
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .extend_from_slice(&buf[..n]),
                        }
                    }
                })?;
        }
        Ok(FunctionProcess {
            pid: child.id(),
            child: Mutex::new(child),
            logs,
            spawned_at,
        })
    }

    /// Everything the process wrote to stdout and stderr so far.
    pub fn logs(&self) -> String {
        String::from_utf8_lossy(&self.logs.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }

    /// Waits until the logs contain `needle`; returns whether they did in time.
    pub async fn wait_for_log(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.logs().contains(needle) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    pub fn spawned_at(&self) -> Instant {
        self.spawned_at
    }

    /// Whether the process is still alive.
    pub fn is_running(&self) -> bool {
        matches!(
            self.child.lock().unwrap_or_else(|e| e.into_inner()).try_wait(),
            Ok(None)
        )
    }

    /// The exit status, if the process has exited.
    pub fn exit_status(&self) -> Option<std::process::ExitStatus> {
        self.child
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .try_wait()
            .ok()
            .flatten()
    }

    /// Kills the process (SIGKILL) and reaps it. Idempotent.
    pub fn kill(&self) {
        let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
        if let Ok(None) = child.try_wait() {
            let _ = child.kill();
        }
        let _ = child.wait();
    }
}

impl Drop for FunctionProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
