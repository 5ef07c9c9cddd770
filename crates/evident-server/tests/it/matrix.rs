//! The role × endpoint matrix: every route this API added for the organisation's records, called
//! by no one, by an administrator of another organisation, and by each role of `acme`, lowest role
//! first (so a refused write never changes what a later caller meets), with the status expected.

use evident_core::{ControlCode, Coverage, FrameworkId, RequirementRef};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{TestApp, send};

/// Who calls, in the order the matrix calls them.
const CALLERS: [Option<&str>; 7] = [
    None,
    Some("gus@globex.example"),
    Some("vic@acme.example"),
    Some("aud@acme.example"),
    Some("olu@acme.example"),
    Some("cora@acme.example"),
    Some("ada@acme.example"),
];

/// A route, its body, and the status for each of [`CALLERS`]: nobody, another organisation's
/// administrator, viewer, auditor, control owner, compliance manager, administrator.
struct Row {
    method: Method,
    path: &'static str,
    body: Option<Value>,
    expected: [u16; 7],
    /// A body that is not JSON: an upload or an import file.
    file: Option<File>,
}

fn row(method: Method, path: &'static str, body: Option<Value>, expected: [u16; 7]) -> Row {
    Row { method, path, body, expected, file: None }
}

/// A body that is not JSON.
#[derive(Clone, Copy)]
enum File {
    /// An evidence upload of IAM-01 (the control owner's), dated yesterday.
    Evidence,
    /// A correction: only the file.
    Correction,
    /// A file as the body, with its content type.
    Raw(&'static str, &'static str),
}

fn file_row(method: Method, path: &'static str, file: File, expected: [u16; 7]) -> Row {
    Row { method, path, body: None, expected, file: Some(file) }
}

/// The evidence routes; `{evidence}` is the record `crate::evidence::seed` made (IAM-01's).
fn evidence_rows() -> Vec<Row> {
    use Method as M;
    const READ: [u16; 7] = [401, 404, 200, 200, 200, 200, 200];
    const EXPORT: [u16; 7] = [401, 404, 403, 200, 200, 200, 200];
    const IMPORT: [u16; 7] = [401, 404, 403, 403, 403, 200, 200];
    vec![
        row(M::GET, "/api/orgs/acme/evidence", None, READ),
        row(M::GET, "/api/orgs/acme/evidence/{evidence}", None, READ),
        row(M::GET, "/api/orgs/acme/evidence/{evidence}/content", None, READ),
        file_row(M::POST, "/api/orgs/acme/evidence", File::Evidence, [401, 404, 403, 403, 201, 201, 201]),
        // The control owner's correction lands; the record is then superseded already.
        file_row(
            M::POST,
            "/api/orgs/acme/evidence/{evidence}/supersede",
            File::Correction,
            [401, 404, 403, 403, 201, 409, 409],
        ),
        row(M::GET, "/api/orgs/acme/freshness", None, READ),
        row(M::GET, "/api/orgs/acme/type2?framework=soc2:2017&from=2026-01-01&to=2026-06-30", None, READ),
        row(
            M::GET,
            "/api/orgs/acme/type2/export?framework=soc2:2017&from=2026-01-01&to=2026-06-30&what=sample",
            None,
            EXPORT,
        ),
        file_row(
            M::POST,
            "/api/orgs/acme/imports/controls",
            File::Raw("text/csv", "code,title\nNET-07,Firewall\n"),
            IMPORT,
        ),
        file_row(
            M::POST,
            "/api/orgs/acme/imports/assets?dry_run=true",
            File::Raw("text/csv", "code,name,type,confidentiality,integrity,availability\n"),
            IMPORT,
        ),
        file_row(
            M::POST,
            "/api/orgs/acme/imports/risks?dry_run=true",
            File::Raw(
                "text/csv",
                "code,title,assets,threat,vulnerability,owner,likelihood,impact,treatment,residual_likelihood,residual_impact,review_date\n",
            ),
            IMPORT,
        ),
        file_row(
            M::POST,
            "/api/orgs/acme/imports/framework",
            File::Raw(
                "application/toml",
                "id = \"org/policy:1\"\nname = \"Policy\"\nversion = \"1\"\ntitle = \"Policy\"\npublisher = \"Us\"\ndescription = \"Ours.\"\n\n[[requirements]]\nref = \"P-1\"\nkind = \"statement\"\ntitle = \"Access\"\ndescription = \"Reviewed.\"\n",
            ),
            IMPORT,
        ),
        row(M::GET, "/api/orgs/acme/exports/controls", None, EXPORT),
        row(M::GET, "/api/orgs/acme/exports/assets?format=xlsx", None, EXPORT),
        row(M::GET, "/api/orgs/acme/exports/risks", None, EXPORT),
        row(M::GET, "/api/orgs/acme/exports/treatment-plan", None, EXPORT),
    ]
}

