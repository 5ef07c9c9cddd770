//! `spawn_app()`: a real server on 127.0.0.1:0 over a fresh store (a temporary SQLite file, or a
//! fresh PostgreSQL database when `EVIDENT_TEST_DATABASE_URL` names a server), with two
//! organisations, their members and accounts, called over HTTP with reqwest.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{Duration, Utc};
use evident_app::accounts::{AccountsBy, Password};
use evident_app::{App, Operator};
use evident_core::{ControlCode, Email, Frequency, ImplementationStatus, NewControl, OrgSlug, Role};
use evident_store_postgres::{FreshDatabase, PostgresStore};
use evident_store_sqlite::SqliteStore;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Every account's password in the fixture.
pub const PASSWORD: &str = "correct horse battery staple";

/// A running server and what a test needs to call it and look behind it.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    /// The same application the server runs, for looking at the store behind the API.
    pub app: App,
    /// Seconds added to the wall clock of the server's application: a test moves time forward.
    pub clock_offset: Arc<AtomicI64>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    // Dropped last, after the server let go of the database.
    _database: Option<FreshDatabase>,
    _dir: tempfile::TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A signed-in browser: its cookie and its session's CSRF token.
#[derive(Debug, Clone)]
pub struct Browser {
    pub cookie: String,
    pub csrf: String,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    /// A request with the browser's cookie, and its CSRF token on a change.
    pub fn as_browser(&self, browser: &Browser, method: Method, path: &str) -> RequestBuilder {
        let change = !matches!(method, Method::GET | Method::HEAD);
        let request = self.request(method, path).header("cookie", format!("evident_session={}", browser.cookie));
        if change { request.header("x-csrf-token", &browser.csrf) } else { request }
    }

    pub fn with_token(&self, token: &str, method: Method, path: &str) -> RequestBuilder {
        self.request(method, path).bearer_auth(token)
    }

    /// Signs in; the response, as is.
    pub async fn sign_in(&self, email: &str, password: &str) -> Response {
        let body = serde_json::json!({"email": email, "password": password});
        self.request(Method::POST, "/api/session").json(&body).send().await.unwrap()
    }

    /// Signs in with the fixture's password, which must succeed.
    pub async fn browser(&self, email: &str) -> Browser {
        let response = self.sign_in(email, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{email} signs in");
        let cookie = set_cookie(&response).expect("a session cookie");
        let value = cookie.split(';').next().unwrap().strip_prefix("evident_session=").unwrap().to_owned();
        let body: Value = response.json().await.unwrap();
        Browser { cookie: value, csrf: body["csrf_token"].as_str().unwrap().to_owned() }
    }

    /// Creates a token as `browser` in `org`; the whole answer.
    pub async fn create_token(&self, browser: &Browser, org: &str, body: Value) -> (StatusCode, Value) {
        let response = self
            .as_browser(browser, Method::POST, &format!("/api/orgs/{org}/tokens"))
            .json(&body)
            .send()
            .await
            .unwrap();
        (response.status(), response.json().await.unwrap())
    }

    /// A principal of `org` for arranging a story behind the API: the operator, or the operator
    /// acting as `member`.
    pub async fn operator(&self, org: &str, member: Option<&str>) -> evident_app::Principal {
        let member = member.map(email);
        self.app.operator(Some(&OrgSlug::parse(org).unwrap()), "test", member.as_ref()).await.unwrap()
    }

    /// Moves the server's clock forward.
    pub fn advance(&self, by: Duration) {
        self.clock_offset.fetch_add(by.num_seconds(), Ordering::SeqCst);
    }

    /// The actors of the organisation's audit log, oldest first.
    pub async fn audit_actors(&self, org: &str) -> Vec<(String, String)> {
        let org = self.app.organisation(Some(&OrgSlug::parse(org).unwrap())).await.unwrap();
        let (log, _) = self.app.store().audit_log(&org.id).await.unwrap();
        log.into_iter().map(|r| (r.entry.actor, r.entry.action)).collect()
    }
}

/// Sends `request` and reads its JSON answer, whatever the status (`null` for none).
pub async fn send(request: RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The `Set-Cookie` header of a response.
pub fn set_cookie(response: &Response) -> Option<String> {
    response.headers().get("set-cookie").map(|v| v.to_str().unwrap().to_owned())
}

/// The error body's code, asserting the one error shape.
pub async fn error_code(response: Response) -> (StatusCode, String) {
    let status = response.status();
    let body: Value = response.json().await.expect("an error body in JSON");
    for field in ["message", "code", "type", "link"] {
        assert!(body[field].is_string(), "the error has {field}: {body}");
    }
    (status, body["code"].as_str().unwrap().to_owned())
}

/// A server with the default configuration on `backend`.
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_with(backend, evident_server::Config::default()).await
}

/// A server with `config` on `backend`, or `None` when PostgreSQL is not configured (outside CI).
///
/// The fixture: `acme` (ada admin, cora compliance manager, olu control owner of IAM-01, aud
/// auditor, vic viewer; SOC 2 adopted; controls IAM-01, IAM-02, OPS-01, OPS-02, OPS-03) and `globex` (gus admin; GLX-01).
/// Every one of them has an account with [`PASSWORD`].
pub async fn spawn_with(backend: Backend, config: evident_server::Config) -> Option<TestApp> {
    let dir = tempfile::tempdir().unwrap();
    let (store, database): (Arc<dyn evident_store::Store>, _) = match backend {
        Backend::Sqlite => (Arc::new(SqliteStore::open(&dir.path().join("evident.db")).await.unwrap()), None),
        Backend::Postgres => {
            let base = evident_store::testkit::postgres_url()?;
            let database = FreshDatabase::create(&base).await.unwrap();
            (Arc::new(PostgresStore::connect(&database.url).await.unwrap()), Some(database))
        }
    };
    let offset = Arc::new(AtomicI64::new(0));
    let clock_offset = offset.clone();
    let app = App::new(store)
        .unwrap()
        .with_clock(Arc::new(move || Utc::now() + Duration::seconds(offset.load(Ordering::SeqCst))))
        .with_blobs(blobs(dir.path()));
    fixture(&app).await;
    let (address, stop) = listen(app.clone(), config).await;
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    Some(TestApp { address, client, app, clock_offset, stop: Some(stop), _database: database, _dir: dir })
}

/// Serves `app` on 127.0.0.1:0: its address, and what stops it.
async fn listen(app: App, config: evident_server::Config) -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let router = evident_server::router(app, config);
    tokio::spawn(evident_server::serve(listener, router, async {
        let _ = stopped.await;
    }));
    (address, stop)
}

