//! The web pages as a browser gets them: sessions, forms and their CSRF tokens, escaping, the
//! security headers, what each role is shown, and snapshots of the main pages.

mod assets;
mod imports;
mod members;
mod methodology;
mod risks;
mod soa;
mod type2;

use reqwest::{Method, StatusCode};

use crate::support::{Browser, PASSWORD, TestApp};

/// A page's HTML as `browser` gets it, with its status.
pub(crate) async fn page(app: &TestApp, browser: &Browser, path: &str) -> (StatusCode, String) {
    let response = app.as_browser(browser, Method::GET, path).send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

/// Posts a form as `browser`, with the session's CSRF token in its `csrf` field unless `csrf` says
/// otherwise.
pub(crate) async fn post(
    app: &TestApp,
    browser: &Browser,
    path: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String, String) {
    let response = app
        .request(Method::POST, path)
        .header("cookie", format!("evident_session={}", browser.cookie))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(fields))
        .send()
        .await
        .unwrap();
    let location = response.headers().get("location").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (response.status(), location, response.text().await.unwrap())
}

/// `fields` as a form body would carry them.
pub(crate) fn form_body(fields: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish()
}

/// The page with what changes from run to run (tokens, dates, hashes) replaced.
pub(crate) fn redacted(html: &str) -> String {
    let mut out = html.to_owned();
    for (pattern, with) in [
        (r#"name="csrf" value="[^"]+""#, r#"name="csrf" value="[csrf]""#),
        (r"\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2})?", "[date]"),
        (r"\b[0-9a-f]{12,64}\b", "[hash]"),
    ] {
        out = regex::Regex::new(pattern).unwrap().replace_all(&out, with).into_owned();
    }
    out
}

async fn a_page_without_a_session_sends_the_browser_to_sign_in(app: TestApp) {
    let response = app.request(Method::GET, "/o/acme/controls?status=implemented").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/login?next=%2Fo%2Facme%2Fcontrols%3Fstatus%3Dimplemented");
    let form = app.request(Method::GET, "/login?next=/o/acme").send().await.unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    let text = form.text().await.unwrap();
    assert!(text.contains(r#"<label for="email">E-mail</label>"#) && text.contains(r#"name="next" value="/o/acme""#));
}

async fn the_sign_in_form_works_only_with_its_own_token_and_never_sends_elsewhere(app: TestApp) {
    // A form posted without the cookie the form page set (another site's form) signs nobody in.
    let forged = app
        .request(Method::POST, "/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&[("email", "ada@acme.example"), ("password", PASSWORD), ("token", "guess"), ("next", "/")]))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::BAD_REQUEST);
    assert!(forged.headers().get("set-cookie").unwrap().to_str().unwrap().starts_with("evident_login="));

    let form = app.request(Method::GET, "/login").send().await.unwrap();
    let cookie = form.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let token = cookie.strip_prefix("evident_login=").unwrap().to_owned();
    let sign_in = |password: &'static str, next: &'static str| {
        app.request(Method::POST, "/login")
            .header("cookie", cookie.clone())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(&[
                ("email", "ada@acme.example"),
                ("password", password),
                ("token", token.as_str()),
                ("next", next),
            ]))
            .send()
    };
    let wrong = sign_in("not the password", "/").await.unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.text().await.unwrap().contains("The e-mail or the password is not right."));
    let signed_in = sign_in(PASSWORD, "//evil.example/steal").await.unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(signed_in.headers()["location"], "/", "only a path of ours is a place to go back to");
    let cookies: Vec<_> = signed_in.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap()).collect();
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("evident_session=") && c.contains("HttpOnly") && c.contains("SameSite=Lax"))
    );
}

