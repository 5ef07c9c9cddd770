//! Assets: the register the risks name, with a form to add one and one to edit each.

use std::collections::{BTreeMap, HashSet};

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State as AxumState};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use evident_app::risks::asset_version;
use evident_app::{AppError, Code, Principal};
use evident_core::risk::{Asset, AssetKind, Classification};
use evident_core::{AssetCode, Email, Permission};
use serde::Deserialize;

use super::{AppState, Frame, NoticeQuery, enter, notice};
use crate::State;
use crate::web::{PageError, PageResult, Viewer, html, see};

/// The routes of these pages.
pub(in crate::web) fn routes() -> Router<State> {
    Router::new()
        .route("/o/{org}/assets", get(assets).post(create_asset))
        .route("/o/{org}/assets/{code}", get(asset).post(edit_asset))
}

/// Each problem of a form under its field's name (`form` for the form as a whole).
type FieldErrors = BTreeMap<&'static str, String>;

/// An asset's fields as a form holds them (text, as typed).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct AssetForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    classification: String,
    #[serde(default)]
    confidentiality: String,
    #[serde(default)]
    integrity: String,
    #[serde(default)]
    availability: String,
    #[serde(default)]
    parent: String,
    /// The version of the asset the edit was made on.
    #[serde(default)]
    version: String,
}

impl Default for AssetForm {
    fn default() -> Self {
        AssetForm {
            csrf: String::new(),
            code: String::new(),
            name: String::new(),
            kind: AssetKind::Information.to_string(),
            owner: String::new(),
            classification: Classification::Internal.to_string(),
            confidentiality: "3".to_owned(),
            integrity: "3".to_owned(),
            availability: "3".to_owned(),
            parent: String::new(),
            version: String::new(),
        }
    }
}

impl AssetForm {
    fn of(asset: &Asset) -> AssetForm {
        AssetForm {
            csrf: String::new(),
            code: asset.code.to_string(),
            name: asset.name.clone(),
            kind: asset.kind.to_string(),
            owner: asset.owner.as_ref().map(|o| o.to_string()).unwrap_or_default(),
            classification: asset.classification.to_string(),
            confidentiality: asset.confidentiality.to_string(),
            integrity: asset.integrity.to_string(),
            availability: asset.availability.to_string(),
            parent: asset.parent.as_ref().map(|p| p.to_string()).unwrap_or_default(),
            version: asset_version(asset),
        }
    }

    /// The asset, or each problem under its field: the same parsing as an imported row's.
    fn asset(&self, members: &HashSet<Email>) -> Result<Asset, FieldErrors> {
        let cells = [
            self.code.trim(),
            self.name.trim(),
            self.kind.trim(),
            self.owner.trim(),
            self.classification.trim(),
            self.confidentiality.trim(),
            self.integrity.trim(),
            self.availability.trim(),
            self.parent.trim(),
        ];
        evident_app::imports::assets::parse(&cells, members).map_err(|problems| {
            problems
                .into_iter()
                .map(|(column, message)| (if column == "type" { "kind" } else { column }, message))
                .collect()
        })
    }
}

/// Where a use case's refusal of an asset form belongs.
fn asset_error(e: AppError) -> PageResult<FieldErrors> {
    let field = match e.code {
        Code::NotAMember => "owner",
        Code::AlreadyExists => "code",
        // The store's checks of a parent: it exists and makes no cycle.
        Code::InvalidInput => "parent",
        Code::Conflict => "form",
        _ => return Err(e.into()),
    };
    Ok(BTreeMap::from([(field, e.message)]))
}

/// The choices of an asset form's selects.
struct Choices {
    kinds: Vec<String>,
    classifications: Vec<String>,
    values: Vec<String>,
    members: Vec<String>,
    /// Codes of the assets that may be a parent.
    parents: Vec<String>,
}

async fn choices(state: &State, principal: &Principal, assets: &[Asset], may_write: bool) -> PageResult<Choices> {
    let mut members: Vec<String> = if may_write {
        state.app.members(principal).await?.into_iter().map(|m| m.email.to_string()).collect()
    } else {
        Vec::new()
    };
    members.sort();
    Ok(Choices {
        kinds: AssetKind::ALL.iter().map(|k| k.to_string()).collect(),
        classifications: Classification::ALL.iter().map(|c| c.to_string()).collect(),
        values: (1..=5).map(|v| v.to_string()).collect(),
        members,
        parents: assets.iter().map(|a| a.code.to_string()).collect(),
    })
}

