use evident_core::{Coverage, FrameworkId, RequirementRef};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{TestApp, error_code, send};

/// Every item of a list, page by page, as `limit` at a time.
pub async fn walk(app: &TestApp, browser: &crate::support::Browser, path: &str, limit: usize) -> Vec<Value> {
    let mut items = Vec::new();
    let join = if path.contains('?') { '&' } else { '?' };
    let mut next = format!("{path}{join}limit={limit}");
    loop {
        let (status, page) = send(app.as_browser(browser, Method::GET, &next)).await;
        assert_eq!(status, StatusCode::OK, "{next}: {page}");
        let got = page["items"].as_array().unwrap();
        assert!(got.len() <= limit);
        items.extend(got.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(cursor) => next = format!("{path}{join}limit={limit}&cursor={cursor}"),
            None => return items,
        }
    }
}

fn policy(id: &str) -> String {
    format!(
        "id = \"{id}\"\nname = \"Globex policy\"\nversion = \"2025\"\ntitle = \"Globex policy\"\n\
         publisher = \"Globex\"\ndescription = \"Our own rules.\"\n\n\
         [[requirements]]\nref = \"GP-1\"\nkind = \"section\"\ntitle = \"Access\"\ndescription = \"Access.\"\n\n\
         [[requirements]]\nref = \"GP-1.1\"\nparent = \"GP-1\"\nkind = \"statement\"\ntitle = \"Reviews\"\n\
         description = \"Access is reviewed.\"\n"
    )
}

async fn the_library_comes_a_page_at_a_time_marked_with_adoption(app: TestApp) {
    let vic = app.browser("vic@acme.example").await;
    let listed = walk(&app, &vic, "/api/orgs/acme/frameworks", 2).await;
    let ids: Vec<&str> = listed.iter().map(|f| f["id"].as_str().unwrap()).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(ids, sorted, "every framework once, by id");
    let adopted: Vec<&str> =
        listed.iter().filter(|f| f["adopted"] == json!(true)).map(|f| f["id"].as_str().unwrap()).collect();
    assert_eq!(adopted, ["soc2:2017"]);
    assert!(ids.contains(&"iso27001:2022"), "{ids:?}");
    let library = walk(&app, &vic, "/api/frameworks", 500).await;
    assert_eq!(library.len(), listed.len(), "acme imported nothing");
    assert!(library.iter().all(|f| f.get("adopted").is_none() && f["source"] == "builtin"));
    let bad = app.as_browser(&vic, Method::GET, "/api/orgs/acme/frameworks?limit=501").send().await.unwrap();
    assert_eq!(error_code(bad).await, (StatusCode::BAD_REQUEST, "invalid_input".into()));
    let bad = app.as_browser(&vic, Method::GET, "/api/orgs/acme/frameworks?cursor=zz").send().await.unwrap();
    assert_eq!(error_code(bad).await, (StatusCode::BAD_REQUEST, "invalid_input".into()));
    let anonymous = app.request(Method::GET, "/api/frameworks").send().await.unwrap();
    assert_eq!(error_code(anonymous).await, (StatusCode::UNAUTHORIZED, "unauthenticated".into()));
}

