//! Frameworks.

use std::collections::BTreeMap;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxumState};
use axum::routing::get;
use chrono::NaiveDate;
use evident_app::{AppError, Code, Principal};
use evident_core::{FrameworkId, RequirementRef};

use super::{AppState, Frame, NoticeQuery, Pairs, enter, notice, percent};
use crate::State;
use crate::web::{PageResult, Viewer, html, see};

/// The routes of these pages.
pub(in crate::web) fn routes() -> Router<State> {
    Router::new()
        .route("/o/{org}/frameworks", get(frameworks).post(adopt))
        .route("/o/{org}/frameworks/{id}", get(framework))
}

struct FrameworkRow {
    id: String,
    title: String,
    source: String,
    requirements: usize,
    assessable: usize,
    adopted: bool,
}

#[derive(Template)]
#[template(path = "frameworks.html")]
struct FrameworksPage {
    frame: Frame,
    notice: Option<&'static str>,
    frameworks: Vec<FrameworkRow>,
}

/// `GET /o/{org}/frameworks`: the library, built-in and imported, and what is adopted.
async fn frameworks(
    AxumState(state): AppState,
    Path(org): Path<String>,
    Query(q): Query<NoticeQuery>,
    viewer: Viewer,
) -> PageResult {
    let (principal, frame) = enter(&state, &viewer, &org, "frameworks").await?;
    let frameworks = state
        .app
        .frameworks(Some(&principal))
        .await?
        .into_iter()
        .map(|f| FrameworkRow {
            id: f.id.to_string(),
            title: f.title,
            source: format!("{:?}", f.source).to_lowercase(),
            requirements: f.requirements,
            assessable: f.assessable,
            adopted: f.adopted.unwrap_or(false),
        })
        .collect();
    html(&FrameworksPage { frame, notice: notice(q.done.as_deref()), frameworks })
}

struct RequirementRow {
    reference: String,
    title: String,
    depth: usize,
    assessable: bool,
    status: String,
    why: String,
    controls: Vec<String>,
}

#[derive(Template)]
#[template(path = "framework.html")]
struct FrameworkPage {
    frame: Frame,
    id: String,
    title: String,
    description: String,
    adopted: bool,
    score: Option<String>,
    categories: Vec<(String, String)>,
    rows: Vec<RequirementRow>,
    error: Option<String>,
}

/// `GET /o/{org}/frameworks/{id}`: the requirement tree, each requirement with its status and why.
async fn framework(AxumState(state): AppState, Path((org, id)): Path<(String, String)>, viewer: Viewer) -> PageResult {
    let (principal, frame) = enter(&state, &viewer, &org, "frameworks").await?;
    framework_page(&state, principal, frame, &id, None).await
}

async fn framework_page(
    state: &State,
    principal: Principal,
    frame: Frame,
    id: &str,
    error: Option<String>,
) -> PageResult {
    let id = FrameworkId::parse(id).map_err(|_| AppError::not_found(Code::FrameworkNotFound, "framework", id))?;
    let framework = state.app.framework(Some(&principal), &id).await?;
    let adopted = state.app.frameworks(Some(&principal)).await?.iter().any(|f| f.id == id && f.adopted == Some(true));
    let (statuses, score) = if adopted {
        let readiness = state.app.readiness(&principal, Some(&id)).await?;
        match readiness.frameworks.into_iter().next() {
            Some(f) => (
                f.requirements.into_iter().map(|r| (r.reference.clone(), r)).collect::<BTreeMap<_, _>>(),
                Some(percent(f.score.percent)),
            ),
            None => (BTreeMap::new(), None),
        }
    } else {
        (BTreeMap::new(), None)
    };
    let parents: BTreeMap<&RequirementRef, Option<&RequirementRef>> =
        framework.requirements().iter().map(|r| (&r.reference, r.parent.as_ref())).collect();
    let depth = |r: &RequirementRef| {
        let mut d = 0;
        let mut parent = parents.get(r).copied().flatten();
        while let Some(p) = parent {
            d += 1;
            if d > 16 {
                break;
            }
            parent = parents.get(p).copied().flatten();
        }
        d
    };
    let groups: std::collections::HashSet<&RequirementRef> =
        framework.requirements().iter().filter_map(|r| r.parent.as_ref()).collect();
    let rows = framework
        .requirements()
        .iter()
        .map(|r| {
            let status = statuses.get(&r.reference);
            RequirementRow {
                reference: r.label.clone().unwrap_or_else(|| r.reference.to_string()),
                title: r.title.clone(),
                depth: depth(&r.reference).min(4),
                assessable: !groups.contains(&r.reference),
                status: status.map(|s| s.status.to_string()).unwrap_or_default(),
                why: status.map(|s| s.reason.to_string()).unwrap_or_default(),
                controls: status
                    .map(|s| s.controls.iter().map(|c| c.control.to_string()).collect())
                    .unwrap_or_default(),
            }
        })
        .collect();
    html(&FrameworkPage {
        frame,
        id: id.to_string(),
        title: framework.info().title.clone(),
        description: framework.info().description.clone(),
        adopted,
        score,
        categories: framework.info().categories.iter().map(|c| (c.id.clone(), c.title.clone())).collect(),
        rows,
        error,
    })
}

/// `POST /o/{org}/frameworks`: adopts a framework with the categories ticked.
async fn adopt(AxumState(state): AppState, Path(org): Path<String>, viewer: Viewer, body: Bytes) -> PageResult {
    let form = Pairs::parse(&body);
    viewer.check_csrf(form.one("csrf"))?;
    let (principal, frame) = enter(&state, &viewer, &org, "frameworks").await?;
    let id = form.one("framework").to_owned();
    let framework = FrameworkId::parse(&id).map_err(AppError::from)?;
    let categories: Vec<String> = form.all("category").map(str::to_owned).collect();
    let target = match form.one("target_date") {
        "" => None,
        d => Some(
            NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map_err(|_| AppError::invalid("the target date is a date such as 2027-06-30"))?,
        ),
    };
    match state.app.adopt(&principal, &framework, &categories, form.one("scope").to_owned(), target).await {
        Ok(_) => Ok(see(&format!("/o/{org}/frameworks?done=adopted"))),
        Err(e) if e.code == Code::InvalidInput || e.code == Code::AlreadyExists => {
            framework_page(&state, principal, frame, &id, Some(e.message)).await
        }
        Err(e) => Err(e.into()),
    }
}
