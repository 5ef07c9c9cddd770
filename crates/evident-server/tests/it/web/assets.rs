//! The assets pages.

use evident_core::AssetCode;
use reqwest::StatusCode;

use super::{page, post};
use crate::risks::register;
use crate::support::{Browser, TestApp};

/// A new asset's form fields, with `overrides` in place of the defaults.
fn asset_fields<'a>(browser: &'a Browser, overrides: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![
        ("csrf", browser.csrf.as_str()),
        ("code", "AST-02"),
        ("name", "Payroll system"),
        ("kind", "software"),
        ("owner", "cora@acme.example"),
        ("classification", "restricted"),
        ("confidentiality", "5"),
        ("integrity", "4"),
        ("availability", "2"),
        ("parent", ""),
    ];
    for (name, value) in overrides {
        match fields.iter_mut().find(|(n, _)| n == name) {
            Some(field) => field.1 = value,
            None => fields.push((name, value)),
        }
    }
    fields
}

/// The forms of a page other than signing out: their actions.
fn edit_forms(html: &str) -> Vec<&str> {
    html.split(r#"<form method="post" action=""#)
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap())
        .filter(|action| *action != "/logout")
        .collect()
}

async fn a_new_asset_is_listed_beside_the_risks_that_name_assets(app: TestApp) {
    register(&app).await;
    let cora = app.browser("cora@acme.example").await;
    let (status, location, _) = post(&app, &cora, "/o/acme/assets", &asset_fields(&cora, &[])).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/o/acme/assets/AST-02?done=asset-created"));
    let (status, html) = page(&app, &cora, &location).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("The asset is added to the register."), "the notice");
    assert!(html.contains("Payroll system") && html.contains("restricted"));

    let (status, list) = page(&app, &cora, "/o/acme/assets").await;
    assert_eq!(status, StatusCode::OK);
    let row = |code: &str| {
        list.split(&format!(r#"<a href="/o/acme/assets/{code}">{code}</a>"#))
            .nth(1)
            .unwrap_or_default()
            .split("</tr>")
            .next()
            .unwrap_or_default()
            .to_owned()
    };
    let payroll = row("AST-02");
    assert!(payroll.contains("Payroll system") && payroll.contains("cora@acme.example"), "{payroll}");
    assert!(payroll.contains("C5 I4 A2") && !payroll.contains("/risks/"), "{payroll}");
    let database = row("AST-01");
    assert!(database.contains(r#"<a href="/o/acme/risks/R-001""#), "R-001 names AST-01: {database}");
    let stored = app.app.asset(&app.operator("acme", None).await, &AssetCode::parse("AST-02").unwrap()).await.unwrap();
    assert_eq!((stored.name.as_str(), stored.confidentiality), ("Payroll system", 5));
}

async fn a_field_error_is_shown_beside_its_field_and_nothing_is_created(app: TestApp) {
    let cora = app.browser("cora@acme.example").await;
    let fields = asset_fields(&cora, &[("name", ""), ("owner", "nobody@elsewhere.example"), ("integrity", "9")]);
    let (status, _, html) = post(&app, &cora, "/o/acme/assets", &fields).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    for (field, message) in [
        ("n-name", "an asset needs a name"),
        ("n-owner", "nobody@elsewhere.example is not a member"),
        ("n-i", "\"9\" is not a value from 1 to 5"),
    ] {
        assert!(html.contains(&format!(r#"aria-describedby="{field}-error""#)), "{field} is marked invalid");
        let error = html.split(&format!(r#"id="{field}-error">"#)).nth(1).unwrap_or_default();
        let message = message.replace('"', "&#34;");
        assert!(error.starts_with(&message), "{field}: {message}: {}", &error[..error.len().min(80)]);
    }
    assert!(html.contains(r#"value="AST-02""#), "what was typed stays in the form");
    let assets = app.app.assets(&app.operator("acme", None).await).await.unwrap();
    assert!(assets.is_empty(), "nothing was created: {assets:?}");
}

async fn the_later_of_two_edits_gets_409_with_both_versions_and_the_first_stands(app: TestApp) {
    register(&app).await;
    let cora = app.browser("cora@acme.example").await;
    let ada = app.browser("ada@acme.example").await;
    // Both open the edit form of the same version.
    let (_, form) = page(&app, &cora, "/o/acme/assets/AST-01").await;
    let version = form.split(r#"name="version" value=""#).nth(1).unwrap().split('"').next().unwrap().to_owned();
    let edit = |browser: &Browser, name: &'static str| {
        let browser = browser.clone();
        let version = version.clone();
        let app = &app;
        async move {
            let fields = asset_fields(
                &browser,
                &[("code", "AST-01"), ("name", name), ("classification", "confidential"), ("version", &version)],
            );
            post(app, &browser, "/o/acme/assets/AST-01", &fields).await
        }
    };
    let (first, location, _) = edit(&cora, "Cora's database").await;
    assert_eq!((first, location.as_str()), (StatusCode::SEE_OTHER, "/o/acme/assets/AST-01?done=asset-saved"));
    let (second, _, html) = edit(&ada, "Ada's database").await;
    assert_eq!(second, StatusCode::CONFLICT);
    assert!(html.contains("Someone else saved a change to this asset while you were editing it"));
    let compare = html.split(r#"<table class="compare">"#).nth(1).unwrap_or_default();
    let compare = compare.split("</table>").next().unwrap_or_default();
    assert!(
        compare.contains("<td>Cora&#39;s database</td><td>Ada&#39;s database</td>"),
        "both versions, side by side: {compare}"
    );
    assert!(!html.contains(&format!(r#"name="version" value="{version}""#)), "saving again overwrites what was seen");
    let asset = app.app.asset(&app.operator("acme", None).await, &AssetCode::parse("AST-01").unwrap()).await.unwrap();
    assert_eq!(asset.name, "Cora's database", "the first edit stands");
}

async fn an_auditor_sees_no_asset_form(app: TestApp) {
    register(&app).await;
    let aud = app.browser("aud@acme.example").await;
    for path in ["/o/acme/assets", "/o/acme/assets/AST-01"] {
        let (status, html) = page(&app, &aud, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(html.contains("Customer database"), "{path} shows the asset");
        assert!(edit_forms(&html).is_empty(), "{path}: {:?}", edit_forms(&html));
    }
    // The form is absent, and the use case refuses anyway.
    let (status, _, _) = post(&app, &aud, "/o/acme/assets", &asset_fields(&aud, &[])).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(app.app.assets(&app.operator("acme", None).await).await.unwrap().len(), 1);
}

async fn markup_in_an_asset_name_shows_as_text(app: TestApp) {
    let ada = app.browser("ada@acme.example").await;
    let name = "<script>alert(1)</script><img src=x onerror=alert(2)>";
    let (status, location, _) = post(&app, &ada, "/o/acme/assets", &asset_fields(&ada, &[("name", name)])).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    for path in [location.as_str(), "/o/acme/assets"] {
        let (_, html) = page(&app, &ada, path).await;
        assert!(!html.contains("<script>alert") && !html.contains("<img src=x"), "{path}: no markup of the user's");
        assert!(html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"), "{path}: shown as text");
    }
}

crate::both!(
    a_new_asset_is_listed_beside_the_risks_that_name_assets,
    a_field_error_is_shown_beside_its_field_and_nothing_is_created,
    the_later_of_two_edits_gets_409_with_both_versions_and_the_first_stands,
    an_auditor_sees_no_asset_form,
    markup_in_an_asset_name_shows_as_text,
);