async fn a_framework_shows_its_requirements_and_an_imported_one_stays_home(app: TestApp) {
    let vic = app.browser("vic@acme.example").await;
    let (status, iso) = send(app.as_browser(&vic, Method::GET, "/api/orgs/acme/frameworks/iso27001:2022")).await;
    assert_eq!(status, StatusCode::OK);
    let requirements = iso["requirements"].as_array().unwrap();
    let a515 = requirements.iter().find(|r| r["ref"] == "A.5.15").expect("A.5.15 is there");
    assert!(a515["parent"].is_string(), "a requirement names its parent: {a515}");
    let missing = app.as_browser(&vic, Method::GET, "/api/orgs/acme/frameworks/nope:1").send().await.unwrap();
    assert_eq!(error_code(missing).await, (StatusCode::NOT_FOUND, "framework_not_found".into()));
    let garbage = app.as_browser(&vic, Method::GET, "/api/orgs/acme/frameworks/..%2F..").send().await.unwrap();
    assert_eq!(error_code(garbage).await, (StatusCode::NOT_FOUND, "framework_not_found".into()));

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("policy.toml");
    std::fs::write(&file, policy("org/globex-policy:2025")).unwrap();
    let globex = app.operator("globex", None).await;
    app.app.import_framework_file(&globex, &file, None).await.unwrap();
    let gus = app.browser("gus@globex.example").await;
    let path = "/api/orgs/globex/frameworks/org%2Fglobex-policy:2025";
    let (status, own) = send(app.as_browser(&gus, Method::GET, path)).await;
    assert_eq!(status, StatusCode::OK, "{own}");
    assert_eq!(own["requirements"].as_array().unwrap().len(), 2);
    let theirs = walk(&app, &gus, "/api/orgs/globex/frameworks", 100).await;
    assert!(theirs.iter().any(|f| f["id"] == "org/globex-policy:2025" && f["source"] == "imported"));
    let ada = app.browser("ada@acme.example").await;
    let across = app.as_browser(&ada, Method::GET, "/api/orgs/acme/frameworks/org%2Fglobex-policy:2025").send().await;
    assert_eq!(error_code(across.unwrap()).await, (StatusCode::NOT_FOUND, "framework_not_found".into()));
    let ours = walk(&app, &ada, "/api/orgs/acme/frameworks", 100).await;
    assert!(ours.iter().all(|f| f["source"] == "builtin"), "acme never sees globex's framework");
    let into = app.as_browser(&ada, Method::GET, path).send().await.unwrap();
    assert_eq!(error_code(into).await, (StatusCode::NOT_FOUND, "organisation_not_found".into()));
}

async fn adopting_needs_the_permission_and_a_known_framework(app: TestApp) {
    let cora = app.browser("cora@acme.example").await;
    let body = json!({"framework": "iso27001:2022", "scope": "Production", "target_date": "2027-06-30"});
    let (status, adoption) = send(app.as_browser(&cora, Method::POST, "/api/orgs/acme/adoptions").json(&body)).await;
    assert_eq!(status, StatusCode::CREATED, "{adoption}");
    assert_eq!(
        (adoption["framework"].as_str(), adoption["target_date"].as_str()),
        (Some("iso27001:2022"), Some("2027-06-30"))
    );
    let listed = walk(&app, &cora, "/api/orgs/acme/frameworks", 100).await;
    let iso = listed.iter().find(|f| f["id"] == "iso27001:2022").unwrap();
    assert_eq!(iso["adopted"], true);

    let vic = app.browser("vic@acme.example").await;
    let soc2 = json!({"framework": "soc2:2017", "categories": ["privacy"]});
    let refused = app.as_browser(&vic, Method::POST, "/api/orgs/acme/adoptions").json(&soc2).send().await.unwrap();
    assert_eq!(error_code(refused).await, (StatusCode::FORBIDDEN, "permission_denied".into()));
    let gus = app.browser("gus@globex.example").await;
    let across = app.as_browser(&gus, Method::POST, "/api/orgs/acme/adoptions").json(&soc2).send().await.unwrap();
    assert_eq!(error_code(across).await, (StatusCode::NOT_FOUND, "organisation_not_found".into()));
    for (body, expected) in [
        (json!({"framework": "soc2:2017", "categories": ["astrology"]}), (StatusCode::BAD_REQUEST, "invalid_input")),
        (json!({"framework": "nope:1"}), (StatusCode::NOT_FOUND, "framework_not_found")),
        (json!({"framework": "Not An Id"}), (StatusCode::BAD_REQUEST, "invalid_input")),
        (json!({"framework": "soc2:2017", "target_date": "June"}), (StatusCode::BAD_REQUEST, "invalid_input")),
        (json!({"framework": "soc2:2017", "owner": "me"}), (StatusCode::BAD_REQUEST, "invalid_input")),
    ] {
        let response =
            app.as_browser(&cora, Method::POST, "/api/orgs/acme/adoptions").json(&body).send().await.unwrap();
        let (status, code) = error_code(response).await;
        assert_eq!((status, code.as_str()), expected, "{body}");
    }
    let acme = app.operator("acme", None).await;
    let adoptions = app.app.store().adoptions(&acme.org.id).await.unwrap();
    let soc2 = adoptions.iter().find(|a| a.framework.to_string() == "soc2:2017").unwrap();
    assert!(!soc2.categories.iter().any(|c| c == "privacy"), "no refused adoption changed the scope");
}

