use chrono::Duration;
use evident_core::risk::{Asset, AssetKind, Classification, Methodology, Treatment};
use evident_core::{AssetCode, Email, RiskCode};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::frameworks::walk;
use crate::support::{TestApp, error_code, send};

/// Gives `acme` a register: the 5×5 methodology, asset AST-01, and R-001 (owned by olu, the control
/// owner): a retained risk whose residual level (2 × 2, Low) may be accepted.
pub async fn register(app: &TestApp) {
    let acme = app.operator("acme", None).await;
    app.app.set_methodology(&acme, Methodology::five_by_five()).await.unwrap();
    let asset = Asset {
        code: AssetCode::parse("AST-01").unwrap(),
        name: "Customer database".into(),
        kind: AssetKind::Information,
        owner: None,
        classification: Classification::Confidential,
        confidentiality: 4,
        integrity: 4,
        availability: 3,
        parent: None,
    };
    app.app.put_asset(&acme, asset).await.unwrap();
    let draft = evident_app::risks::RiskDraft {
        code: RiskCode::parse("R-001").unwrap(),
        title: "Customer data leaks".into(),
        description: String::new(),
        assets: vec![AssetCode::parse("AST-01").unwrap()],
        threat: "T-01".into(),
        vulnerability: "V-01".into(),
        owner: Email::parse("olu@acme.example").unwrap(),
        inherent: (2, 2),
        treatment: Treatment::Retain,
        controls: Vec::new(),
        residual: (2, 2),
        residual_justification: String::new(),
        review_date: app.app.now().date_naive() + Duration::days(90),
        closed: false,
    };
    app.app.create_risk(&acme, draft).await.unwrap();
}

fn new_risk(code: &str) -> Value {
    json!({"code": code, "title": "Laptops are stolen", "assets": ["AST-01"], "threat": "T-02",
           "vulnerability": "V-03", "owner": "cora@acme.example", "likelihood": 4, "impact": 4,
           "treatment": "modify", "controls": ["IAM-01"], "planned": [{"control": "OPS-01", "due": "2027-01-31"}],
           "residual_likelihood": 2, "residual_impact": 3, "review_date": "2027-06-30"})
}