/// `expires`: a date an acceptance may run to (half a year from the server's today).
fn table(expires: &str) -> Vec<Row> {
    use Method as M;
    const READ: [u16; 7] = [401, 404, 200, 200, 200, 200, 200];
    vec![
        row(M::GET, "/api/frameworks", None, [401, 200, 200, 200, 200, 200, 200]),
        row(M::GET, "/api/orgs/acme/frameworks", None, READ),
        row(M::GET, "/api/orgs/acme/dashboard", None, READ),
        row(M::GET, "/api/orgs/acme/frameworks/iso27001:2022", None, READ),
        row(
            M::POST,
            "/api/orgs/acme/adoptions",
            Some(json!({"framework": "iso27001:2022", "scope": "Production"})),
            [401, 404, 403, 403, 403, 201, 201],
        ),
        row(M::GET, "/api/orgs/acme/gap?from=soc2:2017&to=iso27001:2022", None, READ),
        // OPS-01 is not the control owner's, so accepting its suggestions is not theirs to do.
        row(
            M::POST,
            "/api/orgs/acme/gap/accept",
            Some(json!({"from": "soc2:2017", "to": "iso27001:2022", "all": true})),
            [401, 404, 403, 403, 403, 200, 200],
        ),
        row(
            M::POST,
            "/api/orgs/acme/controls",
            Some(json!({"code": "NET-01", "title": "Firewall", "frequency": "monthly"})),
            [401, 404, 403, 403, 403, 201, 409],
        ),
        // The control owner owns IAM-01; mapping again changes nothing and still answers 200.
        row(
            M::POST,
            "/api/orgs/acme/controls/IAM-01/mappings",
            Some(json!({"framework": "iso27001:2022", "requirement": "A.8.2", "rationale": "endpoints"})),
            [401, 404, 403, 403, 200, 200, 200],
        ),
        row(
            M::POST,
            "/api/orgs/acme/controls/IAM-02/mappings",
            Some(json!({"framework": "iso27001:2022", "requirement": "A.8.2", "rationale": "endpoints"})),
            [401, 404, 403, 403, 403, 200, 200],
        ),
        row(
            M::DELETE,
            "/api/orgs/acme/controls/IAM-01/mappings/iso27001:2022/A.8.2",
            None,
            [401, 404, 403, 403, 204, 404, 404],
        ),
        row(
            M::DELETE,
            "/api/orgs/acme/controls/IAM-02/mappings/iso27001:2022/A.8.2",
            None,
            [401, 404, 403, 403, 403, 204, 404],
        ),
        row(M::POST, "/api/orgs/acme/controls/NET-01/retire", None, [401, 404, 403, 403, 403, 200, 409]),
        row(M::GET, "/api/orgs/acme/risks", None, READ),
        row(M::GET, "/api/orgs/acme/risks/R-001", None, READ),
        row(
            M::POST,
            "/api/orgs/acme/risks",
            Some(json!({"code": "R-100", "title": "Laptops are stolen", "assets": ["AST-01"], "threat": "T-02",
                        "vulnerability": "V-03", "owner": "olu@acme.example", "likelihood": 3, "impact": 3,
                        "treatment": "retain", "residual_likelihood": 3, "residual_impact": 3,
                        "review_date": "2027-06-30"})),
            [401, 404, 403, 403, 201, 409, 409],
        ),
        // No If-Match: refused for the roles that may not edit, asked for by the others.
        row(
            M::PATCH,
            "/api/orgs/acme/risks/R-001",
            Some(json!({"title": "Customer data leaks"})),
            [401, 404, 403, 403, 428, 428, 428],
        ),
        // R-001 is the control owner's: they and an administrator accept it, nobody else.
        row(
            M::POST,
            "/api/orgs/acme/risks/R-001/accept",
            Some(json!({"expires": expires})),
            [401, 404, 403, 403, 201, 403, 201],
        ),
        row(M::GET, "/api/orgs/acme/heatmap", None, READ),
        row(M::GET, "/api/orgs/acme/treatment-plan", None, [401, 404, 403, 200, 200, 200, 200]),
        row(M::GET, "/api/orgs/acme/methodology", None, READ),
        row(M::GET, "/api/orgs/acme/soa", None, READ),
        row(M::GET, "/api/orgs/acme/audit", None, [401, 404, 403, 200, 200, 200, 200]),
        row(M::GET, "/api/orgs/acme/verify", None, [401, 404, 403, 200, 200, 200, 200]),
        // The first approval makes version 1; the next, with nothing changed, keeps it.
        row(M::POST, "/api/orgs/acme/soa/approve", None, [401, 404, 403, 403, 403, 201, 200]),
        row(M::GET, "/api/orgs/acme/soa/versions", None, READ),
        row(M::GET, "/api/orgs/acme/soa/versions/1", None, READ),
        row(M::GET, "/api/orgs/acme/soa/diff?from=1&to=draft", None, READ),
        row(M::GET, "/api/orgs/acme/assets", None, READ),
        row(M::GET, "/api/orgs/acme/assets/AST-01", None, READ),
        row(
            M::POST,
            "/api/orgs/acme/assets",
            Some(json!({"code": "AST-10", "name": "Laptops", "kind": "hardware", "classification": "internal",
                        "confidentiality": 2, "integrity": 2, "availability": 2})),
            [401, 404, 403, 403, 201, 409, 409],
        ),
        // No If-Match: refused for the roles that may not edit, asked for by the others.
        row(
            M::PATCH,
            "/api/orgs/acme/assets/AST-10",
            Some(json!({"name": "Laptops"})),
            [401, 404, 403, 403, 428, 428, 428],
        ),
        row(M::PUT, "/api/orgs/acme/methodology", Some(json!({"preset": "5x5"})), [401, 404, 403, 403, 403, 200, 200]),
        row(M::GET, "/api/orgs/acme/members", None, READ),
        // neo has an account (made for the matrix) and no membership yet.
        row(
            M::POST,
            "/api/orgs/acme/members",
            Some(json!({"email": "neo@acme.example", "role": "viewer"})),
            [401, 404, 403, 403, 403, 403, 201],
        ),
        row(
            M::PATCH,
            "/api/orgs/acme/members/neo@acme.example",
            Some(json!({"role": "auditor"})),
            [401, 404, 403, 403, 403, 403, 200],
        ),
        row(M::POST, "/api/orgs/acme/members/neo@acme.example/disable", None, [401, 404, 403, 403, 403, 403, 200]),
        row(M::POST, "/api/orgs/acme/members/neo@acme.example/enable", None, [401, 404, 403, 403, 403, 403, 200]),
        row(M::DELETE, "/api/orgs/acme/members/neo@acme.example", None, [401, 404, 403, 403, 403, 403, 204]),
        row(M::POST, "/api/oscal/validate", Some(tiny_catalog()), [401, 200, 200, 200, 200, 200, 200]),
        // The administrator imports the very content the compliance manager did: nothing changes.
        row(
            M::POST,
            "/api/orgs/acme/oscal/imports?id=org/tiny:1",
            Some(tiny_catalog()),
            [401, 404, 403, 403, 403, 201, 200],
        ),
        row(M::GET, "/api/orgs/acme/oscal/exports/ssp?framework=soc2:2017", None, [401, 404, 403, 200, 200, 200, 200]),
    ]
    .into_iter()
    .chain(evidence_rows())
    .collect()
}