async fn the_gap_suggests_and_accepting_maps(app: TestApp) {
    let operator = app.operator("acme", None).await;
    let (soc2, cc61) = (FrameworkId::parse("soc2:2017").unwrap(), RequirementRef::parse("CC6.1").unwrap());
    let iam01 = evident_core::ControlCode::parse("IAM-01").unwrap();
    app.app.map_control(&operator, &iam01, &soc2, &cc61, Coverage::Full, "logical access").await.unwrap();

    let vic = app.browser("vic@acme.example").await;
    let path = "/api/orgs/acme/gap?from=soc2:2017&to=iso27001:2022";
    let (status, gap) = send(app.as_browser(&vic, Method::GET, path)).await;
    assert_eq!(status, StatusCode::OK, "{gap}");
    let uncovered = gap["uncovered"].as_array().unwrap();
    let suggested: Vec<&Value> =
        uncovered.iter().filter(|i| !i["suggestions"].as_array().unwrap().is_empty()).collect();
    assert!(!suggested.is_empty(), "IAM-01 reaches ISO through the crosswalk: {gap}");
    assert!(suggested.iter().all(|i| i["suggestions"][0]["control"] == "IAM-01"));
    let target = suggested[0]["ref"].as_str().unwrap().to_owned();

    let accept = |who, body: Value| app.as_browser(who, Method::POST, "/api/orgs/acme/gap/accept").json(&body).send();
    let one = json!({"from": "soc2:2017", "to": "iso27001:2022", "refs": [target]});
    let refused = accept(&vic, one.clone()).await.unwrap();
    assert_eq!(error_code(refused).await, (StatusCode::FORBIDDEN, "permission_denied".into()));
    let gus = app.browser("gus@globex.example").await;
    let across = accept(&gus, one.clone()).await.unwrap();
    assert_eq!(error_code(across).await, (StatusCode::NOT_FOUND, "organisation_not_found".into()));
    let olu = app.browser("olu@acme.example").await;
    let (status, accepted) = send(app.as_browser(&olu, Method::POST, "/api/orgs/acme/gap/accept").json(&one)).await;
    assert_eq!(status, StatusCode::OK, "the owner of IAM-01 accepts its suggestion: {accepted}");
    assert!(accepted["mappings"].as_u64().unwrap() >= 1);
    let (_, control) = send(app.as_browser(&vic, Method::GET, "/api/orgs/acme/controls/IAM-01")).await;
    let mapped = control["mappings"].as_array().unwrap();
    assert!(
        mapped.iter().any(|m| m["framework"] == "iso27001:2022" && m["requirement"] == target.as_str()),
        "{control}"
    );
    let again = accept(&olu, one).await.unwrap();
    assert_eq!(error_code(again).await, (StatusCode::BAD_REQUEST, "nothing_to_change".into()), "accepted once");

    for (body, expected) in [
        (json!({"from": "soc2:2017", "to": "iso27001:2022"}), (StatusCode::BAD_REQUEST, "invalid_input")),
        (
            json!({"from": "soc2:2017", "to": "iso27001:2022", "refs": ["A.5.1"], "all": true}),
            (StatusCode::BAD_REQUEST, "invalid_input"),
        ),
        (
            json!({"from": "soc2:2017", "to": "iso27001:2022", "refs": ["A.99"]}),
            (StatusCode::UNPROCESSABLE_ENTITY, "requirement_not_in_framework"),
        ),
        (json!({"from": "soc2:2017", "to": "nope:1", "all": true}), (StatusCode::NOT_FOUND, "framework_not_found")),
    ] {
        let (status, code) = error_code(accept(&olu, body.clone()).await.unwrap()).await;
        assert_eq!((status, code.as_str()), expected, "{body}");
    }
    let bad = app.as_browser(&vic, Method::GET, "/api/orgs/acme/gap?from=soc2:2017").send().await.unwrap();
    assert_eq!(error_code(bad).await, (StatusCode::BAD_REQUEST, "invalid_input".into()));
    let bad = app.as_browser(&vic, Method::GET, "/api/orgs/acme/gap?from=x&to=iso27001:2022").send().await.unwrap();
    assert_eq!(error_code(bad).await, (StatusCode::BAD_REQUEST, "invalid_input".into()));
}

crate::both!(
    the_library_comes_a_page_at_a_time_marked_with_adoption,
    a_framework_shows_its_requirements_and_an_imported_one_stays_home,
    adopting_needs_the_permission_and_a_known_framework,
    the_gap_suggests_and_accepting_maps,
);
