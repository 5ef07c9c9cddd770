//! The risk methodology: the matrix in force, and for those who may set it an editor whose
//! preview the server draws as the form changes (htmx), writing nothing until it is saved.

use std::collections::BTreeMap;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxumState};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use evident_app::{Code, Principal};
use evident_core::Permission;
use evident_core::risk::{Methodology, MethodologyDraft, MethodologyVersion, RiskError, ScaleLevel, heat_map};

use super::{AppState, Frame, NoticeQuery, Pairs, enter, notice};
use crate::State;
use crate::web::{PageResult, Viewer, html, see, svg};

/// The routes of these pages.
pub(in crate::web) fn routes() -> Router<State> {
    Router::new()
        .route("/o/{org}/risks/methodology", get(methodology).post(save))
        .route("/o/{org}/risks/methodology/preview", post(preview))
}

/// Each problem of the editor under its field's name: `likelihood-N`, `impact-N`, `matrix`,
/// `acceptance`, or `form`.
type FieldErrors = BTreeMap<String, String>;

struct MatrixCell {
    x: u32,
    y: u32,
    fill: String,
    level: String,
    /// What a screen reader says of the cell.
    label: String,
}

struct LegendEntry {
    name: String,
    colour: String,
    min_score: u32,
    acceptable: bool,
}

/// A methodology's matrix as drawn: the heat map's geometry and colours (`web/svg.rs`), each
/// cell named by its level.
struct Matrix {
    cells: Vec<MatrixCell>,
    width: u32,
    height: u32,
    rows: Vec<(u32, String)>,
    columns: Vec<(u32, String)>,
    cell: u32,
    legend: Vec<LegendEntry>,
    acceptance: String,
}

fn matrix(m: &Methodology) -> Matrix {
    // The register's heat map with no risks on it: the same cells in the same colours.
    let map = heat_map(0, m, &[]);
    let grid = svg::grid(&map, &map.inherent, "matrix");
    let mut cells = Vec::new();
    let mut drawn = grid.cells.iter();
    for (l, likelihood) in m.likelihood.iter().enumerate() {
        for (i, impact) in m.impact.iter().enumerate() {
            let Some(c) = drawn.next() else { break };
            let level = m
                .rating(l as u8 + 1, i as u8 + 1)
                .and_then(|r| m.score(r))
                .map(|s| m.level(s).name.clone())
                .unwrap_or_default();
            cells.push(MatrixCell {
                x: c.x,
                y: c.y,
                fill: c.fill.clone(),
                label: format!("likelihood {}, impact {}: {level}", likelihood.name, impact.name),
                level,
            });
        }
    }
    let criteria = m.levels.iter().find(|l| l.name == m.acceptance_level).map_or(0, |l| l.min_score);
    Matrix {
        cells,
        width: grid.width,
        height: grid.height,
        rows: grid.rows,
        columns: grid.columns,
        cell: svg::CELL,
        legend: m
            .levels
            .iter()
            .map(|l| LegendEntry {
                name: l.name.clone(),
                colour: l.colour.clone(),
                min_score: l.min_score,
                acceptable: l.min_score <= criteria,
            })
            .collect(),
        acceptance: m.acceptance_level.clone(),
    }
}

/// What the matrix part shows: a matrix, or why there is none, with the problems of the draft.
struct MatrixView {
    caption: String,
    matrix: Option<Matrix>,
    errors: Vec<String>,
}

/// The matrix part alone, as the preview answers it.
#[derive(Template)]
#[template(path = "methodology_matrix.html")]
struct MatrixPart {
    part: MatrixView,
}

struct EditorRow {
    /// 1-based likelihood.
    l: usize,
    label: String,
    label_error: Option<String>,
    /// Each impact (1-based) with the level chosen for the cell.
    cells: Vec<(usize, String)>,
}