/// The smallest OSCAL catalog of two controls, for the OSCAL routes.
fn tiny_catalog() -> Value {
    json!({"catalog": {
        "uuid": "6b5e7f8a-1c2d-4e3f-8a9b-0c1d2e3f4a5b",
        "metadata": {"title": "Tiny", "last-modified": "2024-01-01T00:00:00Z", "version": "1", "oscal-version": "1.1.2"},
        "groups": [{"id": "ac", "title": "Access", "controls": [
            {"id": "ac-1", "title": "Policy", "parts": [{"id": "ac-1_smt", "name": "statement", "prose": "Have a policy."}]},
            {"id": "ac-2", "title": "Accounts", "parts": [{"id": "ac-2_smt", "name": "statement", "prose": "Manage them."}]}]}]}})
}

async fn every_route_answers_each_role_as_the_table_says(app: TestApp) {
    let operator = app.operator("acme", None).await;
    let (soc2, cc61) = (FrameworkId::parse("soc2:2017").unwrap(), RequirementRef::parse("CC6.1").unwrap());
    let ops01 = ControlCode::parse("OPS-01").unwrap();
    app.app.map_control(&operator, &ops01, &soc2, &cc61, Coverage::Full, "operations").await.unwrap();
    crate::risks::register(&app).await;
    let evidence = crate::evidence::seed(&app).await;
    let yesterday = crate::evidence::yesterday(&app);
    let neo = evident_core::Email::parse("neo@acme.example").unwrap();
    let password = Some(evident_app::accounts::Password::parse(crate::support::PASSWORD).unwrap());
    let operator = evident_app::Operator::new("test");
    app.app.create_account(evident_app::accounts::AccountsBy::Operator(&operator), neo, password).await.unwrap();

    let mut browsers = Vec::new();
    for caller in CALLERS {
        browsers.push(match caller {
            Some(email) => Some(app.browser(email).await),
            None => None,
        });
    }
    let mut wrong = Vec::new();
    let expires = (app.app.now().date_naive() + chrono::Duration::days(180)).to_string();
    for row in table(&expires) {
        let path = row.path.replace("{evidence}", &evidence);
        for ((caller, browser), expected) in CALLERS.iter().zip(&browsers).zip(row.expected) {
            let request = match browser {
                Some(browser) => app.as_browser(browser, row.method.clone(), &path),
                None => app.request(row.method.clone(), &path),
            };
            let request = match &row.body {
                Some(body) => request.json(body),
                None => request,
            };
            let request = match row.file {
                Some(File::Evidence) => {
                    request.multipart(crate::evidence::form(&["IAM-01"], &yesterday, "r.txt", b"r"))
                }
                Some(File::Correction) => request.multipart(crate::evidence::form(&[], &yesterday, "c.txt", b"c")),
                Some(File::Raw(content_type, body)) => request.header("content-type", content_type).body(body),
                None => request,
            };
            let (status, body) = send(request).await;
            if status != StatusCode::from_u16(expected).unwrap() {
                wrong.push(format!(
                    "{} {} as {}: {status}, not {expected}: {body}",
                    row.method,
                    path,
                    caller.unwrap_or("nobody")
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The routes of the first slice (sessions, tokens, controls read and patched, readiness), which
/// their own stories walk; every other route must have a row in the table.
const BEFORE: [&str; 16] = [
    "get /healthz",
    "get /readyz",
    "post /api/session",
    "delete /api/session",
    "get /api/me",
    "put /api/me/password",
    "get /api/orgs",
    "get /api/orgs/{org}/controls",
    "get /api/orgs/{org}/controls/{code}",
    "patch /api/orgs/{org}/controls/{code}",
    "get /api/orgs/{org}/readiness",
    "post /api/orgs/{org}/tokens",
    "get /api/orgs/{org}/tokens",
    "delete /api/orgs/{org}/tokens/{id}",
    "get /api/errors",
    "get /api/openapi.json",
];

/// Whether the concrete `path` (its query left out) is an instance of the `template`.
fn instance_of(path: &str, template: &str) -> bool {
    let path = path.split('?').next().unwrap();
    let (concrete, pattern): (Vec<_>, Vec<_>) = (path.split('/').collect(), template.split('/').collect());
    concrete.len() == pattern.len()
        && concrete.iter().zip(&pattern).all(|(c, p)| (p.starts_with('{') && p.ends_with('}')) || c == p)
}

#[tokio::test]
async fn every_route_added_has_a_row_in_the_matrix() {
    let app = crate::support::spawn_app(crate::support::Backend::Sqlite).await.unwrap();
    let document: Value = app.request(Method::GET, "/api/openapi.json").send().await.unwrap().json().await.unwrap();
    let rows = table("2030-01-01");
    let mut missing = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let route = format!("{method} {path}");
            let covered =
                rows.iter().any(|r| r.method.as_str().eq_ignore_ascii_case(method) && instance_of(r.path, path));
            if !BEFORE.contains(&route.as_str()) && !covered {
                missing.push(route);
            }
        }
    }
    assert!(missing.is_empty(), "routes with no row in the role matrix: {missing:?}");
    assert!(rows.len() >= 26, "the table holds every route added: {}", rows.len());
}

crate::both!(every_route_answers_each_role_as_the_table_says);
