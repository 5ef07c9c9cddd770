//! The methodology pages.

use evident_core::risk::Methodology;
use reqwest::StatusCode;

use super::{page, post};
use crate::risks::register;
use crate::support::{Browser, TestApp};

/// The editor's fields for the 5×5 preset as it stands, with `overrides` in their place.
fn editor_fields(browser: &Browser, overrides: &[(&str, &str)]) -> Vec<(String, String)> {
    let m = Methodology::five_by_five();
    let mut fields = vec![("csrf".to_owned(), browser.csrf.clone()), ("acceptance".to_owned(), "Medium".to_owned())];
    for (n, s) in m.likelihood.iter().enumerate() {
        fields.push((format!("likelihood-{}", n + 1), s.name.clone()));
    }
    for (n, s) in m.impact.iter().enumerate() {
        fields.push((format!("impact-{}", n + 1), s.name.clone()));
    }
    for l in 1..=5u8 {
        for i in 1..=5u8 {
            let level = m.level(m.score(m.rating(l, i).unwrap()).unwrap()).name.clone();
            fields.push((format!("cell-{l}-{i}"), level));
        }
    }
    for (name, value) in overrides {
        match fields.iter_mut().find(|(n, _)| n == name) {
            Some(field) => field.1 = (*value).to_owned(),
            None => fields.push(((*name).to_owned(), (*value).to_owned())),
        }
    }
    fields
}

async fn send(
    app: &TestApp,
    browser: &Browser,
    path: &str,
    fields: &[(String, String)],
) -> (StatusCode, String, String) {
    let fields: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    post(app, browser, path, &fields).await
}

