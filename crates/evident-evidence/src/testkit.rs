//! A real S3-compatible server for tests (feature `testkit`): moto's server mode
//! (`pip install 'moto[server]'`), started on a free loopback port per test and killed when the
//! test ends; and a relay in front of it that can cut every connection at once. This crate's S3
//! tests and the CLI's (`evident/tests/it/evidence.rs`) share it.
//!
//! Without `moto_server` on the PATH a test that asks for it is skipped with a message, except
//! under `CI=true`, where it fails: CI installs moto (`.ci/run`).
//!
//! Failures here panic: they are a broken test setup, and a panic fails the test that asked.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::{BlobConfig, BlobStore, S3Config, S3Credentials};

/// Credentials moto accepts (it does not check them); the tests assert they never show.
pub const ACCESS_KEY_ID: &str = "AKIAEVIDENTTEST0001";
pub const SECRET_ACCESS_KEY: &str = "evident-test-secret-do-not-print";

/// A running moto server; killed on drop.
#[derive(Debug)]
pub struct Moto {
    child: Arc<Mutex<Child>>,
    pub addr: SocketAddr,
}

impl Moto {
    /// Starts moto, or returns `None` (after saying so) when it is not installed and CI does not
    /// require it.
    pub fn start(test: &str) -> Option<Self> {
        // `moto_server` on the PATH, else the module (pip may put the script off the PATH).
        let commands: [(&str, &[&str]); 2] = [("moto_server", &[]), ("python3", &["-m", "moto.server"])];
        commands.into_iter().find_map(|(program, args)| launch(program, args)).or_else(|| not_installed(test))
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The `--evidence-store` address of `bucket` on this server, as a user writes it.
    pub fn address(&self, bucket: &str) -> String {
        format!("s3://{bucket}?endpoint={}&region=us-east-1", self.endpoint())
    }

    /// The environment a process needs to reach this server's buckets: the credentials.
    pub fn credentials_env() -> [(&'static str, &'static str); 2] {
        [("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID), ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)]
    }

    /// Creates a bucket with a plain S3 `PUT /bucket` (moto needs no signature).
    pub fn create_bucket(&self, bucket: &str) {
        let mut stream = TcpStream::connect(self.addr).expect("moto accepts a connection");
        write!(
            stream,
            "PUT /{bucket} HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.addr
        )
        .expect("the request is sent to moto");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("moto answers");
        assert!(response.starts_with("HTTP/1.1 200"), "creating bucket {bucket}: {response}");
    }

    /// A store on `bucket` of this server, reached at `endpoint` (this server, or a relay to it).
    pub fn store(&self, bucket: &str, endpoint: &str) -> BlobStore {
        BlobStore::open(&BlobConfig::S3(S3Config {
            endpoint: Some(endpoint.to_owned()),
            region: Some("us-east-1".into()),
            allow_http: true,
            credentials: Some(S3Credentials::new(ACCESS_KEY_ID, SECRET_ACCESS_KEY)),
            ..S3Config::bucket(bucket)
        }))
        .expect("an S3 store on moto opens")
    }

    /// Something that kills the server when called (from inside an input reader).
    pub fn killer(&self) -> impl FnOnce() + Send + 'static {
        let child = self.child.clone();
        move || {
            let mut child = child.lock().expect("moto's handle is not poisoned");
            child.kill().expect("moto can be killed");
            child.wait().expect("moto exits once killed");
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        if let Ok(mut child) = self.child.lock() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn not_installed(test: &str) -> Option<Moto> {
    let hint = "moto_server is not on the PATH; install it with: python3 -m pip install 'moto[server]'";
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!("{test}: {hint} (CI=true requires the S3 tests to run)");
    }
    // Straight to stderr, past the test harness's capture: a skip must be seen.
    let _ = writeln!(std::io::stderr(), "{test}: skipped: {hint}");
    None
}

/// Runs one way of starting moto until it listens; `None` if that way has no moto behind it.
fn launch(program: &str, args: &[&str]) -> Option<Moto> {
    for _ in 0..3 {
        let port = free_port();
        let spawned = Command::new(program)
            .args(args)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return None,
            Err(error) => panic!("could not start {program}: {error}"),
        };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = child.try_wait().expect("moto's status can be read") {
                let mut stderr = String::new();
                child
                    .stderr
                    .take()
                    .expect("moto's stderr is piped")
                    .read_to_string(&mut stderr)
                    .expect("moto's stderr is readable");
                if stderr.contains("Address already in use") {
                    break; // another process took the port meanwhile: try another
                }
                if status.code() == Some(127) || stderr.contains("No module named") {
                    return None; // a shim with no moto behind it, or no module
                }
                panic!("{program} exited with {status}: {stderr}");
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                // moto logs every request to stderr: drain it, or once the pipe's buffer is full
                // (a few hundred requests) moto blocks on its next log line and stops answering.
                if let Some(mut stderr) = child.stderr.take() {
                    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
                }
                return Some(Moto { child: Arc::new(Mutex::new(child)), addr });
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("{program} did not listen on {addr} within 60 s");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    panic!("{program}: no free port after 3 tries");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|listener| listener.local_addr()).expect("a free loopback port").port()
}

/// A TCP relay in front of a server, that can cut every connection at once and refuse new
/// ones: the store seems to go away while the server behind keeps its state to inspect.
#[derive(Debug)]
pub struct Relay {
    pub addr: SocketAddr,
    tasks: Arc<Mutex<tokio::task::JoinSet<()>>>,
}

impl Relay {
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free loopback port");
        let addr = listener.local_addr().expect("the relay's address");
        let tasks = Arc::new(Mutex::new(tokio::task::JoinSet::new()));
        let accepting = tasks.clone();
        tasks.lock().expect("the relay's tasks are not poisoned").spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await else { continue };
                accepting.lock().expect("the relay's tasks are not poisoned").spawn(async move {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                });
            }
        });
        Self { addr, tasks }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Something that cuts the relay when called.
    pub fn cutter(&self) -> impl FnOnce() + Send + 'static {
        let tasks = self.tasks.clone();
        move || tasks.lock().expect("the relay's tasks are not poisoned").abort_all()
    }
}

/// Every file under `dir` (not directories), relative to it, sorted; none when `dir` does not
/// exist. What a store left on disk, to compare before and after.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    fn walk(root: &Path, dir: &Path, found: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries {
            let path = entry.expect("a readable directory entry").path();
            if path.is_dir() {
                walk(root, &path, found);
            } else {
                found.push(path.strip_prefix(root).expect("a path under the root").to_path_buf());
            }
        }
    }
    let mut found = Vec::new();
    walk(dir, dir, &mut found);
    found.sort();
    found
}