/// The editor's fields as typed: the scales' labels, each cell's level, the acceptance level.
#[derive(Debug, Clone)]
struct Editor {
    likelihood: Vec<String>,
    impact: Vec<String>,
    /// `cells[likelihood - 1][impact - 1]`: the name of the cell's level.
    cells: Vec<Vec<String>>,
    acceptance: String,
}

impl Editor {
    fn of(m: &Methodology) -> Editor {
        Editor {
            likelihood: m.likelihood.iter().map(|s| s.name.clone()).collect(),
            impact: m.impact.iter().map(|s| s.name.clone()).collect(),
            cells: (1..=m.likelihood.len())
                .map(|l| (1..=m.impact.len()).map(|i| level_of(m, l, i)).collect())
                .collect(),
            acceptance: m.acceptance_level.clone(),
        }
    }

    /// The form as sent, on the scales' sizes of `base`.
    fn parse(base: &Methodology, form: &Pairs) -> Editor {
        Editor {
            likelihood: (1..=base.likelihood.len())
                .map(|l| form.one(&format!("likelihood-{l}")).trim().to_owned())
                .collect(),
            impact: (1..=base.impact.len()).map(|i| form.one(&format!("impact-{i}")).trim().to_owned()).collect(),
            cells: (1..=base.likelihood.len())
                .map(|l| (1..=base.impact.len()).map(|i| form.one(&format!("cell-{l}-{i}")).to_owned()).collect())
                .collect(),
            acceptance: form.one("acceptance").to_owned(),
        }
    }

