//! The SOC 2 Type 2 window: each tested control's expected occurrences, those evidenced, the
//! missing periods, the population and its sample, the exceptions recorded, and the exports.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State as AxumState};
use axum::routing::get;
use chrono::{Months, NaiveDate};
use evident_app::type2::Sampling;
use evident_app::{AppError, Code};
use evident_core::FrameworkId;
use evident_core::type2::Type2Analysis;
use serde::Deserialize;

use super::{AppState, Frame, date, enter};
use crate::State;
use crate::web::{PageResult, Viewer, html};

/// The routes of these pages.
pub(in crate::web) fn routes() -> Router<State> {
    Router::new().route("/o/{org}/type2", get(type2))
}

/// The sampling table presets a user may choose, with how the page names them.
const PRESETS: [(&str, &str); 3] = [
    ("frequency", "by frequency"),
    ("frequency-high", "by frequency, higher reliance"),
    ("population", "by population size"),
];

#[derive(Debug, Default, Deserialize)]
struct WindowQuery {
    #[serde(default)]
    framework: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    sampling: String,
    #[serde(default)]
    seed: String,
}

/// The form as the page shows it back.
struct Chosen {
    framework: String,
    from: String,
    to: String,
    sampling: String,
    seed: String,
}

struct ControlRow {
    code: String,
    frequency: String,
    expected: usize,
    evidenced: usize,
    missing: Vec<String>,
    population: usize,
    sample_size: usize,
    /// Each sampled occurrence: its position, period and whether evidence covers it.
    sample: Vec<(usize, String, bool)>,
}

struct RecordedRow {
    id: String,
    framework: String,
    window: String,
    table: String,
    seed: u64,
    recorded: String,
    items: usize,
    exceptions: Vec<(String, String, String)>,
}

#[derive(Template)]
#[template(path = "type2.html")]
struct Type2Page {
    frame: Frame,
    frameworks: Vec<String>,
    presets: Vec<(&'static str, &'static str)>,
    chosen: Chosen,
    error: Option<String>,
    /// The analysis: its seed, and the controls tested.
    seed: Option<u64>,
    rows: Vec<ControlRow>,
    /// The query string of the exports (the same window, table and seed).
    export_query: String,
    recorded: Vec<RecordedRow>,
}