impl TestApp {
    /// Another instance of the server over the same database, as a second process behind the same
    /// load balancer would be: its own store connections, application and listener, sharing
    /// nothing with this one but the database. Drop it before this one.
    pub async fn beside(&self) -> TestApp {
        let store: Arc<dyn evident_store::Store> = match &self._database {
            Some(database) => Arc::new(PostgresStore::connect(&database.url).await.unwrap()),
            None => Arc::new(SqliteStore::open(&self._dir.path().join("evident.db")).await.unwrap()),
        };
        let offset = self.clock_offset.clone();
        let app = App::new(store)
            .unwrap()
            .with_clock(Arc::new(move || Utc::now() + Duration::seconds(offset.load(Ordering::SeqCst))))
            .with_blobs(blobs(self._dir.path()));
        let (address, stop) = listen(app.clone(), evident_server::Config::default()).await;
        TestApp {
            address,
            client: self.client.clone(),
            app,
            clock_offset: self.clock_offset.clone(),
            stop: Some(stop),
            _database: None,
            _dir: tempfile::tempdir().unwrap(),
        }
    }
}

/// The evidence store of a test server: a directory beside its database.
fn blobs(dir: &std::path::Path) -> evident_evidence::BlobStore {
    evident_evidence::BlobStore::open(&evident_evidence::BlobConfig::local(dir.join("evidence"))).unwrap()
}

impl TestApp {
    /// The files the evidence store holds (placed blobs and anything else), relative to it.
    pub fn evidence_files(&self) -> Vec<String> {
        fn walk(dir: &std::path::Path, root: &std::path::Path, found: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, root, found);
                } else {
                    found.push(path.strip_prefix(root).unwrap().to_string_lossy().into_owned());
                }
            }
        }
        let root = self._dir.path().join("evidence");
        let mut found = Vec::new();
        walk(&root, &root, &mut found);
        found.sort();
        found
    }
}

fn email(text: &str) -> Email {
    Email::parse(text).unwrap()
}

async fn fixture(app: &App) {
    let operator = Operator::new("test");
    let people: [(&str, &str, Role); 6] = [
        ("acme", "ada@acme.example", Role::Admin),
        ("acme", "cora@acme.example", Role::ComplianceManager),
        ("acme", "olu@acme.example", Role::ControlOwner),
        ("acme", "aud@acme.example", Role::Auditor),
        ("acme", "vic@acme.example", Role::Viewer),
        ("globex", "gus@globex.example", Role::Admin),
    ];
    for (slug, admin) in [("acme", "ada@acme.example"), ("globex", "gus@globex.example")] {
        app.create_organisation(OrgSlug::parse(slug).unwrap(), None, email(admin), None).await.unwrap();
    }
    for (slug, person, role) in people {
        let org = OrgSlug::parse(slug).unwrap();
        let me = app.operator(Some(&org), "test", None).await.unwrap();
        if role != Role::Admin {
            app.add_member(&me, email(person), role, None).await.unwrap();
        }
        let password = Some(Password::parse(PASSWORD).unwrap());
        app.create_account(AccountsBy::Operator(&operator), email(person), password).await.unwrap();
    }
    let acme = app.operator(Some(&OrgSlug::parse("acme").unwrap()), "test", None).await.unwrap();
    let soc2 = evident_core::FrameworkId::parse("soc2:2017").unwrap();
    app.adopt(&acme, &soc2, &[], "Production".into(), None).await.unwrap();
    let controls: [(&str, &str, Option<&str>); 6] = [
        ("acme", "IAM-01", Some("olu@acme.example")),
        ("acme", "IAM-02", None),
        ("acme", "OPS-01", None),
        ("acme", "OPS-02", None),
        ("acme", "OPS-03", None),
        ("globex", "GLX-01", None),
    ];
    for (slug, code, owner) in controls {
        let me = app.operator(Some(&OrgSlug::parse(slug).unwrap()), "test", None).await.unwrap();
        let control = NewControl::new(
            ControlCode::parse(code).unwrap(),
            &format!("Control {code}"),
            "Done by the security team.",
            owner.map(email),
            Frequency::Quarterly,
            ImplementationStatus::InProgress,
        )
        .unwrap();
        app.create_control(&me, control).await.unwrap();
    }
}

/// Runs a story once per backend: `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! both {
    ($($story:ident),+ $(,)?) => {
        $(
            mod $story {
                #[tokio::test]
                async fn sqlite() {
                    let app = $crate::support::spawn_app($crate::support::Backend::Sqlite).await.unwrap();
                    super::$story(app).await;
                }

                #[tokio::test]
                async fn postgres() {
                    let Some(app) = $crate::support::spawn_app($crate::support::Backend::Postgres).await else {
                        return;
                    };
                    super::$story(app).await;
                }
            }
        )+
    };
}
