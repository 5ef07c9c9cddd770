//! Imports and exports over HTTP: the CLI's tables, the same row errors, a dry run that writes
//! nothing, an import that lands whole or not at all, and exports that read back in.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::support::{Browser, TestApp, error_code, send};

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Three problems on three rows, and one good row that must not land either.
const BAD_CONTROLS: &str = "code,title,owner,frequency\n\
NET-01,Firewall review,,monthly\n\
not a code!,Backups,,weekly\n\
NET-02,,,monthly\n\
NET-03,Patching,nobody@elsewhere.example,fortnightly\n";

async fn import(app: &TestApp, who: &Browser, path: &str, content_type: &str, body: &str) -> (StatusCode, Value) {
    let request = app.as_browser(who, Method::POST, path).header("content-type", content_type).body(body.to_owned());
    send(request).await
}

async fn control_codes(app: &TestApp, who: &Browser) -> Vec<String> {
    let (_, body) = send(app.as_browser(who, Method::GET, "/api/orgs/acme/controls")).await;
    body["items"].as_array().unwrap().iter().map(|c| c["code"].as_str().unwrap().to_owned()).collect()
}

async fn an_import_with_bad_rows_reports_every_one_and_lands_nothing(app: TestApp) {
    let cora = app.browser("cora@acme.example").await;
    let before = (control_codes(&app, &cora).await, app.audit_actors("acme").await.len());

    let path = "/api/orgs/acme/imports/controls?dry_run=true&file=controls.csv";
    let (status, dry) = import(&app, &cora, path, "text/csv", BAD_CONTROLS).await;
    assert_eq!(status, StatusCode::OK, "{dry}");
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["valid"], false);
    assert_eq!(dry["file"], "controls.csv");
    let problems: Vec<(u64, &str)> = dry["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["row"].as_u64().unwrap(), r["column"].as_str().unwrap()))
        .collect();
    assert_eq!(problems, [(3, "code"), (4, "title"), (5, "owner"), (5, "frequency")], "{dry}");
    for row in dry["rows"].as_array().unwrap() {
        assert!(row["message"].as_str().is_some_and(|m| !m.is_empty()), "{row}");
    }

    let path = "/api/orgs/acme/imports/controls?file=controls.csv";
    let response = app
        .as_browser(&cora, Method::POST, path)
        .header("content-type", "text/csv")
        .body(BAD_CONTROLS)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let refused: Value = response.json().await.unwrap();
    assert_eq!(refused["code"], "invalid_row");
    assert_eq!(refused["rows"], dry["rows"], "the same row errors, from the same use case");
    let after = (control_codes(&app, &cora).await, app.audit_actors("acme").await.len());
    assert_eq!(after, before, "nothing landed, not even NET-01, and no audit record");
}

async fn a_dry_run_reports_what_an_import_then_writes(app: TestApp) {
    let cora = app.browser("cora@acme.example").await;
    let good = "code,title,frequency,framework,requirement,coverage,rationale\n\
NET-01,Firewall review,monthly,soc2:2017,CC6.6,partial,Reviews the rules\n\
IAM-01,Access review,,,,,\n";
    let path = "/api/orgs/acme/imports/controls";
    let (status, dry) = import(&app, &cora, &format!("{path}?dry_run=true"), "text/csv", good).await;
    assert_eq!(status, StatusCode::OK, "{dry}");
    assert_eq!((dry["valid"].clone(), dry["report"]["created"].clone()), (Value::Bool(true), 1.into()));
    assert_eq!(dry["report"]["updated"], 1);
    assert_eq!(dry["report"]["mappings"], 1);
    assert!(!control_codes(&app, &cora).await.contains(&"NET-01".to_owned()), "a dry run writes nothing");

    let (status, done) = import(&app, &cora, path, "text/csv", good).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["report"], dry["report"], "the import does what its dry run said");
    assert!(control_codes(&app, &cora).await.contains(&"NET-01".to_owned()));

    // What the export writes, the import reads back: nothing changes.
    let response = app.as_browser(&cora, Method::GET, "/api/orgs/acme/exports/controls").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-disposition"].to_str().unwrap().contains("controls.csv"));
    let exported = response.text().await.unwrap();
    assert!(exported.lines().any(|l| l.starts_with("NET-01,Firewall review")), "{exported}");
    let (status, again) = import(&app, &cora, path, "text/csv", &exported).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!((again["report"]["created"].clone(), again["report"]["updated"].clone()), (0.into(), 0.into()));

    let xlsx = app.as_browser(&cora, Method::GET, "/api/orgs/acme/exports/controls?format=xlsx").send().await.unwrap();
    assert_eq!(xlsx.headers()["content-type"], XLSX);
    let bytes = xlsx.bytes().await.unwrap();
    assert!(bytes.starts_with(b"PK"), "a workbook");
    let request = app.as_browser(&cora, Method::POST, path).header("content-type", XLSX).body(bytes.to_vec());
    let (status, from_xlsx) = send(request).await;
    assert_eq!(status, StatusCode::OK, "{from_xlsx}");
    assert_eq!(from_xlsx["report"]["created"], 0);
}

