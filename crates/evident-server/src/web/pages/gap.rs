//! The gap delta.

use std::collections::BTreeMap;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxumState};
use axum::routing::get;
use evident_app::{AppError, Code, Principal};
use evident_core::{FrameworkId, RequirementRef};
use serde::Deserialize;

use super::{AppState, Frame, Pairs, enter, notice};
use crate::State;
use crate::web::{PageResult, Viewer, html, see};

/// The routes of these pages.
pub(in crate::web) fn routes() -> Router<State> {
    Router::new().route("/o/{org}/gap", get(gap).post(accept_gap))
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct GapQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    done: Option<String>,
}

struct GapRow {
    reference: String,
    title: String,
    status: String,
    suggestions: Vec<(String, String, String)>,
}

#[derive(Template)]
#[template(path = "gap.html")]
struct GapPage {
    frame: Frame,
    notice: Option<&'static str>,
    frameworks: Vec<String>,
    from: String,
    to: String,
    computed: bool,
    covered: usize,
    uncovered: Vec<GapRow>,
    unreached: Vec<(String, Vec<(String, String)>)>,
    error: Option<String>,
}

/// `GET /o/{org}/gap?from=&to=`: what the target asks that the organisation's work for the source
/// does not yet answer, with the crosswalk's suggestions and the requirements no crosswalk reaches.
async fn gap(
    AxumState(state): AppState,
    Path(org): Path<String>,
    Query(q): Query<GapQuery>,
    viewer: Viewer,
) -> PageResult {
    let (principal, frame) = enter(&state, &viewer, &org, "gap").await?;
    gap_page(&state, principal, frame, q, None).await
}

async fn gap_page(state: &State, principal: Principal, frame: Frame, q: GapQuery, error: Option<String>) -> PageResult {
    let frameworks: Vec<String> =
        state.app.frameworks(Some(&principal)).await?.into_iter().map(|f| f.id.to_string()).collect();
    let mut page = GapPage {
        notice: notice(q.done.as_deref()),
        frameworks,
        from: q.from.clone(),
        to: q.to.clone(),
        computed: false,
        covered: 0,
        uncovered: Vec::new(),
        unreached: Vec::new(),
        error,
        frame,
    };
    if q.from.is_empty() || q.to.is_empty() {
        return html(&page);
    }
    let from = FrameworkId::parse(&q.from).map_err(AppError::from)?;
    let to = FrameworkId::parse(&q.to).map_err(AppError::from)?;
    let gap = match state.app.gap(&principal, &from, &to).await {
        Ok(gap) => gap,
        Err(e) if matches!(e.code, Code::CrosswalkNotFound | Code::FrameworkNotAdopted | Code::InvalidInput) => {
            page.error = Some(e.message);
            return html(&page);
        }
        Err(e) => return Err(e.into()),
    };
    let target = state.app.framework(Some(&principal), &to).await?;
    let titles: BTreeMap<&RequirementRef, (&str, Option<&RequirementRef>)> =
        target.requirements().iter().map(|r| (&r.reference, (r.title.as_str(), r.parent.as_ref()))).collect();
    // The requirements no crosswalk reaches, under the top-level clause or group they belong to.
    let mut groups: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for item in &gap.unreached {
        let mut top = &item.reference;
        while let Some((_, Some(parent))) = titles.get(top) {
            top = parent;
        }
        let heading = match titles.get(top) {
            Some((title, _)) if top != &item.reference => format!("{top} {title}"),
            _ => "Other".to_owned(),
        };
        groups.entry(heading).or_default().push((item.reference.to_string(), item.title.clone()));
    }
    page.computed = true;
    page.covered = gap.covered;
    page.uncovered = gap
        .uncovered
        .iter()
        .map(|item| GapRow {
            reference: item.reference.to_string(),
            title: item.title.clone(),
            status: item.status.to_string(),
            suggestions: item
                .suggestions
                .iter()
                .map(|s| (s.control.to_string(), s.path.clone(), s.rationale.clone()))
                .collect(),
        })
        .collect();
    page.unreached = groups.into_iter().collect();
    html(&page)
}

/// `POST /o/{org}/gap`: accepts the suggestions of the requirements ticked (or of all).
async fn accept_gap(AxumState(state): AppState, Path(org): Path<String>, viewer: Viewer, body: Bytes) -> PageResult {
    let form = Pairs::parse(&body);
    viewer.check_csrf(form.one("csrf"))?;
    let (principal, frame) = enter(&state, &viewer, &org, "gap").await?;
    let (from_text, to_text) = (form.one("from").to_owned(), form.one("to").to_owned());
    let from = FrameworkId::parse(&from_text).map_err(AppError::from)?;
    let to = FrameworkId::parse(&to_text).map_err(AppError::from)?;
    let refs =
        form.all("ref").map(|r| RequirementRef::parse(r).map_err(AppError::from)).collect::<Result<Vec<_>, _>>()?;
    let all = form.one("all") == "1";
    let query = GapQuery { from: from_text.clone(), to: to_text.clone(), done: None };
    if !all && refs.is_empty() {
        return gap_page(
            &state,
            principal,
            frame,
            query,
            Some("Tick the requirements whose suggestions to accept.".into()),
        )
        .await;
    }
    let only = if all { None } else { Some(refs.as_slice()) };
    match state.app.accept_gap(&principal, &from, &to, only).await {
        Ok(_) => {
            let query = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("from", &from_text)
                .append_pair("to", &to_text)
                .append_pair("done", "accepted")
                .finish();
            Ok(see(&format!("/o/{org}/gap?{query}")))
        }
        Err(e) if matches!(e.code, Code::NothingToChange | Code::InvalidInput) => {
            gap_page(&state, principal, frame, query, Some(e.message)).await
        }
        Err(e) => Err(e.into()),
    }
}