async fn member_set(state: &State, principal: &Principal) -> PageResult<HashSet<Email>> {
    Ok(state.app.members(principal).await?.into_iter().map(|m| m.email).collect())
}

struct AssetRow {
    code: String,
    name: String,
    kind: String,
    owner: String,
    classification: String,
    cia: String,
    parent: String,
    /// The risks that name the asset: code and title.
    risks: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "assets.html")]
struct AssetsPage {
    frame: Frame,
    notice: Option<&'static str>,
    rows: Vec<AssetRow>,
    may_write: bool,
    form: AssetForm,
    errors: FieldErrors,
    choices: Choices,
}

/// The risks naming each asset, by the asset's code.
async fn risks_by_asset(state: &State, principal: &Principal) -> PageResult<BTreeMap<String, Vec<(String, String)>>> {
    let mut by_asset: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for risk in state.app.risks(principal).await? {
        for code in &risk.assets {
            by_asset.entry(code.to_string()).or_default().push((risk.code.to_string(), risk.title.clone()));
        }
    }
    Ok(by_asset)
}

fn may_write(principal: &Principal) -> bool {
    principal.role().can(Permission::AssetWrite)
}

/// `GET /o/{org}/assets`: the asset register, with the risks that name each asset.
async fn assets(
    AxumState(state): AppState,
    Path(org): Path<String>,
    Query(q): Query<NoticeQuery>,
    viewer: Viewer,
) -> PageResult {
    let (principal, frame) = enter(&state, &viewer, &org, "assets").await?;
    assets_page(&state, principal, frame, notice(q.done.as_deref()), AssetForm::default(), BTreeMap::new()).await
}

async fn assets_page(
    state: &State,
    principal: Principal,
    frame: Frame,
    notice: Option<&'static str>,
    form: AssetForm,
    errors: FieldErrors,
) -> PageResult {
    let mut all = state.app.assets(&principal).await?;
    all.sort_by(|a, b| a.code.as_str().cmp(b.code.as_str()));
    let mut risks = risks_by_asset(state, &principal).await?;
    let rows = all
        .iter()
        .map(|a| AssetRow {
            code: a.code.to_string(),
            name: a.name.clone(),
            kind: a.kind.to_string(),
            owner: a.owner.as_ref().map(|o| o.to_string()).unwrap_or_default(),
            classification: a.classification.to_string(),
            cia: format!("C{} I{} A{}", a.confidentiality, a.integrity, a.availability),
            parent: a.parent.as_ref().map(|p| p.to_string()).unwrap_or_default(),
            risks: risks.remove(a.code.as_str()).unwrap_or_default(),
        })
        .collect();
    let may_write = may_write(&principal);
    let choices = choices(state, &principal, &all, may_write).await?;
    html(&AssetsPage { frame, notice, rows, may_write, form, errors, choices })
}

