//! Each page: read through the use cases as the signed-in member, shape what the template shows.
//! Each form: check its CSRF token, call one use case, redirect to the page that shows the result.

pub(super) mod admin;
pub(super) mod assets;
pub(super) mod audit;
pub(super) mod controls;
pub(super) mod dashboard;
pub(super) mod evidence;
pub(super) mod frameworks;
pub(super) mod gap;
pub(super) mod imports;
pub(super) mod methodology;
pub(super) mod risks;
pub(super) mod session;
pub(super) mod soa;
pub(super) mod type2;

use axum::extract::State as AxumState;
use chrono::NaiveDate;
use evident_app::Principal;
use serde::Deserialize;

use super::{Can, PageResult, Viewer};
use crate::State;

type AppState = AxumState<State>;

/// What every page of an organisation shows around its content: who, where, and what they may do.
pub(crate) struct Frame {
    pub(crate) org: String,
    pub(crate) org_name: String,
    pub(crate) email: String,
    pub(crate) role: String,
    pub(crate) csrf: String,
    /// The navigation entry of this page.
    pub(crate) nav: &'static str,
    pub(crate) can: Can,
    /// The viewer's other organisations, to switch to.
    pub(crate) others: Vec<(String, String)>,
}

/// The viewer in `org`, with the frame of its pages.
async fn enter(state: &State, viewer: &Viewer, org: &str, nav: &'static str) -> PageResult<(Principal, Frame)> {
    let principal = viewer.in_org(state, org).await?;
    let others = state
        .app
        .memberships(&viewer.user)
        .await?
        .into_iter()
        .filter(|m| m.organisation.slug != principal.org.slug)
        .map(|m| (m.organisation.slug.to_string(), m.organisation.name))
        .collect();
    let frame = Frame {
        org: principal.org.slug.to_string(),
        org_name: principal.org.name.clone(),
        email: viewer.user.email.to_string(),
        role: principal.role().to_string(),
        csrf: viewer.csrf(),
        nav,
        can: Can::of(&principal),
        others,
    };
    Ok((principal, frame))
}

/// A short note shown at the top of a page after a change: chosen from a fixed list by its key,
/// so a link cannot put words of its own on our page.
fn notice(key: Option<&str>) -> Option<&'static str> {
    Some(match key? {
        "adopted" => "The framework is adopted: its requirements now count in readiness.",
        "baseline" => "The baseline controls are adopted, with their mappings.",
        "created" => "The control is created.",
        "saved" => "Your changes are saved.",
        "mapped" => "The mapping is saved.",
        "unmapped" => "The mapping is removed.",
        "retired" => "The control is retired; it stays on record.",
        "accepted" => "The suggestions are accepted as mappings.",
        "approved" => "The Statement of Applicability is approved as a new version.",
        "uploaded" => "The evidence is stored and linked.",
        "risk-accepted" => "The risk acceptance is recorded.",
        "risk-created" => "The risk is created and assessed with the methodology in force.",
        "risk-saved" => "Your changes to the risk are saved.",
        "revoked" => "The token is revoked.",
        "password" => "Your password is changed; sign in again.",
        "member-added" => "The member is added. Without an account yet, they sign in once an operator creates one.",
        "member-changed" => "The member's role is changed.",
        "member-removed" => "The member is removed; their account and other memberships stay.",
        "asset-created" => "The asset is added to the register.",
        "asset-saved" => "The asset is saved.",
        "methodology-saved" => "The risk methodology is saved as a new version; assessed risks keep theirs.",
        "soa-saved" => "The decision is saved in the draft Statement of Applicability.",
        "imported" => "The file is imported: every row landed.",
        _ => return None,
    })
}

#[derive(Debug, Deserialize)]
pub(crate) struct NoticeQuery {
    done: Option<String>,
}

fn date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn percent(p: f64) -> String {
    format!("{p:.1}")
}

/// A form's fields as sent, repeated names kept (checkboxes).
pub(crate) struct Pairs(Vec<(String, String)>);

impl Pairs {
    pub(crate) fn parse(body: &[u8]) -> Pairs {
        Pairs(url::form_urlencoded::parse(body).into_owned().collect())
    }

    /// The first value of `name`, or "".
    pub(crate) fn one(&self, name: &str) -> &str {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).unwrap_or("")
    }

    pub(crate) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0.iter().filter(move |(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct CsrfOnly {
    csrf: String,
}