async fn who_may_import_and_export(app: TestApp) {
    let header_only = "code,title\n";
    for who in ["aud@acme.example", "vic@acme.example", "olu@acme.example"] {
        let browser = app.browser(who).await;
        let path = "/api/orgs/acme/imports/controls?dry_run=true";
        let response =
            app.as_browser(&browser, Method::POST, path).header("content-type", "text/csv").body(header_only).send();
        assert_eq!(error_code(response.await.unwrap()).await.0, StatusCode::FORBIDDEN, "{who}: even a dry run");
    }
    let vic = app.browser("vic@acme.example").await;
    let response = app.as_browser(&vic, Method::GET, "/api/orgs/acme/exports/risks").send().await.unwrap();
    assert_eq!(error_code(response).await, (StatusCode::FORBIDDEN, "permission_denied".into()));
    let aud = app.browser("aud@acme.example").await;
    let response = app.as_browser(&aud, Method::GET, "/api/orgs/acme/exports/assets").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "an auditor exports");

    let cora = app.browser("cora@acme.example").await;
    let response = app
        .as_browser(&cora, Method::POST, "/api/orgs/acme/imports/controls")
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(response).await.0, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let gus = app.browser("gus@globex.example").await;
    let response = app
        .as_browser(&gus, Method::POST, "/api/orgs/acme/imports/controls")
        .header("content-type", "text/csv")
        .body(header_only)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(response).await, (StatusCode::NOT_FOUND, "organisation_not_found".into()));
}

const POLICY: &str = r#"id = "org/policy:1"
name = "Policy"
version = "1"
title = "Our policy"
publisher = "Us"
description = "For tests."

[[requirements]]
ref = "P-1"
kind = "section"
title = "Access"
description = "Who may reach what."

[[requirements]]
ref = "P-1.1"
parent = "P-1"
kind = "statement"
title = "Reviews"
description = "Access is reviewed."
"#;

async fn assets_risks_and_frameworks_import_too(app: TestApp) {
    crate::risks::register(&app).await;
    let ada = app.browser("ada@acme.example").await;
    let assets = "code,name,type,confidentiality,integrity,availability\n\
AST-02,Laptops,hardware,3,3,2\n\
AST-03,,nothing,9,3,2\n";
    let (status, dry) = import(&app, &ada, "/api/orgs/acme/imports/assets?dry_run=true", "text/csv", assets).await;
    assert_eq!(status, StatusCode::OK, "{dry}");
    let columns: Vec<&str> = dry["rows"].as_array().unwrap().iter().map(|r| r["column"].as_str().unwrap()).collect();
    assert_eq!(columns, ["name", "type", "confidentiality"], "{dry}");
    let good = assets.lines().take(2).collect::<Vec<_>>().join("\n");
    let (status, done) = import(&app, &ada, "/api/orgs/acme/imports/assets", "text/csv", &good).await;
    assert_eq!((status, done["report"]["created"].clone()), (StatusCode::OK, 1.into()), "{done}");

    // The register exported reads back unchanged, with the methodology it was assessed with.
    let exported = app.as_browser(&ada, Method::GET, "/api/orgs/acme/exports/risks").send().await.unwrap();
    let exported = exported.text().await.unwrap();
    let (status, risks) = import(&app, &ada, "/api/orgs/acme/imports/risks", "text/csv", &exported).await;
    assert_eq!(status, StatusCode::OK, "{risks}");
    assert_eq!(risks["report"]["unchanged"], 1);
    assert_eq!(risks["report"]["methodology_version"], 1);

    // The treatment plan of the register, as a file of the columns `risks treatment-plan` writes.
    let plan =
        app.as_browser(&ada, Method::GET, "/api/orgs/acme/exports/treatment-plan?format=csv").send().await.unwrap();
    assert_eq!(plan.status(), StatusCode::OK);
    assert!(plan.headers()["content-disposition"].to_str().unwrap().contains("treatment-plan.csv"));
    let plan = plan.text().await.unwrap();
    assert!(plan.starts_with("Risk,Title,Risk owner,Residual level,Treatment,Control"), "{plan}");
    let open: Vec<&str> = exported.lines().skip(1).filter_map(|l| l.split(',').next()).collect();
    assert!(
        open.iter().all(|risk| plan.contains(&format!("\n{risk},"))),
        "every risk of the register is planned: {plan}"
    );

    let path = "/api/orgs/acme/imports/framework";
    let (status, dry) = import(&app, &ada, &format!("{path}?dry_run=true"), "application/toml", POLICY).await;
    assert_eq!(status, StatusCode::OK, "{dry}");
    assert_eq!(dry["report"]["assessable"], 1);
    let (_, library) = send(app.as_browser(&ada, Method::GET, "/api/orgs/acme/frameworks")).await;
    assert!(!library.to_string().contains("org/policy:1"), "a dry run imports nothing");
    let (status, done) = import(&app, &ada, path, "application/toml", POLICY).await;
    assert_eq!((status, done["report"]["created"].clone()), (StatusCode::OK, Value::Bool(true)), "{done}");
    let broken = POLICY.replace("parent = \"P-1\"", "parent = \"P-9\"").replace("org/policy:1", "org/policy:2");
    let (status, dry) = import(&app, &ada, &format!("{path}?dry_run=true"), "application/toml", &broken).await;
    assert_eq!((status, dry["valid"].clone()), (StatusCode::OK, Value::Bool(false)), "{dry}");
    assert_eq!(dry["rows"][0]["column"], "parent");
}

crate::both!(
    an_import_with_bad_rows_reports_every_one_and_lands_nothing,
    a_dry_run_reports_what_an_import_then_writes,
    who_may_import_and_export,
    assets_risks_and_frameworks_import_too,
);