/// `POST /o/{org}/assets`: adds an asset.
async fn create_asset(
    AxumState(state): AppState,
    Path(org): Path<String>,
    viewer: Viewer,
    Form(form): Form<AssetForm>,
) -> PageResult {
    viewer.check_csrf(&form.csrf)?;
    let (principal, frame) = enter(&state, &viewer, &org, "assets").await?;
    let errors = match form.asset(&member_set(&state, &principal).await?) {
        Ok(asset) => {
            let code = asset.code.clone();
            match state.app.create_asset(&principal, asset).await {
                Ok(_) => return Ok(see(&format!("/o/{org}/assets/{code}?done=asset-created"))),
                Err(e) => asset_error(e)?,
            }
        }
        Err(errors) => errors,
    };
    let page = assets_page(&state, principal, frame, None, form, errors).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

#[derive(Template)]
#[template(path = "asset.html")]
struct AssetPage {
    frame: Frame,
    notice: Option<&'static str>,
    asset: AssetForm,
    children: Vec<(String, String)>,
    risks: Vec<(String, String)>,
    may_write: bool,
    form: AssetForm,
    errors: FieldErrors,
    /// The asset as someone else saved it meanwhile, when an edit came too late.
    conflict: Option<AssetForm>,
    choices: Choices,
}

fn asset_code(code: &str) -> PageResult<AssetCode> {
    AssetCode::parse(code).map_err(|_| PageError(AppError::not_found(Code::AssetNotFound, "asset", code)))
}

/// `GET /o/{org}/assets/{code}`: one asset, the risks that name it; its form for those who may
/// change it.
async fn asset(
    AxumState(state): AppState,
    Path((org, code)): Path<(String, String)>,
    Query(q): Query<NoticeQuery>,
    viewer: Viewer,
) -> PageResult {
    let (principal, frame) = enter(&state, &viewer, &org, "assets").await?;
    let code = asset_code(&code)?;
    asset_page(&state, principal, frame, &code, notice(q.done.as_deref()), None, BTreeMap::new(), None).await
}

#[allow(clippy::too_many_arguments)]
async fn asset_page(
    state: &State,
    principal: Principal,
    frame: Frame,
    code: &AssetCode,
    notice: Option<&'static str>,
    form: Option<AssetForm>,
    errors: FieldErrors,
    conflict: Option<AssetForm>,
) -> PageResult {
    let mut all = state.app.assets(&principal).await?;
    all.sort_by(|a, b| a.code.as_str().cmp(b.code.as_str()));
    let asset =
        all.iter().find(|a| &a.code == code).ok_or_else(|| AppError::not_found(Code::AssetNotFound, "asset", code))?;
    let children =
        all.iter().filter(|a| a.parent.as_ref() == Some(code)).map(|a| (a.code.to_string(), a.name.clone())).collect();
    let risks = risks_by_asset(state, &principal).await?.remove(code.as_str()).unwrap_or_default();
    let may_write = may_write(&principal);
    let others: Vec<Asset> = all.iter().filter(|a| &a.code != code).cloned().collect();
    let choices = choices(state, &principal, &others, may_write).await?;
    html(&AssetPage {
        frame,
        notice,
        asset: AssetForm::of(asset),
        children,
        risks,
        may_write,
        form: form.unwrap_or_else(|| AssetForm::of(asset)),
        errors,
        conflict,
        choices,
    })
}

/// `POST /o/{org}/assets/{code}`: saves an edit made on the version the form was drawn from; if
/// someone saved another change meanwhile, nothing is written and the page shows both.
async fn edit_asset(
    AxumState(state): AppState,
    Path((org, code)): Path<(String, String)>,
    viewer: Viewer,
    Form(form): Form<AssetForm>,
) -> PageResult {
    viewer.check_csrf(&form.csrf)?;
    let (principal, frame) = enter(&state, &viewer, &org, "assets").await?;
    let code = asset_code(&code)?;
    // The code is the page's, whatever the form says.
    let form = AssetForm { code: code.to_string(), ..form };
    let errors = match form.asset(&member_set(&state, &principal).await?) {
        Ok(asset) => match state.app.edit_asset(&principal, asset, Some(form.version.as_str())).await {
            Ok(_) => return Ok(see(&format!("/o/{org}/assets/{code}?done=asset-saved"))),
            Err(e) if e.code == Code::NothingToChange => return Ok(see(&format!("/o/{org}/assets/{code}"))),
            Err(e) if e.code == Code::Conflict => {
                let theirs = AssetForm::of(&state.app.asset(&principal, &code).await?);
                // The viewer's values stay in the form; saving them again now overwrites
                // knowingly, on the version they have seen.
                let mine = AssetForm { version: theirs.version.clone(), ..form };
                let errors = BTreeMap::from([(
                    "form",
                    "Someone else saved a change to this asset while you were editing it. Nothing of yours was \
                     saved: compare their version with yours below, then save again if yours should win."
                        .to_owned(),
                )]);
                let page = asset_page(&state, principal, frame, &code, None, Some(mine), errors, Some(theirs)).await?;
                return Ok((StatusCode::CONFLICT, page).into_response());
            }
            Err(e) => asset_error(e)?,
        },
        Err(errors) => errors,
    };
    let page = asset_page(&state, principal, frame, &code, None, Some(form), errors, None).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}