    /// The draft the form describes, on `base`'s levels, or each problem under its field. A
    /// cell's score stays `base`'s where its level is unchanged; otherwise it is its level's
    /// lowest score (all of them are when keeping some would make scores fall as a scale rises).
    fn draft(&self, base: &Methodology) -> Result<MethodologyDraft, FieldErrors> {
        let mut errors = FieldErrors::new();
        let scale = |names: &[String], axis: &str, errors: &mut FieldErrors| -> Vec<ScaleLevel> {
            names
                .iter()
                .enumerate()
                .map(|(n, name)| {
                    if name.is_empty() {
                        errors.insert(format!("{axis}-{}", n + 1), format!("give {axis} {} a label", n + 1));
                    }
                    let description = if axis == "likelihood" { &base.likelihood } else { &base.impact }
                        .get(n)
                        .map(|s| s.description.clone())
                        .unwrap_or_default();
                    ScaleLevel { name: name.clone(), description }
                })
                .collect()
        };
        let likelihood = scale(&self.likelihood, "likelihood", &mut errors);
        let impact = scale(&self.impact, "impact", &mut errors);
        let min_score = |name: &str| base.levels.iter().find(|level| level.name == name).map(|level| level.min_score);
        let mut kept = Vec::new();
        let mut lowest = Vec::new();
        for (l, row) in self.cells.iter().enumerate() {
            let (mut kept_row, mut lowest_row) = (Vec::new(), Vec::new());
            for (i, name) in row.iter().enumerate() {
                let Some(min) = min_score(name) else {
                    errors.insert("matrix".to_owned(), "choose a level for every cell".to_owned());
                    continue;
                };
                let score = base.rating(l as u8 + 1, i as u8 + 1).and_then(|r| base.score(r)).ok();
                kept_row.push(score.filter(|s| &base.level(*s).name == name).unwrap_or(min));
                lowest_row.push(min);
            }
            kept.push(kept_row);
            lowest.push(lowest_row);
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let draft = |scores| MethodologyDraft {
            likelihood: likelihood.clone(),
            impact: impact.clone(),
            scores: Some(scores),
            levels: base.levels.clone(),
            acceptance_level: self.acceptance.clone(),
        };
        let mut made = draft(kept);
        if matches!(made.validate(), Err(RiskError::MatrixNotMonotone { .. })) {
            made = draft(lowest);
        }
        match made.validate() {
            Ok(()) => Ok(made),
            Err(e) => {
                let field = match &e {
                    RiskError::MatrixNotMonotone { likelihood, impact } => {
                        errors.insert(
                            "matrix".to_owned(),
                            format!(
                                "a level must not fall as likelihood or impact rises (likelihood {}, impact {})",
                                self.likelihood.get(likelihood - 1).map(String::as_str).unwrap_or("?"),
                                self.impact.get(impact - 1).map(String::as_str).unwrap_or("?"),
                            ),
                        );
                        return Err(errors);
                    }
                    RiskError::AcceptanceLevel(_) => "acceptance",
                    _ => "form",
                };
                errors.insert(field.to_owned(), e.to_string());
                Err(errors)
            }
        }
    }

    fn rows(&self, errors: &FieldErrors) -> Vec<EditorRow> {
        self.likelihood
            .iter()
            .enumerate()
            .rev()
            .map(|(n, label)| EditorRow {
                l: n + 1,
                label: label.clone(),
                label_error: errors.get(&format!("likelihood-{}", n + 1)).cloned(),
                cells: self.cells.get(n).into_iter().flatten().enumerate().map(|(i, c)| (i + 1, c.clone())).collect(),
            })
            .collect()
    }

    fn columns(&self, errors: &FieldErrors) -> Vec<(usize, String, Option<String>)> {
        self.impact
            .iter()
            .enumerate()
            .map(|(n, label)| (n + 1, label.clone(), errors.get(&format!("impact-{}", n + 1)).cloned()))
            .collect()
    }
}

fn level_of(m: &Methodology, l: usize, i: usize) -> String {
    m.rating(l as u8, i as u8).and_then(|r| m.score(r)).map(|s| m.level(s).name.clone()).unwrap_or_default()
}

#[derive(Template)]
#[template(path = "methodology.html")]
struct MethodologyPage {
    frame: Frame,
    notice: Option<&'static str>,
    /// The version in force: number, by whom, when.
    version: Option<(i64, String, String)>,
    in_force: Option<MatrixView>,
    /// The editor, for those who may set the methodology.
    may_set: bool,
    rows: Vec<EditorRow>,
    columns: Vec<(usize, String, Option<String>)>,
    levels: Vec<String>,
    acceptance: String,
    errors: FieldErrors,
    preview: Option<MatrixView>,
    /// Earlier versions: number, by whom, when.
    history: Vec<(i64, String, String)>,
}

/// The methodology in force, if there is one, and what an editor starts from.
async fn current(state: &State, principal: &Principal) -> PageResult<(Option<MethodologyVersion>, Methodology)> {
    match state.app.methodology(principal).await {
        Ok(v) => {
            let base = v.methodology.clone();
            Ok((Some(v), base))
        }
        Err(e) if e.code == Code::NoMethodology => Ok((None, Methodology::five_by_five())),
        Err(e) => Err(e.into()),
    }
}

fn may_set(principal: &Principal) -> bool {
    principal.role().can(Permission::MethodologyManage)
}

/// The matrix part of what an editor describes: its matrix, or its problems.
fn preview_of(
    state: &State,
    principal: &Principal,
    base: &Methodology,
    editor: &Editor,
) -> PageResult<(MatrixView, FieldErrors)> {
    let caption = "Preview of your changes (not saved)".to_owned();
    let draft = match editor.draft(base) {
        Ok(draft) => draft,
        Err(errors) => {
            let view = MatrixView { caption, matrix: None, errors: errors.values().cloned().collect() };
            return Ok((view, errors));
        }
    };
    match state.app.preview_methodology(principal, draft) {
        Ok(m) => Ok((MatrixView { caption, matrix: Some(matrix(&m)), errors: Vec::new() }, FieldErrors::new())),
        Err(e) if e.code == Code::InvalidInput => {
            let errors = FieldErrors::from([("form".to_owned(), e.message)]);
            Ok((MatrixView { caption, matrix: None, errors: errors.values().cloned().collect() }, errors))
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET /o/{org}/risks/methodology`: the methodology in force; its editor for those who may set it.
async fn methodology(
    AxumState(state): AppState,
    Path(org): Path<String>,
    Query(q): Query<NoticeQuery>,
    viewer: Viewer,
) -> PageResult {
    let (principal, frame) = enter(&state, &viewer, &org, "risks").await?;
    let (_, base) = current(&state, &principal).await?;
    let editor = Editor::of(&base);
    methodology_page(&state, principal, frame, notice(q.done.as_deref()), editor, FieldErrors::new()).await
}

async fn methodology_page(
    state: &State,
    principal: Principal,
    frame: Frame,
    notice: Option<&'static str>,
    editor: Editor,
    errors: FieldErrors,
) -> PageResult {
    let (now, base) = current(state, &principal).await?;
    let mut history: Vec<(i64, String, String)> = state
        .app
        .methodologies(&principal)
        .await?
        .into_iter()
        .map(|v| (v.version, v.created_by, super::date(v.created_at.date_naive())))
        .collect();
    history.pop();
    history.reverse();
    let may_set = may_set(&principal);
    let preview = if may_set {
        let (mut view, _) = preview_of(state, &principal, &base, &editor)?;
        if !errors.is_empty() {
            view.errors = errors.values().cloned().collect();
            view.matrix = None;
        }
        Some(view)
    } else {
        None
    };
    html(&MethodologyPage {
        notice,
        version: now.as_ref().map(|v| (v.version, v.created_by.clone(), super::date(v.created_at.date_naive()))),
        in_force: now.as_ref().map(|v| MatrixView {
            caption: format!("Version {} in force", v.version),
            matrix: Some(matrix(&v.methodology)),
            errors: Vec::new(),
        }),
        may_set,
        rows: if may_set { editor.rows(&errors) } else { Vec::new() },
        columns: if may_set { editor.columns(&errors) } else { Vec::new() },
        levels: base.levels.iter().map(|l| l.name.clone()).collect(),
        acceptance: editor.acceptance.clone(),
        errors,
        preview,
        history,
        frame,
    })
}

/// `POST /o/{org}/risks/methodology/preview`: the matrix the form describes, drawn as the page
/// draws it, or its problems. Writes nothing.
async fn preview(AxumState(state): AppState, Path(org): Path<String>, viewer: Viewer, body: Bytes) -> PageResult {
    let form = Pairs::parse(&body);
    viewer.check_csrf(form.one("csrf"))?;
    let principal = viewer.in_org(&state, &org).await?;
    let (_, base) = current(&state, &principal).await?;
    let (part, _) = preview_of(&state, &principal, &base, &Editor::parse(&base, &form))?;
    html(&MatrixPart { part })
}

/// `POST /o/{org}/risks/methodology`: sets the methodology the form describes as the next version.
async fn save(AxumState(state): AppState, Path(org): Path<String>, viewer: Viewer, body: Bytes) -> PageResult {
    let form = Pairs::parse(&body);
    viewer.check_csrf(form.one("csrf"))?;
    let (principal, frame) = enter(&state, &viewer, &org, "risks").await?;
    let (_, base) = current(&state, &principal).await?;
    let editor = Editor::parse(&base, &form);
    let errors = match editor.draft(&base) {
        Ok(draft) => {
            let saved = match Methodology::new(draft) {
                Ok(m) => state.app.set_methodology(&principal, m).await,
                Err(e) => Err(evident_app::AppError::invalid(e.to_string())),
            };
            match saved {
                Ok(_) => return Ok(see(&format!("/o/{org}/risks/methodology?done=methodology-saved"))),
                Err(e) if e.code == Code::NothingToChange => return Ok(see(&format!("/o/{org}/risks/methodology"))),
                Err(e) if e.code == Code::InvalidInput => FieldErrors::from([("form".to_owned(), e.message)]),
                Err(e) => return Err(e.into()),
            }
        }
        Err(errors) => errors,
    };
    let page = methodology_page(&state, principal, frame, None, editor, errors).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}
