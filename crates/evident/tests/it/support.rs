//! Runs the real `evident` binary against a temporary data directory, and, when
//! `EVIDENT_TEST_DATABASE_URL` is set, against a fresh PostgreSQL database as well.

use std::path::PathBuf;
use std::process::{Command, Output};

use evident_store::RawSql;

pub struct Evident {
    pub dir: tempfile::TempDir,
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    /// Environment variables every command gets (the environment is cleared but for PATH).
    pub env: Vec<(String, String)>,
    /// Drops the PostgreSQL database when the test ends.
    _database: Option<evident_store_postgres::FreshDatabase>,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }
}

impl Evident {
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        Evident { data_dir: dir.path().join("data"), dir, database_url: None, env: Vec::new(), _database: None }
    }

    /// Every backend this machine can test: SQLite, and PostgreSQL when configured.
    pub fn every_backend() -> Vec<Evident> {
        let mut all = vec![Evident::sqlite()];
        if let Some(base) = evident_store::testkit::postgres_url() {
            let database = runtime().block_on(evident_store_postgres::FreshDatabase::create(&base)).unwrap();
            all.push(Evident {
                database_url: Some(database.url.clone()),
                _database: Some(database),
                ..Evident::sqlite()
            });
        }
        all
    }

    /// Another installation on the same backend: a fresh data directory, and a fresh database
    /// when this one is on PostgreSQL.
    pub fn fresh_like(&self) -> Evident {
        if self.database_url.is_none() {
            return Evident::sqlite();
        }
        let base = evident_store::testkit::postgres_url().unwrap();
        let database = runtime().block_on(evident_store_postgres::FreshDatabase::create(&base)).unwrap();
        Evident { database_url: Some(database.url.clone()), _database: Some(database), ..Evident::sqlite() }
    }

    /// The same installation, its commands run with `key=value` in their environment.
    pub fn with_env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    pub fn name(&self) -> &'static str {
        if self.database_url.is_some() { "postgres" } else { "sqlite" }
    }

    /// Starts a command without waiting for it (to kill it part-way).
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        self.command(args).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn().unwrap()
    }

    pub fn run(&self, args: &[&str]) -> Run {
        let Output { status, stdout, stderr } = self.command(args).output().unwrap();
        Run {
            code: status.code().unwrap_or(-1),
            stdout: String::from_utf8(stdout).unwrap(),
            stderr: String::from_utf8(stderr).unwrap(),
        }
    }

    /// The command, not yet started, for tests that talk to it while it runs.
    pub fn command_for_test(&self, args: &[&str]) -> Command {
        self.command(args)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_evident"));
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .arg("--data-dir")
            .arg(&self.data_dir);
        if let Some(url) = &self.database_url {
            command.arg("--database-url").arg(url);
        }
        command.args(args);
        command
    }

    /// Runs a command that must succeed, and returns its output.
    pub fn ok(&self, args: &[&str]) -> Run {
        let run = self.run(args);
        assert_eq!(run.code, 0, "{} `evident {}` failed:\n{}", self.name(), args.join(" "), run.stderr);
        run
    }

    /// Runs a command that must fail, and returns its output.
    pub fn fails(&self, args: &[&str]) -> Run {
        let run = self.run(args);
        assert_ne!(run.code, 0, "{} `evident {}` should fail:\n{}", self.name(), args.join(" "), run.stdout);
        assert!(run.stderr.starts_with("error: "), "errors go to stderr: {}", run.stderr);
        run
    }

    /// Executes raw SQL against this installation's database, bypassing evident.
    pub fn tamper(&self, sql: &str) {
        runtime().block_on(async {
            let affected = match &self.database_url {
                Some(url) => evident_store_postgres::PostgresStore::connect(url).await.unwrap().execute_raw(sql).await,
                None => {
                    evident_store_sqlite::SqliteStore::open(&self.data_dir.join("evident.db"))
                        .await
                        .unwrap()
                        .execute_raw(sql)
                        .await
                }
            };
            assert!(affected.unwrap() > 0, "the tampering statement changed nothing: {sql}");
        });
    }
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}