async fn risks_are_created_listed_filtered_and_shown(app: TestApp) {
    register(&app).await;
    let cora = app.browser("cora@acme.example").await;
    let create =
        |browser, body: Value| app.as_browser(browser, Method::POST, "/api/orgs/acme/risks").json(&body).send();
    let created = create(&cora, new_risk("R-002")).await.unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    assert_eq!((created["code"].as_str(), created["controls"].as_array().unwrap().len()), (Some("R-002"), 2));
    assert_eq!(created["controls"][1], json!({"control": "OPS-01", "planned": true, "due": "2027-01-31"}));

    let vic = app.browser("vic@acme.example").await;
    let refused = create(&vic, new_risk("R-003")).await.unwrap();
    assert_eq!(error_code(refused).await, (StatusCode::FORBIDDEN, "permission_denied".into()));
    let gus = app.browser("gus@globex.example").await;
    let across = create(&gus, new_risk("R-003")).await.unwrap();
    assert_eq!(error_code(across).await, (StatusCode::NOT_FOUND, "organisation_not_found".into()));
    let mut bad = Vec::new();
    for (field, value) in [
        ("assets", json!(["AST-99"])),
        ("likelihood", json!(9)),
        ("treatment", json!("ignore")),
        ("owner", json!("gus@globex.example")),
        ("review_date", json!("soon")),
        ("controls", json!(["NOPE-1"])),
    ] {
        let mut body = new_risk("R-003");
        body[field] = value;
        bad.push((body, (StatusCode::BAD_REQUEST, "invalid_input")));
    }
    bad.push((new_risk("R-002"), (StatusCode::CONFLICT, "already_exists")));
    bad.push((json!({"code": "R-003"}), (StatusCode::BAD_REQUEST, "invalid_input")));
    for (body, expected) in bad {
        let (status, code) = error_code(create(&cora, body.clone()).await.unwrap()).await;
        assert_eq!((status, code.as_str()), expected, "{body}");
    }
    let globex_risks = app.as_browser(&gus, Method::GET, "/api/orgs/globex/risks").send().await.unwrap();
    assert_eq!(globex_risks.json::<Value>().await.unwrap()["items"], json!([]), "nothing reached globex");

    let codes = |items: Vec<Value>| items.iter().map(|r| r["code"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    assert_eq!(codes(walk(&app, &vic, "/api/orgs/acme/risks", 1).await), ["R-001", "R-002"], "no refused risk landed");
    assert_eq!(codes(walk(&app, &vic, "/api/orgs/acme/risks?owner=olu@acme.example", 10).await), ["R-001"]);
    assert_eq!(codes(walk(&app, &vic, "/api/orgs/acme/risks?treatment=modify", 10).await), ["R-002"]);
    assert_eq!(codes(walk(&app, &vic, "/api/orgs/acme/risks?closed=false&treatment=retain", 10).await), ["R-001"]);
    assert!(walk(&app, &vic, "/api/orgs/acme/risks?closed=true", 10).await.is_empty());
    for path in [
        "/api/orgs/acme/risks?owner=nobody",
        "/api/orgs/acme/risks?treatment=ignore",
        "/api/orgs/acme/risks?sort=colour",
    ] {
        let (status, code) = error_code(app.as_browser(&vic, Method::GET, path).send().await.unwrap()).await;
        assert_eq!((status, code.as_str()), (StatusCode::BAD_REQUEST, "invalid_input"), "{path}");
    }

    let (status, one) = send(app.as_browser(&vic, Method::GET, "/api/orgs/acme/risks/R-001")).await;
    assert_eq!((status, one["owner"].as_str()), (StatusCode::OK, Some("olu@acme.example")));
    let missing = app.as_browser(&vic, Method::GET, "/api/orgs/acme/risks/R-404").send().await.unwrap();
    assert_eq!(error_code(missing).await, (StatusCode::NOT_FOUND, "risk_not_found".into()));
    let theirs = app.as_browser(&gus, Method::GET, "/api/orgs/globex/risks/R-001").send().await.unwrap();
    assert_eq!(
        error_code(theirs).await,
        (StatusCode::NOT_FOUND, "risk_not_found".into()),
        "acme's R-001 is not globex's"
    );
}

async fn a_person_accepts_a_risk_and_a_token_cannot(app: TestApp) {
    register(&app).await;
    let olu = app.browser("olu@acme.example").await;
    let (status, token) = app.create_token(&olu, "acme", json!({"name": "bot", "role": "control_owner"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let secret = token["secret"].as_str().unwrap();
    let expires = (app.app.now().date_naive() + Duration::days(180)).to_string();
    let body = json!({"expires": expires, "note": "Within appetite."});
    let path = "/api/orgs/acme/risks/R-001/accept";
    let by_token = app.with_token(secret, Method::POST, path).json(&body).send().await.unwrap();
    assert_eq!(error_code(by_token).await, (StatusCode::FORBIDDEN, "member_required".into()));
    for who in ["vic@acme.example", "aud@acme.example", "cora@acme.example"] {
        let browser = app.browser(who).await;
        let refused = app.as_browser(&browser, Method::POST, path).json(&body).send().await.unwrap();
        assert_eq!(error_code(refused).await, (StatusCode::FORBIDDEN, "permission_denied".into()), "{who}");
    }
    let gus = app.browser("gus@globex.example").await;
    let across = app.as_browser(&gus, Method::POST, path).json(&body).send().await.unwrap();
    assert_eq!(error_code(across).await, (StatusCode::NOT_FOUND, "organisation_not_found".into()));
    let (_, risk) = send(app.as_browser(&olu, Method::GET, "/api/orgs/acme/risks/R-001")).await;
    assert!(risk["acceptance"].is_null(), "no refused acceptance was recorded: {risk}");

    let yesterday = (app.app.now().date_naive() - Duration::days(1)).to_string();
    for (body, expected) in [
        (json!({"expires": yesterday}), (StatusCode::UNPROCESSABLE_ENTITY, "rule_violated")),
        (json!({"expires": "next spring"}), (StatusCode::BAD_REQUEST, "invalid_input")),
        (json!({"note": "no date"}), (StatusCode::BAD_REQUEST, "invalid_input")),
    ] {
        let (status, code) =
            error_code(app.as_browser(&olu, Method::POST, path).json(&body).send().await.unwrap()).await;
        assert_eq!((status, code.as_str()), expected, "{body}");
    }
    let missing = app.as_browser(&olu, Method::POST, "/api/orgs/acme/risks/R-404/accept").json(&body).send().await;
    assert_eq!(error_code(missing.unwrap()).await, (StatusCode::NOT_FOUND, "risk_not_found".into()));

    let (status, accepted) = send(app.as_browser(&olu, Method::POST, path).json(&body)).await;
    assert_eq!(status, StatusCode::CREATED, "{accepted}");
    assert_eq!(
        (accepted["by"].as_str(), accepted["expires"].as_str()),
        (Some("olu@acme.example"), Some(expires.as_str()))
    );
    let (_, risk) = send(app.as_browser(&olu, Method::GET, "/api/orgs/acme/risks/R-001")).await;
    assert_eq!(risk["acceptance"]["by"], "olu@acme.example");
    let last = app.audit_actors("acme").await.pop().unwrap();
    assert_eq!(last.0, "olu@acme.example", "the audit log names the person");
    let ada = app.browser("ada@acme.example").await;
    let (status, _) = send(app.as_browser(&ada, Method::POST, path).json(&body)).await;
    assert_eq!(status, StatusCode::CREATED, "an administrator may accept too");
}

async fn the_heat_map_the_plan_and_the_methodology(app: TestApp) {
    let gus = app.browser("gus@globex.example").await;
    for path in ["/api/orgs/globex/methodology", "/api/orgs/globex/heatmap"] {
        let (status, code) = error_code(app.as_browser(&gus, Method::GET, path).send().await.unwrap()).await;
        assert_eq!((status, code.as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "no_methodology"), "{path}");
    }
    register(&app).await;
    let cora = app.browser("cora@acme.example").await;
    let created = app.as_browser(&cora, Method::POST, "/api/orgs/acme/risks").json(&new_risk("R-002")).send().await;
    assert_eq!(created.unwrap().status(), StatusCode::CREATED);

    let vic = app.browser("vic@acme.example").await;
    let (status, methodology) = send(app.as_browser(&vic, Method::GET, "/api/orgs/acme/methodology")).await;
    assert_eq!((status, methodology["version"].as_i64()), (StatusCode::OK, Some(1)));
    assert_eq!(methodology["methodology"]["likelihood"].as_array().unwrap().len(), 5);
    let (status, heat) = send(app.as_browser(&vic, Method::GET, "/api/orgs/acme/heatmap")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((heat["inherent"][3][3].as_u64(), heat["inherent"][1][1].as_u64()), (Some(1), Some(1)), "{heat}");
    assert_eq!(heat["residual"][1][2].as_u64(), Some(1), "R-002's residual 2 × 3");

    let refused = app.as_browser(&vic, Method::GET, "/api/orgs/acme/treatment-plan").send().await.unwrap();
    assert_eq!(error_code(refused).await, (StatusCode::FORBIDDEN, "permission_denied".into()), "the plan is an export");
    let aud = app.browser("aud@acme.example").await;
    let plan = walk(&app, &aud, "/api/orgs/acme/treatment-plan", 2).await;
    let rows: Vec<(&str, Option<&str>, bool)> = plan
        .iter()
        .map(|r| (r["risk"].as_str().unwrap(), r["control"].as_str(), r["planned"].as_bool().unwrap()))
        .collect();
    assert_eq!(rows, [("R-001", None, false), ("R-002", Some("IAM-01"), false), ("R-002", Some("OPS-01"), true)]);
    let across = app.as_browser(&gus, Method::GET, "/api/orgs/acme/treatment-plan").send().await.unwrap();
    assert_eq!(error_code(across).await, (StatusCode::NOT_FOUND, "organisation_not_found".into()));
}

async fn two_edits_of_one_risk_end_in_one_winner_and_a_conflict(app: TestApp) {
    register(&app).await;
    let olu = app.browser("olu@acme.example").await;
    let expires = (app.app.now().date_naive() + Duration::days(180)).to_string();
    let accept = app.as_browser(&olu, Method::POST, "/api/orgs/acme/risks/R-001/accept");
    assert_eq!(send(accept.json(&json!({"expires": expires}))).await.0, StatusCode::CREATED);

    let cora = app.browser("cora@acme.example").await;
    let read = app.as_browser(&cora, Method::GET, "/api/orgs/acme/risks/R-001").send().await.unwrap();
    let tag = read.headers()["etag"].to_str().unwrap().to_owned();
    let edit = |who: &crate::support::Browser, body: Value, tag: Option<&str>| {
        let request = app.as_browser(who, Method::PATCH, "/api/orgs/acme/risks/R-001").json(&body);
        match tag {
            Some(tag) => request.header("if-match", tag),
            None => request,
        }
        .send()
    };
    let none = edit(&cora, json!({"title": "Without a version"}), None).await.unwrap();
    assert_eq!(error_code(none).await, (StatusCode::PRECONDITION_REQUIRED, "precondition_required".into()));
    let vic = app.browser("vic@acme.example").await;
    let read_only = edit(&vic, json!({"title": "A viewer's"}), Some(&tag)).await.unwrap();
    assert_eq!(error_code(read_only).await, (StatusCode::FORBIDDEN, "permission_denied".into()));
    let bad = edit(&cora, json!({"likelihood": 9, "assets": []}), Some(&tag)).await.unwrap();
    let (status, problem) = (bad.status(), bad.json::<Value>().await.unwrap());
    assert_eq!((status, problem["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_input")));
    let message = problem["message"].as_str().unwrap();
    assert!(message.contains("likelihood 9 is outside") && message.contains("at least one asset"), "{message}");

    let first = edit(&cora, json!({"title": "Customer data leaks to a supplier", "impact": 3}), Some(&tag)).await;
    let first = first.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let new_tag = first.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(new_tag, tag, "a change gives a new version");
    let body: Value = first.json().await.unwrap();
    assert_eq!(
        (body["title"].as_str(), body["inherent"]["impact"].as_u64()),
        (Some("Customer data leaks to a supplier"), Some(3)),
        "{body}"
    );
    assert_eq!(body["acceptance"]["by"], "olu@acme.example", "the acceptance is kept");
    let again = app.as_browser(&vic, Method::GET, "/api/orgs/acme/risks/R-001").send().await.unwrap();
    assert_eq!(again.headers()["etag"].to_str().unwrap(), new_tag, "the version the edit answered is the one read");

    let ada = app.browser("ada@acme.example").await;
    let second = edit(&ada, json!({"title": "Ada's title"}), Some(&tag)).await.unwrap();
    assert_eq!(error_code(second).await, (StatusCode::CONFLICT, "conflict".into()), "based on what changed since");
    let (_, now) = send(app.as_browser(&vic, Method::GET, "/api/orgs/acme/risks/R-001")).await;
    assert_eq!(now["title"], "Customer data leaks to a supplier", "the first edit stands");
    let third = edit(&ada, json!({"treatment": "modify", "controls": ["IAM-01"]}), Some(&new_tag)).await.unwrap();
    assert_eq!(third.status(), StatusCode::OK, "based on the latest version it lands");
    let (_, now) = send(app.as_browser(&vic, Method::GET, "/api/orgs/acme/risks/R-001")).await;
    assert_eq!((now["treatment"].as_str(), now["controls"][0]["control"].as_str()), (Some("modify"), Some("IAM-01")));
    assert_eq!(now["title"], "Customer data leaks to a supplier", "the fields not sent stay as they were");
    let puts: Vec<String> =
        app.audit_actors("acme").await.into_iter().filter(|(_, a)| a == "risk.put").map(|(who, _)| who).collect();
    assert_eq!(puts, ["cora@acme.example", "ada@acme.example"], "one record per landed edit, naming its author");

    // The store refuses it too, inside the write, when the risk read is no longer the one stored.
    let acme = app.operator("acme", None).await;
    let code = RiskCode::parse("R-001").unwrap();
    let stored = app.app.risk(&acme, &code).await.unwrap();
    let read_before = evident_core::risk::Risk { title: "As once read".into(), ..stored.clone() };
    let late = evident_store::RiskChange::PutBasedOn { risk: stored.clone(), based_on: Box::new(read_before) };
    let refused = app.app.store().apply(&acme.actor(app.app.now()), vec![late.into()]).await;
    assert!(matches!(refused, Err(evident_store::StoreError::Stale { .. })), "{refused:?}");
}

crate::both!(
    risks_are_created_listed_filtered_and_shown,
    a_person_accepts_a_risk_and_a_token_cannot,
    the_heat_map_the_plan_and_the_methodology,
    two_edits_of_one_risk_end_in_one_winner_and_a_conflict,
);
