//! The members part of the administration page: add a member with a role, change a role, remove a
//! member, each refused with its reason where a rule says no, and drawn only for an administrator.

use reqwest::StatusCode;

use super::{page, post};
use crate::support::TestApp;

/// The role `email` has on the administration page as `html` shows it, if listed.
fn role_of(html: &str, email: &str) -> Option<String> {
    let row = &html[html.find(&format!(r#"<th scope="row">{email}</th>"#))?..];
    let row = &row[..row.find("</tr>").unwrap()];
    let selected = regex::Regex::new(r#"<option value="([a-z_]+)" selected>"#).unwrap();
    match selected.captures(row) {
        Some(c) => Some(c[1].to_owned()),
        None => Some(row.split("<td>").nth(2)?.split("</td>").next()?.to_owned()),
    }
}

async fn an_administrator_adds_a_member_with_a_role(app: TestApp) {
    let ada = app.browser("ada@acme.example").await;
    let fields =
        [("csrf", ada.csrf.as_str()), ("email", "nia@acme.example"), ("role", "control_owner"), ("name", "Nia")];
    let (status, location, _) = post(&app, &ada, "/o/acme/admin/members", &fields).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/o/acme/admin?done=member-added#members"));
    let (_, html) = page(&app, &ada, "/o/acme/admin?done=member-added").await;
    assert_eq!(role_of(&html, "nia@acme.example").as_deref(), Some("control_owner"), "{html}");
    assert!(html.contains("The member is added."));
    let actions: Vec<String> = app.audit_actors("acme").await.into_iter().map(|(_, action)| action).collect();
    assert!(actions.iter().any(|a| a == "member.add"), "the change is in the audit log: {actions:?}");
}

async fn a_bad_email_is_shown_beside_its_field_and_nobody_is_added(app: TestApp) {
    let ada = app.browser("ada@acme.example").await;
    let (_, before) = page(&app, &ada, "/o/acme/admin").await;
    let fields = [("csrf", ada.csrf.as_str()), ("email", "not an address"), ("role", "viewer"), ("name", "<b>x</b>")];
    let (status, _, html) = post(&app, &ada, "/o/acme/admin/members", &fields).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let field = html.find(r#"id="m-email""#).unwrap();
    let error = html.find(r#"<p class="field-error" id="m-email-error">"#).expect("the error is shown");
    assert!(error > field && error < html.find(r#"id="m-name""#).unwrap(), "beside the e-mail field");
    assert!(
        html.contains(r#"value="not an address""#) && html.contains("&#60;b&#62;x&#60;/b&#62;"),
        "the form keeps what was typed, escaped"
    );
    let (_, after) = page(&app, &ada, "/o/acme/admin").await;
    assert_eq!(after.matches(r#"<th scope="row">"#).count(), before.matches(r#"<th scope="row">"#).count());
}

async fn a_role_changes_but_the_last_administrator_stays_one(app: TestApp) {
    let ada = app.browser("ada@acme.example").await;
    let (status, _, _) =
        post(&app, &ada, "/o/acme/admin/members/vic%40acme.example/role", &[("csrf", &ada.csrf), ("role", "auditor")])
            .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, html) = page(&app, &ada, "/o/acme/admin").await;
    assert_eq!(role_of(&html, "vic@acme.example").as_deref(), Some("auditor"));

    let (status, _, html) =
        post(&app, &ada, "/o/acme/admin/members/ada%40acme.example/role", &[("csrf", &ada.csrf), ("role", "viewer")])
            .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(html.contains(r#"<p class="error" role="alert">"#), "the reason is shown");
    assert_eq!(role_of(&html, "ada@acme.example").as_deref(), Some("admin"), "ada is still the administrator");
}

async fn a_member_who_owns_a_control_is_not_removed_and_another_is(app: TestApp) {
    let ada = app.browser("ada@acme.example").await;
    let (status, _, html) =
        post(&app, &ada, "/o/acme/admin/members/olu%40acme.example/remove", &[("csrf", &ada.csrf)]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "olu owns IAM-01");
    assert!(html.contains(r#"<p class="error" role="alert">"#));
    assert!(role_of(&html, "olu@acme.example").is_some(), "olu is still listed");
    let (status, _, _) =
        post(&app, &ada, "/o/acme/admin/members/vic%40acme.example/remove", &[("csrf", &ada.csrf)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, html) = page(&app, &ada, "/o/acme/admin").await;
    assert!(role_of(&html, "vic@acme.example").is_none(), "vic is removed: {html}");
    let vic = app.browser("vic@acme.example").await;
    assert_eq!(page(&app, &vic, "/o/acme").await.0, StatusCode::NOT_FOUND, "and finds acme no more");
}

async fn only_an_administrator_is_drawn_the_member_forms(app: TestApp) {
    let cora = app.browser("cora@acme.example").await;
    let (status, html) = page(&app, &cora, "/o/acme/admin").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(role_of(&html, "vic@acme.example").as_deref(), Some("viewer"), "the roles are shown");
    assert!(!html.contains("/admin/members"), "a compliance manager is drawn no member form");
    let (status, _, _) =
        post(&app, &cora, "/o/acme/admin/members/vic%40acme.example/remove", &[("csrf", &cora.csrf)]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let ada = app.browser("ada@acme.example").await;
    assert!(role_of(&page(&app, &ada, "/o/acme/admin").await.1, "vic@acme.example").is_some(), "nothing changed");
}

crate::both!(
    an_administrator_adds_a_member_with_a_role,
    a_bad_email_is_shown_beside_its_field_and_nobody_is_added,
    a_role_changes_but_the_last_administrator_stays_one,
    a_member_who_owns_a_control_is_not_removed_and_another_is,
    only_an_administrator_is_drawn_the_member_forms,
);