/// The level written in each cell of the first matrix drawn in `html`, in drawing order.
fn cell_levels(html: &str) -> Vec<String> {
    html.split(r#"class="level">"#).skip(1).map(|rest| rest.split('<').next().unwrap().to_owned()).collect()
}

/// The fills of the cells drawn in `html`, in drawing order.
fn fills(html: &str) -> Vec<String> {
    html.split(r#"" fill=""#).skip(1).map(|rest| rest.split('"').next().unwrap().to_owned()).collect()
}

async fn versions(app: &TestApp) -> Vec<i64> {
    let acme = app.operator("acme", None).await;
    app.app.methodologies(&acme).await.unwrap().iter().map(|v| v.version).collect()
}

async fn the_preview_draws_the_posted_matrix_and_changes_nothing(app: TestApp) {
    register(&app).await;
    let cora = app.browser("cora@acme.example").await;
    let fields = editor_fields(&cora, &[("likelihood-5", "Weekly"), ("cell-4-4", "Critical"), ("acceptance", "High")]);
    let (status, _, part) = send(&app, &cora, "/o/acme/risks/methodology/preview", &fields).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!part.contains("<html") && part.contains("<svg"), "the matrix part alone: {part}");
    assert!(part.contains(">Weekly</text>"), "the posted label is drawn");
    let levels = cell_levels(&part);
    assert_eq!(levels.len(), 25);
    assert_eq!(
        (levels[17].as_str(), levels[18].as_str()),
        ("High", "Critical"),
        "the posted level of likelihood 4, impact 4"
    );
    assert!(part.contains(r#"<strong class="acceptance">High</strong>"#), "the posted acceptance threshold");

    // A problem is shown in the part, with no matrix.
    let fields = editor_fields(&cora, &[("cell-2-2", "Low"), ("cell-1-2", "High")]);
    let (status, _, part) = send(&app, &cora, "/o/acme/risks/methodology/preview", &fields).await;
    assert_eq!(status, StatusCode::OK);
    assert!(part.contains("a level must not fall as likelihood or impact rises"), "{part}");
    assert!(!part.contains("<svg width"), "no matrix for a methodology that cannot be");

    assert_eq!(versions(&app).await, vec![1], "a preview sets nothing");
    let (_, html) = page(&app, &cora, "/o/acme/risks/methodology").await;
    assert!(!html.contains("Weekly"), "the page still shows the methodology in force");
}

async fn saving_makes_a_new_version_shown_on_the_page(app: TestApp) {
    register(&app).await;
    let cora = app.browser("cora@acme.example").await;
    let fields = editor_fields(&cora, &[("impact-5", "Catastrophic"), ("cell-3-3", "High")]);
    let (status, location, html) = send(&app, &cora, "/o/acme/risks/methodology", &fields).await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/o/acme/risks/methodology?done=methodology-saved"),
        "{html}"
    );
    assert_eq!(versions(&app).await, vec![1, 2]);
    let (status, html) = page(&app, &cora, &location).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("The risk methodology is saved as a new version"), "the notice");
    assert!(html.contains("Version 2, set by"), "the version in force");
    let in_force = html.split(r#"id="edit""#).next().unwrap();
    assert!(in_force.contains(">Catastrophic</text>"), "the new label is drawn");
    assert_eq!(&cell_levels(in_force)[11..13], ["Medium", "High"], "the new level is drawn");
    assert!(html.contains("Version 1, set by"), "the earlier version is listed");
    // The risk assessed with version 1 keeps it.
    let acme = app.operator("acme", None).await;
    let risk = app.app.risk(&acme, &"R-001".parse().unwrap()).await.unwrap();
    assert_eq!(risk.methodology, 1);
}

async fn a_save_with_an_error_shows_it_beside_its_field(app: TestApp) {
    register(&app).await;
    let cora = app.browser("cora@acme.example").await;
    let fields = editor_fields(&cora, &[("likelihood-3", "  ")]);
    let (status, _, html) = send(&app, &cora, "/o/acme/risks/methodology", &fields).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains(r#"aria-describedby="likelihood-3-error""#), "the field is marked invalid");
    let error = html.split(r#"id="likelihood-3-error">"#).nth(1).unwrap_or_default();
    assert!(error.starts_with("give likelihood 3 a label"), "{}", &error[..error.len().min(80)]);
    assert_eq!(versions(&app).await, vec![1], "nothing saved");
}

async fn the_matrix_uses_the_heat_maps_colours(app: TestApp) {
    register(&app).await;
    let cora = app.browser("cora@acme.example").await;
    let (_, risks) = page(&app, &cora, "/o/acme/risks").await;
    let (_, methodology) = page(&app, &cora, "/o/acme/risks/methodology").await;
    let heat: Vec<String> = fills(&risks).into_iter().take(25).collect();
    let matrix: Vec<String> = fills(&methodology).into_iter().take(25).collect();
    assert_eq!(heat.len(), 25);
    assert_eq!(heat, matrix, "each cell in the same colour");
    assert!(matrix.contains(&"#7b1e1e".to_owned()) && matrix.contains(&"#5cb85c".to_owned()));
}

async fn an_auditor_sees_the_matrix_without_the_editor(app: TestApp) {
    register(&app).await;
    let aud = app.browser("aud@acme.example").await;
    let (status, html) = page(&app, &aud, "/o/acme/risks/methodology").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(cell_levels(&html).len(), 25, "the matrix in force");
    assert!(html.contains("Version 1, set by"));
    let forms: Vec<&str> = html
        .split(r#"<form method="post" action=""#)
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap())
        .filter(|action| *action != "/logout")
        .collect();
    assert!(forms.is_empty() && !html.contains("hx-post"), "no editor: {forms:?}");
    // The editor is absent, and the use case refuses anyway.
    let fields = editor_fields(&aud, &[]);
    for path in ["/o/acme/risks/methodology/preview", "/o/acme/risks/methodology"] {
        let (status, _, _) = send(&app, &aud, path, &fields).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(versions(&app).await, vec![1]);
}

crate::both!(
    the_preview_draws_the_posted_matrix_and_changes_nothing,
    saving_makes_a_new_version_shown_on_the_page,
    a_save_with_an_error_shows_it_beside_its_field,
    the_matrix_uses_the_heat_maps_colours,
    an_auditor_sees_the_matrix_without_the_editor,
);