async fn every_page_is_sent_with_a_strict_content_security_policy(app: TestApp) {
    let ada = app.browser("ada@acme.example").await;
    for path in ["/login", "/o/acme", "/o/acme/controls", "/o/acme/no-such-page-here"] {
        let response = app.as_browser(&ada, Method::GET, path).send().await.unwrap();
        let headers = response.headers();
        let csp = headers.get("content-security-policy").map(|v| v.to_str().unwrap()).unwrap_or_default();
        if path.contains("no-such") {
            continue; // not a page: the API's 404
        }
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "same-origin", "{path}");
        let html = response.text().await.unwrap();
        assert!(!html.contains("<script>") && !html.contains(" style="), "{path}: no inline script or style");
    }
    let asset = app.request(Method::GET, "/assets/htmx.min.js").send().await.unwrap();
    assert_eq!(asset.headers()["content-type"], "text/javascript; charset=utf-8");
    assert!(asset.text().await.unwrap().contains("htmx"));
}

async fn a_form_without_the_sessions_csrf_token_changes_nothing(app: TestApp) {
    let ada = app.browser("ada@acme.example").await;
    let before = app.app.controls(&app.operator("acme", None).await, false).await.unwrap().len();
    let (status, _, body) = post(&app, &ada, "/o/acme/controls/baseline", &[("csrf", "not-the-token")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("csrf_token_invalid"), "the page names the code");
    let after = app.app.controls(&app.operator("acme", None).await, false).await.unwrap().len();
    assert_eq!(before, after, "nothing was adopted");

    let (status, location, _) = post(&app, &ada, "/o/acme/controls/baseline", &[("csrf", &ada.csrf)]).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/o/acme/controls?done=baseline"));
    let adopted = app.app.controls(&app.operator("acme", None).await, false).await.unwrap().len();
    assert!(adopted > before + 20, "the baseline came: {before} → {adopted}");
}

async fn markup_a_user_typed_is_shown_as_text(app: TestApp) {
    let ada = app.browser("ada@acme.example").await;
    let title = "<script>alert(1)</script><img src=x onerror=alert(2)>";
    let (status, location, _) = post(
        &app,
        &ada,
        "/o/acme/controls",
        &[("csrf", &ada.csrf), ("code", "XSS-1"), ("title", title), ("frequency", "annual"), ("status", "not_started")],
    )
    .await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/o/acme/controls/XSS-1?done=created"));
    for path in ["/o/acme/controls/XSS-1", "/o/acme/controls?q=XSS"] {
        let (_, html) = page(&app, &ada, path).await;
        // askama writes `<` as `&#60;` and `>` as `&#62;`: the browser shows the characters, runs nothing.
        assert!(
            html.contains("&#60;script&#62;alert(1)&#60;/script&#62;&#60;img src=x onerror=alert(2)&#62;"),
            "{path}"
        );
        assert!(!html.contains("<script>alert") && !html.contains("<img src=x"), "{path}");
    }
}

async fn each_field_error_is_shown_beside_its_field(app: TestApp) {
    let cora = app.browser("cora@acme.example").await;
    let (status, _, html) = post(
        &app,
        &cora,
        "/o/acme/controls/IAM-02",
        &[
            ("csrf", &cora.csrf),
            ("revision", "1"),
            ("title", ""),
            ("owner", "nobody"),
            ("frequency", "hourly"),
            ("status", "implemented"),
            ("max_age", "9999"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    for (field, message) in [
        ("e-title", "a control needs a title"),
        ("e-owner", "is not an e-mail address"),
        ("e-max-age", "a number of days, 1 to 1830"),
    ] {
        assert!(html.contains(&format!(r#"aria-describedby="{field}-error""#)), "{field} is marked invalid");
        let error = html.split(&format!(r#"id="{field}-error">"#)).nth(1).unwrap_or_default();
        assert!(error.starts_with(message) || error.contains(message), "{field}: {message}");
    }
    assert!(html.contains("choose how often the control operates"));
    let control = app.app.control(&app.operator("acme", None).await, &"IAM-02".parse().unwrap()).await.unwrap();
    assert_eq!((control.control.title.as_str(), control.control.revision), ("Control IAM-02", 1), "nothing saved");
}

async fn the_later_of_two_edits_is_refused_with_both_versions(app: TestApp) {
    let cora = app.browser("cora@acme.example").await;
    let ada = app.browser("ada@acme.example").await;
    let edit = |browser: &Browser, title: &'static str| {
        let csrf = browser.csrf.clone();
        let browser = browser.clone();
        let app = &app;
        async move {
            post(
                app,
                &browser,
                "/o/acme/controls/OPS-01",
                &[
                    ("csrf", &csrf),
                    ("revision", "1"),
                    ("title", title),
                    ("frequency", "monthly"),
                    ("status", "in_progress"),
                ],
            )
            .await
        }
    };
    let (first, _, _) = edit(&cora, "Cora's title").await;
    assert_eq!(first, StatusCode::SEE_OTHER);
    let (second, _, html) = edit(&ada, "Ada's title").await;
    assert_eq!(second, StatusCode::CONFLICT);
    assert!(html.contains("Someone else saved a change to this control while you were editing it"));
    let compare = html.split(r#"<table class="compare">"#).nth(1).unwrap_or_default();
    let compare = compare.split("</table>").next().unwrap_or_default();
    assert!(
        compare.contains("<td>Cora&#39;s title</td><td>Ada&#39;s title</td>"),
        "both versions, side by side: {compare}"
    );
    assert!(html.contains(r#"name="revision" value="2""#), "saving again is a deliberate overwrite of what was seen");
    let control = app.app.control(&app.operator("acme", None).await, &"OPS-01".parse().unwrap()).await.unwrap();
    assert_eq!(control.control.title, "Cora's title", "the first edit stands");
}

async fn an_auditor_is_shown_no_control_that_edits(app: TestApp) {
    let aud = app.browser("aud@acme.example").await;
    for path in [
        "/o/acme",
        "/o/acme/frameworks",
        "/o/acme/frameworks/iso27001%3A2022",
        "/o/acme/controls",
        "/o/acme/controls/IAM-01",
        "/o/acme/soa",
        "/o/acme/risks",
        "/o/acme/evidence",
        "/o/acme/gap?from=soc2%3A2017&to=iso27001%3A2022",
    ] {
        let (status, html) = page(&app, &aud, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let edits: Vec<&str> = html
            .split(r#"<form method="post" action=""#)
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap())
            .filter(|action| *action != "/logout")
            .collect();
        assert!(edits.is_empty(), "{path}: {edits:?}");
    }
    // The form is absent, and the use case refuses anyway.
    let (status, _, _) = post(&app, &aud, "/o/acme/controls/baseline", &[("csrf", &aud.csrf)]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn another_organisations_pages_answer_404(app: TestApp) {
    let gus = app.browser("gus@globex.example").await;
    for path in ["/o/acme", "/o/acme/controls/IAM-01", "/o/no-such-org"] {
        let (status, html) = page(&app, &gus, path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(html.contains("organisation_not_found"), "{path}");
    }
}

async fn the_main_pages_render_as_before(app: TestApp) {
    let ada = app.browser("ada@acme.example").await;
    for (name, path) in [
        ("dashboard", "/o/acme"),
        ("controls", "/o/acme/controls"),
        ("control", "/o/acme/controls/IAM-01"),
        ("framework", "/o/acme/frameworks/soc2%3A2017"),
        ("gap", "/o/acme/gap"),
    ] {
        let (status, html) = page(&app, &ada, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        insta::assert_snapshot!(format!("web_{name}"), redacted(&html));
    }
}

crate::both!(
    a_page_without_a_session_sends_the_browser_to_sign_in,
    the_sign_in_form_works_only_with_its_own_token_and_never_sends_elsewhere,
    every_page_is_sent_with_a_strict_content_security_policy,
    a_form_without_the_sessions_csrf_token_changes_nothing,
    markup_a_user_typed_is_shown_as_text,
    each_field_error_is_shown_beside_its_field,
    the_later_of_two_edits_is_refused_with_both_versions,
    an_auditor_is_shown_no_control_that_edits,
    another_organisations_pages_answer_404,
    the_main_pages_render_as_before,
);