/// `GET /o/{org}/type2?framework=&from=&to=&sampling=&seed=`: the window analysis (by default the
/// last six months of SOC 2, or of the first framework adopted) and the samples recorded.
async fn type2(
    AxumState(state): AppState,
    Path(org): Path<String>,
    Query(q): Query<WindowQuery>,
    viewer: Viewer,
) -> PageResult {
    let (principal, frame) = enter(&state, &viewer, &org, "evidence").await?;
    let frameworks: Vec<String> = state
        .app
        .frameworks(Some(&principal))
        .await?
        .into_iter()
        .filter(|f| f.adopted == Some(true))
        .map(|f| f.id.to_string())
        .collect();
    let today = state.app.now().date_naive();
    let framework = match q.framework.trim() {
        "" => frameworks.iter().find(|f| f.starts_with("soc2")).or(frameworks.first()).cloned().unwrap_or_default(),
        chosen => chosen.to_owned(),
    };
    let to = or_default(&q.to, today);
    // Six months, the usual first Type 2 window, ending on the last day.
    let six_months = to.as_ref().ok().and_then(|to| to.checked_sub_months(Months::new(6))).and_then(|d| d.succ_opt());
    let from = or_default(&q.from, six_months);
    let sampling = if q.sampling.is_empty() { PRESETS[0].0.to_owned() } else { q.sampling.clone() };
    let chosen = Chosen {
        framework: framework.clone(),
        from: from.as_ref().map(|d| date(*d)).unwrap_or_else(|_| q.from.clone()),
        to: to.as_ref().map(|d| date(*d)).unwrap_or_else(|_| q.to.clone()),
        sampling: sampling.clone(),
        seed: q.seed.clone(),
    };
    let analysis: Result<Option<Type2Analysis>, AppError> = async {
        if framework.is_empty() {
            return Ok(None);
        }
        let framework = FrameworkId::parse(&framework).map_err(AppError::invalid_from)?;
        let seed = match q.seed.trim() {
            "" => None,
            seed => Some(
                seed.parse::<u64>()
                    .map_err(|_| AppError::invalid(format!("a seed is a whole number, not {seed:?}")))?,
            ),
        };
        let analysis =
            state.app.type2(&principal, &framework, from?, to?, Sampling::Preset(sampling.clone()), seed).await?;
        Ok(Some(analysis))
    }
    .await;
    let (analysis, error) = match analysis {
        Ok(analysis) => (analysis, None),
        Err(e) if [Code::InvalidInput, Code::FrameworkNotFound].contains(&e.code) => (None, Some(e.message)),
        Err(e) => return Err(e.into()),
    };
    let export_query = analysis
        .as_ref()
        .map(|a| {
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("framework", &chosen.framework)
                .append_pair("from", &date(a.window.from()))
                .append_pair("to", &date(a.window.to()))
                .append_pair("sampling", &a.table)
                .append_pair("seed", &a.seed.to_string())
                .finish()
        })
        .unwrap_or_default();
    let rows = analysis.as_ref().map(|a| a.controls.iter().map(control_row).collect()).unwrap_or_default();
    let recorded = recorded_rows(&state, &principal).await?;
    html(&Type2Page {
        frame,
        frameworks,
        presets: PRESETS.to_vec(),
        chosen,
        error,
        seed: analysis.as_ref().map(|a| a.seed),
        rows,
        export_query,
        recorded,
    })
}

/// A date field's day, `default` when it is empty.
fn or_default(field: &str, default: impl Into<Option<NaiveDate>>) -> Result<NaiveDate, AppError> {
    match field.trim() {
        "" => default.into().ok_or_else(|| AppError::invalid("the window needs a first and a last day")),
        text => NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map_err(|_| AppError::invalid(format!("a day is written YYYY-MM-DD, not {text:?}"))),
    }
}

fn control_row(c: &evident_core::type2::ControlWindow) -> ControlRow {
    ControlRow {
        code: c.code.to_string(),
        frequency: c.frequency.to_string(),
        expected: c.expected,
        evidenced: c.evidenced,
        missing: c.missing_periods.iter().map(|m| m.period.to_string()).collect(),
        population: c.population,
        sample_size: c.sample_size,
        sample: c.sample.iter().map(|s| (s.position, s.period.to_string(), s.evidenced)).collect(),
    }
}

/// The samples recorded, newest first, with their exceptions named by control code.
async fn recorded_rows(state: &State, principal: &evident_app::Principal) -> PageResult<Vec<RecordedRow>> {
    let samples = state.app.samples(principal).await?;
    if samples.is_empty() {
        return Ok(Vec::new());
    }
    let controls = state.app.controls_shared(principal, true).await?;
    let code = |id: &evident_core::ControlId| {
        controls
            .iter()
            .find(|c| &c.control.id == id)
            .map(|c| c.control.code.to_string())
            .unwrap_or_else(|| id.to_string())
    };
    Ok(samples
        .iter()
        .rev()
        .map(|s| RecordedRow {
            id: s.id.to_string(),
            framework: s.sample.framework.to_string(),
            window: s.sample.window.to_string(),
            table: s.sample.table.clone(),
            seed: s.sample.seed,
            recorded: format!("{} by {}", date(s.recorded_at.date_naive()), s.recorded_by),
            items: s.sample.items.len(),
            exceptions: s
                .exceptions
                .iter()
                .map(|e| (code(&e.control), e.occurrence.to_string(), e.note.clone()))
                .collect(),
        })
        .collect())
}
