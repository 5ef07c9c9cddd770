//! The risks pages: a risk created from the register's form, edited on its page (each problem
//! beside its field, a concurrent edit shown with both versions), and no form for a read-only role.

use reqwest::StatusCode;

use super::{page, post};
use crate::support::{Browser, TestApp};

/// The new-risk form as a compliance manager fills it in: R-010 on AST-01, treated by IAM-01.
fn new_risk<'a>(browser: &'a Browser, code: &'a str, title: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", browser.csrf.as_str()),
        ("code", code),
        ("title", title),
        ("description", "A laptop with customer data is left on a train."),
        ("assets", "AST-01"),
        ("threat", "T-02"),
        ("vulnerability", "V-03"),
        ("owner", "olu@acme.example"),
        ("likelihood", "4"),
        ("impact", "4"),
        ("treatment", "modify"),
        ("controls", "IAM-01"),
        ("planned", "OPS-01 2027-01-31"),
        ("residual_likelihood", "2"),
        ("residual_impact", "3"),
        ("residual_justification", ""),
        ("review_date", "2027-06-30"),
    ]
}

/// The text of the field error of `id` (`rf-title` → the paragraph `rf-title-error`), if shown.
fn field_error(html: &str, id: &str) -> Option<String> {
    let rest = html.split(&format!(r#"id="{id}-error">"#)).nth(1)?;
    Some(rest.split("</p>").next().unwrap_or_default().to_owned())
}

async fn a_risk_created_from_the_register_form_is_in_the_register(app: TestApp) {
    crate::risks::register(&app).await;
    let cora = app.browser("cora@acme.example").await;
    let (status, html) = page(&app, &cora, "/o/acme/risks").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"<form method="post" action="/o/acme/risks""#), "the new-risk form is offered");
    assert!(html.contains(r#"<option value="5">5 – "#), "likelihood and impact come from the 5×5 methodology");
    assert!(html.contains(r#"<option value="olu@acme.example">"#), "the owner is chosen from the members");

    let (status, location, _) =
        post(&app, &cora, "/o/acme/risks", &new_risk(&cora, "R-010", "Laptops are stolen")).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/o/acme/risks?done=risk-created"));
    let (_, html) = page(&app, &cora, &location).await;
    assert!(html.contains("The risk is created"), "the notice says so");
    assert!(
        html.contains(r#"<a href="/o/acme/risks/R-010">R-010</a> Laptops are stolen"#),
        "the register lists the new risk"
    );
    let (status, html) = page(&app, &cora, "/o/acme/risks/R-010").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("L4 × I4") && html.contains("OPS-01</a> (planned, due 2027-01-31)"), "as entered");
}

async fn a_field_error_is_shown_beside_its_field_and_nothing_is_created(app: TestApp) {
    crate::risks::register(&app).await;
    let cora = app.browser("cora@acme.example").await;
    let mut fields = new_risk(&cora, "R-011", "");
    fields.retain(|(name, _)| *name != "assets" && *name != "review_date");
    fields.push(("review_date", "next spring"));
    let (status, _, html) = post(&app, &cora, "/o/acme/risks", &fields).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let error = field_error(&html, "rf-review").unwrap_or_default();
    assert!(error.contains("a date such as"), "the review date's error is beside it: {error:?}");
    assert!(html.contains(r#"aria-describedby="rf-review-error""#), "and the field is marked invalid");
    assert!(html.contains(r#"value="next spring""#), "what was typed stays in the form");

    // The shape right, the register's rules are checked: each problem beside its own field.
    let mut fields = new_risk(&cora, "R-011", "");
    fields.retain(|(name, _)| *name != "assets");
    let (status, _, html) = post(&app, &cora, "/o/acme/risks", &fields).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field_error(&html, "rf-title").as_deref(), Some("a risk needs a title"));
    assert_eq!(field_error(&html, "rf-assets").as_deref(), Some("a risk needs at least one asset"));
    assert_eq!(field_error(&html, "rf-owner"), None, "a right field shows no error");

    let risks = app.app.risks(&app.operator("acme", None).await).await.unwrap();
    let codes: Vec<String> = risks.iter().map(|r| r.code.to_string()).collect();
    assert_eq!(codes, ["R-001"], "nothing was created");
}

async fn the_later_of_two_risk_edits_gets_the_conflict_page_and_the_first_stands(app: TestApp) {
    crate::risks::register(&app).await;
    let cora = app.browser("cora@acme.example").await;
    let ada = app.browser("ada@acme.example").await;
    // Both open the edit form of R-001 before either saves.
    let (_, drawn) = page(&app, &cora, "/o/acme/risks/R-001").await;
    let version = drawn.split(r#"name="version" value=""#).nth(1).unwrap().split('"').next().unwrap().to_owned();
    let edit = |browser: &Browser, title: &'static str| {
        let mut fields = new_risk(browser, "R-001", title);
        fields.retain(|(name, _)| *name != "code");
        fields.push(("version", version.as_str()));
        let fields: Vec<(String, String)> = fields.into_iter().map(|(n, v)| (n.into(), v.into())).collect();
        let browser = browser.clone();
        let app = &app;
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            post(app, &browser, "/o/acme/risks/R-001", &fields).await
        }
    };
    let (first, location, _) = edit(&cora, "Cora's title").await;
    assert_eq!((first, location.as_str()), (StatusCode::SEE_OTHER, "/o/acme/risks/R-001?done=risk-saved"));
    let (second, _, html) = edit(&ada, "Ada's title").await;
    assert_eq!(second, StatusCode::CONFLICT);
    assert!(html.contains("Someone else saved a change to this risk while you were editing it"));
    let compare = html.split(r#"<table class="compare">"#).nth(1).unwrap_or_default();
    let compare = compare.split("</table>").next().unwrap_or_default();
    assert!(
        compare.contains("<td>Cora&#39;s title</td><td>Ada&#39;s title</td>"),
        "both versions, side by side: {compare}"
    );
    assert!(!html.contains(&format!(r#"name="version" value="{version}""#)), "saving again names what was seen");
    let risk = app.app.risk(&app.operator("acme", None).await, &"R-001".parse().unwrap()).await.unwrap();
    assert_eq!(risk.title, "Cora's title", "the first edit stands");
    let (_, saved) = page(&app, &cora, "/o/acme/risks/R-001?done=risk-saved").await;
    assert!(saved.contains("Your changes to the risk are saved."));
}

async fn an_auditor_or_a_viewer_sees_no_risk_form(app: TestApp) {
    crate::risks::register(&app).await;
    for who in ["aud@acme.example", "vic@acme.example"] {
        let browser = app.browser(who).await;
        for path in ["/o/acme/risks", "/o/acme/risks/R-001"] {
            let (status, html) = page(&app, &browser, path).await;
            assert_eq!(status, StatusCode::OK, "{who} {path}");
            assert!(html.contains("Customer data leaks"), "{who} {path}: the risk is shown");
            let forms: Vec<&str> = html
                .split(r#"<form method="post" action=""#)
                .skip(1)
                .map(|rest| rest.split('"').next().unwrap())
                .filter(|action| *action != "/logout")
                .collect();
            assert!(forms.is_empty(), "{who} {path}: no form at all, not even a refused one: {forms:?}");
            assert!(!html.contains("New risk") && !html.contains(r#"name="version""#), "{who} {path}");
        }
        // The form is absent, and the use case refuses anyway.
        let (status, _, _) = post(&app, &browser, "/o/acme/risks", &new_risk(&browser, "R-012", "x")).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{who}");
    }
}

crate::both!(
    a_risk_created_from_the_register_form_is_in_the_register,
    a_field_error_is_shown_beside_its_field_and_nothing_is_created,
    the_later_of_two_risk_edits_gets_the_conflict_page_and_the_first_stands,
    an_auditor_or_a_viewer_sees_no_risk_form,
);
