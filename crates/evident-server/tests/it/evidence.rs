//! Evidence over HTTP: uploads streamed to the evidence store, downloads byte for byte, corrections,
//! who may add, the upload limit, hostile file names, freshness and the Type 2 analysis.

use evident_core::{
    ControlCode, ControlPatch, Coverage, FrameworkId, ImplementationStatus, RequirementRef, Sha256Digest,
};
use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::support::{Browser, TestApp, error_code, send};

/// A day that evidence may be dated: yesterday on the server's clock.
pub fn yesterday(app: &TestApp) -> String {
    (app.app.now().date_naive() - chrono::Duration::days(1)).to_string()
}

/// An upload form: the fields, then the file.
pub fn form(controls: &[&str], effective: &str, file_name: &str, bytes: &[u8]) -> Form {
    let mut form = Form::new();
    for control in controls {
        form = form.text("control", control.to_string());
    }
    form.text("effective", effective.to_owned())
        .text("description", "Quarterly access review, signed.")
        .part("file", Part::bytes(bytes.to_vec()).file_name(file_name.to_owned()))
}

/// Adds evidence of IAM-01 to `acme` as its administrator; the record's id.
pub async fn seed(app: &TestApp) -> String {
    let ada = app.browser("ada@acme.example").await;
    let (status, body) = upload(app, &ada, form(&["IAM-01"], &yesterday(app), "seed.txt", b"seeded evidence")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

async fn upload(app: &TestApp, who: &Browser, form: Form) -> (StatusCode, Value) {
    send(app.as_browser(who, Method::POST, "/api/orgs/acme/evidence").multipart(form)).await
}

async fn list(app: &TestApp, who: &Browser, query: &str) -> Vec<Value> {
    let (status, body) = send(app.as_browser(who, Method::GET, &format!("/api/orgs/acme/evidence{query}"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"].as_array().unwrap().clone()
}

async fn uploaded_bytes_come_back_the_same_with_their_hash(app: TestApp) {
    let olu = app.browser("olu@acme.example").await;
    let bytes: Vec<u8> = (0..300_000u32).flat_map(|i| i.to_le_bytes()).collect();
    let (status, record) = upload(&app, &olu, form(&["IAM-01"], &yesterday(&app), "review.bin", &bytes)).await;
    assert_eq!(status, StatusCode::CREATED, "{record}");
    let digest = Sha256Digest::of(&bytes).to_string();
    assert_eq!(record["digest"], digest.as_str());
    assert_eq!(record["size"], bytes.len());
    assert_eq!(record["controls"], serde_json::json!(["IAM-01"]));
    assert_eq!(record["effective"], yesterday(&app).as_str());

    let listed = list(&app, &olu, "?control=IAM-01").await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], record["id"]);
    assert!(list(&app, &olu, "?control=OPS-01").await.is_empty(), "filtered by control");

    let id = record["id"].as_str().unwrap();
    let response =
        app.as_browser(&olu, Method::GET, &format!("/api/orgs/acme/evidence/{id}/content")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["content-type"], "application/octet-stream");
    assert_eq!(headers["x-evident-sha256"], digest.as_str());
    assert!(headers["content-disposition"].to_str().unwrap().starts_with("attachment; filename=\"review.bin\""));
    let downloaded = response.bytes().await.unwrap();
    assert_eq!(downloaded.as_ref(), bytes.as_slice(), "the same bytes come back");
    assert_eq!(Sha256Digest::of(&downloaded).to_string(), digest);

    let (status, shown) = send(app.as_browser(&olu, Method::GET, &format!("/api/orgs/acme/evidence/{id}"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(shown["digest"], digest.as_str());
    assert_eq!(shown["versions"].as_array().unwrap().len(), 1);
}

async fn a_correction_supersedes_the_record_once(app: TestApp) {
    let cora = app.browser("cora@acme.example").await;
    let (_, first) = upload(&app, &cora, form(&["OPS-01", "OPS-02"], &yesterday(&app), "v1.txt", b"first")).await;
    let first_id = first["id"].as_str().unwrap().to_owned();
    // Only the file: the controls, the date and the description are the old record's.
    let correction = Form::new().part("file", Part::bytes(b"second".to_vec()).file_name("v2.txt"));
    let path = format!("/api/orgs/acme/evidence/{first_id}/supersede");
    let (status, second) = send(app.as_browser(&cora, Method::POST, &path).multipart(correction)).await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    assert_eq!(second["supersedes"], first_id.as_str());
    assert_eq!(second["controls"], first["controls"]);
    assert_eq!(second["effective"], first["effective"]);

    let current = list(&app, &cora, "").await;
    assert_eq!(current.len(), 1, "a superseded record no longer counts");
    assert_eq!(current[0]["id"], second["id"]);
    assert_eq!(list(&app, &cora, "?superseded=true").await.len(), 2, "but stays on record");

    let (_, old) = send(app.as_browser(&cora, Method::GET, &format!("/api/orgs/acme/evidence/{first_id}"))).await;
    assert_eq!(old["superseded_by"], second["id"]);
    let versions: Vec<&Value> = old["versions"].as_array().unwrap().iter().map(|v| &v["id"]).collect();
    assert_eq!(versions, [&first["id"], &second["id"]], "oldest first");

    let again = Form::new().part("file", Part::bytes(b"third".to_vec()).file_name("v3.txt"));
    let response = app.as_browser(&cora, Method::POST, &path).multipart(again).send().await.unwrap();
    assert_eq!(error_code(response).await, (StatusCode::CONFLICT, "conflict".into()), "superseded once");
}

async fn an_auditor_or_a_viewer_cannot_upload(app: TestApp) {
    for who in ["aud@acme.example", "vic@acme.example"] {
        let browser = app.browser(who).await;
        let request = app.as_browser(&browser, Method::POST, "/api/orgs/acme/evidence").multipart(form(
            &["IAM-02"],
            &yesterday(&app),
            "x.txt",
            b"not allowed",
        ));
        let response = request.send().await.unwrap();
        assert_eq!(error_code(response).await, (StatusCode::FORBIDDEN, "permission_denied".into()), "{who}");
    }
    // A control owner adds evidence to the controls they own only.
    let olu = app.browser("olu@acme.example").await;
    let response = app
        .as_browser(&olu, Method::POST, "/api/orgs/acme/evidence")
        .multipart(form(&["IAM-02"], &yesterday(&app), "x.txt", b"not theirs"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(response).await.0, StatusCode::FORBIDDEN);
    let ada = app.browser("ada@acme.example").await;
    assert!(list(&app, &ada, "?superseded=true").await.is_empty(), "nothing was recorded");
    assert!(app.evidence_files().iter().all(|f| !f.starts_with("sha256/")), "nothing was stored");
}

async fn a_hostile_file_name_is_refused_and_a_strange_one_served_safely(app: TestApp) {
    let ada = app.browser("ada@acme.example").await;
    for name in ["../../etc/passwd", "..\\..\\boot.ini", "..", "a\u{7}bell.txt"] {
        let (status, body) = upload(&app, &ada, form(&["IAM-01"], &yesterday(&app), name, b"root:x:0:0")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}: {body}");
        assert_eq!(body["code"], "invalid_input");
    }
    assert!(list(&app, &ada, "?superseded=true").await.is_empty(), "nothing was recorded");
    assert!(app.evidence_files().iter().all(|f| !f.starts_with("sha256/")), "nothing was stored");
    assert!(app.evidence_files().iter().all(|f| !f.contains("passwd")));

    let strange = "report \"final\"; v2 — résumé.pdf";
    let (status, record) = upload(&app, &ada, form(&["IAM-01"], &yesterday(&app), strange, b"%PDF-1.4 fake")).await;
    assert_eq!(status, StatusCode::CREATED, "{record}");
    assert_eq!(record["file_name"], strange, "the name is kept as given");
    let id = record["id"].as_str().unwrap();
    let response =
        app.as_browser(&ada, Method::GET, &format!("/api/orgs/acme/evidence/{id}/content")).send().await.unwrap();
    let disposition = response.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert!(
        disposition.starts_with("attachment; filename=\"report _final__ v2 _ r_sum_.pdf\"; filename*=UTF-8''"),
        "{disposition}"
    );
    assert!(
        disposition.ends_with("''report%20%22final%22%3B%20v2%20%E2%80%94%20r%C3%A9sum%C3%A9.pdf"),
        "the exact name, encoded: {disposition}"
    );
    assert_eq!(response.headers()["content-type"], "application/octet-stream", "never rendered as the sniffed type");
}

async fn an_oversized_upload_is_refused_and_leaves_nothing(app: TestApp) {
    let ada = app.browser("ada@acme.example").await;
    let big = vec![7u8; 64 * 1024];
    let (status, body) = upload(&app, &ada, form(&["IAM-01"], &yesterday(&app), "big.bin", &big)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["code"], "body_too_large");
    assert!(list(&app, &ada, "?superseded=true").await.is_empty(), "nothing was recorded");
    assert!(app.evidence_files().is_empty() || app.evidence_files().iter().all(|f| !f.starts_with("sha256/")));
    // Under the limit, the same route takes it, and the JSON routes go on.
    let (status, _) = upload(&app, &ada, form(&["IAM-01"], &yesterday(&app), "small.bin", &big[..1000])).await;
    assert_eq!(status, StatusCode::CREATED);
}

async fn another_organisations_evidence_is_not_found(app: TestApp) {
    let id = seed(&app).await;
    let gus = app.browser("gus@globex.example").await;
    for path in [format!("/api/orgs/globex/evidence/{id}"), format!("/api/orgs/globex/evidence/{id}/content")] {
        let response = app.as_browser(&gus, Method::GET, &path).send().await.unwrap();
        assert_eq!(error_code(response).await, (StatusCode::NOT_FOUND, "evidence_not_found".into()), "{path}");
    }
    let path = format!("/api/orgs/globex/evidence/{id}/supersede");
    let correction = Form::new().part("file", Part::bytes(b"mine now".to_vec()).file_name("x.txt"));
    let response = app.as_browser(&gus, Method::POST, &path).multipart(correction).send().await.unwrap();
    assert_eq!(error_code(response).await, (StatusCode::NOT_FOUND, "evidence_not_found".into()));
    let response = app.as_browser(&gus, Method::GET, &format!("/api/orgs/acme/evidence/{id}")).send().await.unwrap();
    assert_eq!(error_code(response).await, (StatusCode::NOT_FOUND, "organisation_not_found".into()));
    let ada = app.browser("ada@acme.example").await;
    let (_, record) = send(app.as_browser(&ada, Method::GET, &format!("/api/orgs/acme/evidence/{id}"))).await;
    assert!(record.get("superseded_by").is_none(), "nothing changed: {record}");
}

async fn freshness_and_the_type2_window_are_served(app: TestApp) {
    let acme = app.operator("acme", None).await;
    let iam01 = ControlCode::parse("IAM-01").unwrap();
    let soc2 = FrameworkId::parse("soc2:2017").unwrap();
    let patch = ControlPatch { status: Some(ImplementationStatus::Implemented), ..Default::default() };
    app.app.edit_control(&acme, &iam01, patch, None).await.unwrap();
    let cc61 = RequirementRef::parse("CC6.1").unwrap();
    app.app.map_control(&acme, &iam01, &soc2, &cc61, Coverage::Full, "access").await.unwrap();
    seed(&app).await;

    let vic = app.browser("vic@acme.example").await;
    let (status, report) = send(app.as_browser(&vic, Method::GET, "/api/orgs/acme/freshness?days=90")).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let iam = report["controls"].as_array().unwrap().iter().find(|c| c["code"] == "IAM-01").unwrap();
    assert_eq!(iam["state"], "fresh", "{iam}");
    let (_, overdue) = send(app.as_browser(&vic, Method::GET, "/api/orgs/acme/evidence?state=overdue")).await;
    assert!(overdue["items"].as_array().unwrap().is_empty(), "IAM-01's evidence is fresh");
    let (_, fresh) = send(app.as_browser(&vic, Method::GET, "/api/orgs/acme/evidence?state=fresh")).await;
    assert_eq!(fresh["items"].as_array().unwrap().len(), 1);

    let today = app.app.now().date_naive();
    let from = today - chrono::Duration::days(180);
    let window = format!("framework=soc2:2017&from={from}&to={}&seed=7", today - chrono::Duration::days(1));
    let (status, analysis) = send(app.as_browser(&vic, Method::GET, &format!("/api/orgs/acme/type2?{window}"))).await;
    assert_eq!(status, StatusCode::OK, "{analysis}");
    assert_eq!(analysis["seed"], 7);
    assert_eq!(analysis["controls"].as_array().unwrap().len(), 1, "the implemented control mapped to SOC 2");

    let export = format!("/api/orgs/acme/type2/export?{window}&what=population");
    let response = app.as_browser(&vic, Method::GET, &export).send().await.unwrap();
    assert_eq!(error_code(response).await.0, StatusCode::FORBIDDEN, "a viewer exports nothing");
    let aud = app.browser("aud@acme.example").await;
    let response = app.as_browser(&aud, Method::GET, &export).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let rows: usize = response.headers()["x-evident-rows"].to_str().unwrap().parse().unwrap();
    let sha = response.headers()["x-evident-sha256"].to_str().unwrap().to_owned();
    let text = response.text().await.unwrap();
    assert!(text.starts_with("control,frequency,occurrence_from,occurrence_to,evidenced"), "{text}");
    assert_eq!(text.lines().count(), rows + 1, "the record counts the rows");
    assert_eq!(Sha256Digest::of(text.as_bytes()).to_string(), sha, "and hashes the file sent");
}

crate::both!(
    uploaded_bytes_come_back_the_same_with_their_hash,
    a_correction_supersedes_the_record_once,
    an_auditor_or_a_viewer_cannot_upload,
    a_hostile_file_name_is_refused_and_a_strange_one_served_safely,
    another_organisations_evidence_is_not_found,
    freshness_and_the_type2_window_are_served,
);

mod oversized {
    use crate::support::{Backend, spawn_with};

    fn config() -> evident_server::Config {
        evident_server::Config { upload_limit: 16 * 1024, ..Default::default() }
    }

    #[tokio::test]
    async fn sqlite() {
        let app = spawn_with(Backend::Sqlite, config()).await.unwrap();
        super::an_oversized_upload_is_refused_and_leaves_nothing(app).await;
    }

    #[tokio::test]
    async fn postgres() {
        let Some(app) = spawn_with(Backend::Postgres, config()).await else { return };
        super::an_oversized_upload_is_refused_and_leaves_nothing(app).await;
    }
}
