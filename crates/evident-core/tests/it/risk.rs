use chrono::{Duration, NaiveDate};
use evident_core::risk::*;
use evident_core::{AssetCode, ControlCode, Email, RiskCode, Role};
use proptest::prelude::*;

use crate::support::at;

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn risk(inherent: (u8, u8), residual: (u8, u8)) -> Risk {
    Risk {
        code: RiskCode::parse("R-001").unwrap(),
        title: "Ransomware encrypts production".into(),
        description: String::new(),
        assets: vec![AssetCode::parse("AST-DB").unwrap()],
        threat: "Ransomware".into(),
        vulnerability: "Untested backups".into(),
        owner: Email::parse("owner@acme.example").unwrap(),
        methodology: 1,
        inherent: Rating::new(inherent.0, inherent.1).unwrap(),
        treatment: Treatment::Modify,
        controls: vec![Treating { control: ControlCode::parse("OPS-01").unwrap(), planned: false, due: None }],
        residual: Rating::new(residual.0, residual.1).unwrap(),
        residual_justification: String::new(),
        review_date: day(2026, 12, 31),
        acceptance: None,
        closed: false,
    }
}

#[test]
fn the_presets_are_valid_and_a_4x4_and_5x5_both_score() {
    for m in [Methodology::three_by_three(), Methodology::four_by_four(), Methodology::five_by_five()] {
        m.validate().unwrap();
    }
    let four = Methodology::four_by_four();
    let five = Methodology::five_by_five();
    assert_eq!(four.score(Rating::new(4, 4).unwrap()), Ok(16));
    assert_eq!(five.score(Rating::new(5, 5).unwrap()), Ok(25));
    assert_eq!(four.level(16).name, "High");
    assert_eq!(five.level(4).name, "Low");
    assert_eq!(five.level(12).name, "High");
    let outside = four.score(Rating::new(5, 1).unwrap());
    assert_eq!(outside.unwrap_err().to_string(), "likelihood 5 is outside the 1–4 scale of the methodology");
}

#[test]
fn a_rating_is_made_within_a_matrix_and_never_read_off_every_scale() {
    let three = Methodology::three_by_three();
    assert_eq!(three.rating(4, 1).unwrap_err().to_string(), "likelihood 4 is outside the 1–3 scale of the methodology");
    assert_eq!(three.rating(2, 0).unwrap_err().to_string(), "impact 0 is outside the 1–3 scale of the methodology");
    assert_eq!(Methodology::five_by_five().rating(4, 5).map(|r| (r.likelihood(), r.impact())), Ok((4, 5)));
    assert!(Rating::new(0, 1).is_err() && Rating::new(1, 6).is_err());
    let stored = serde_json::to_string(&Rating::new(2, 3).unwrap()).unwrap();
    assert_eq!(stored, r#"{"likelihood":2,"impact":3}"#, "the audit log's shape is unchanged");
    let off = serde_json::from_str::<Rating>(r#"{"likelihood":9,"impact":1}"#).unwrap_err();
    assert!(off.to_string().contains("likelihood 9 is outside the 1–5 scale"), "{off}");
}

#[test]
fn malformed_methodologies_are_refused_with_the_reason() {
    let mut m = Methodology::five_by_five().into_draft();
    m.impact.push(m.impact[0].clone());
    assert_eq!(m.validate(), Err(RiskError::ScaleSize { axis: "impact", count: 6 }));
    let mut m = Methodology::three_by_three().into_draft();
    m.likelihood.pop();
    assert!(matches!(m.validate(), Err(RiskError::ScaleSize { axis: "likelihood", count: 2 })));
    let mut m = Methodology::three_by_three().into_draft();
    m.scores = Some(vec![vec![1, 2, 3], vec![2, 1, 6], vec![3, 6, 9]]);
    assert_eq!(m.validate(), Err(RiskError::MatrixNotMonotone { likelihood: 2, impact: 2 }));
    let mut m = Methodology::three_by_three().into_draft();
    m.levels[1].colour = "orange".into();
    assert_eq!(m.validate(), Err(RiskError::Colour("orange".into())));
    let mut m = Methodology::three_by_three().into_draft();
    m.acceptance_level = "Tolerable".into();
    assert_eq!(m.validate(), Err(RiskError::AcceptanceLevel("Tolerable".into())));
    let mut m = Methodology::three_by_three().into_draft();
    m.levels.swap(0, 1);
    assert!(matches!(m.validate(), Err(RiskError::LevelOrder { .. })));
    // A methodology is made only from a valid draft, and reading one validates it too.
    assert!(matches!(Methodology::new(m.clone()), Err(RiskError::LevelOrder { .. })));
    let stored = serde_json::to_string(&m).unwrap();
    let read: Result<Methodology, _> = serde_json::from_str(&stored);
    assert!(read.unwrap_err().to_string().contains("risk levels must be listed by ascending min_score"));
}

#[test]
fn a_residual_above_the_inherent_score_needs_a_justification() {
    let m = Methodology::five_by_five();
    let mut r = risk((2, 2), (3, 3));
    assert_eq!(r.validate(&m), Err(RiskError::ResidualAboveInherent { inherent: 4, residual: 9 }));
    r.residual_justification = "A new integration widened exposure".into();
    assert_eq!(r.validate(&m), Ok(()));
    let mut no_controls = risk((4, 4), (2, 2));
    no_controls.controls.clear();
    assert_eq!(no_controls.validate(&m), Err(RiskError::ModifyWithoutControls));
    let mut planned = risk((4, 4), (2, 2));
    planned.controls[0].planned = true;
    assert!(matches!(planned.validate(&m), Err(RiskError::PlannedWithoutDueDate(_))));
}

#[test]
fn only_the_owner_or_an_admin_accepts_before_expiry_within_the_criteria() {
    let m = Methodology::five_by_five();
    let r = risk((4, 4), (2, 2));
    let today = day(2026, 6, 1);
    let owner = r.owner.clone();
    let other = Email::parse("someone@acme.example").unwrap();
    assert_eq!(check_acceptance(&r, &m, &owner, Role::ControlOwner, today, day(2027, 6, 1)), Ok(()));
    assert_eq!(check_acceptance(&r, &m, &other, Role::Admin, today, day(2027, 6, 1)), Ok(()));
    assert_eq!(
        check_acceptance(&r, &m, &other, Role::ComplianceManager, today, day(2027, 6, 1)),
        Err(RiskError::NotOwnerOrAdmin(other.clone()))
    );
    assert!(matches!(
        check_acceptance(&r, &m, &owner, Role::ControlOwner, today, today),
        Err(RiskError::ExpiryNotInFuture { .. })
    ));
    let high = risk((5, 5), (4, 4));
    let refused = check_acceptance(&high, &m, &owner, Role::ControlOwner, today, day(2027, 6, 1)).unwrap_err();
    assert_eq!(
        refused.to_string(),
        "the residual level High is above the acceptance criteria (Medium): treat the risk further first"
    );
}

#[test]
fn the_heat_map_counts_open_risks_of_its_methodology_only() {
    let m = Methodology::four_by_four();
    let mut old = risk((2, 2), (1, 1));
    old.methodology = 0;
    let mut closed = risk((1, 1), (1, 1));
    closed.closed = true;
    let map = heat_map(1, &m, &[risk((4, 3), (2, 1)), risk((4, 3), (1, 1)), old, closed]);
    assert_eq!(map.inherent[3][2], 2);
    assert_eq!((map.residual[1][0], map.residual[0][0]), (1, 1));
    assert_eq!(map.other_versions, 1);
    assert_eq!((map.inherent.len(), map.inherent[0].len()), (4, 4));
    assert_eq!(map.colours[3][3], "#d9534f");
}

#[test]
fn assets_values_and_parent_cycles_are_checked() {
    let asset = |code: &str, parent: Option<&str>| Asset {
        code: AssetCode::parse(code).unwrap(),
        name: code.into(),
        kind: AssetKind::Service,
        owner: None,
        classification: Classification::Internal,
        confidentiality: 3,
        integrity: 3,
        availability: 3,
        parent: parent.map(|p| AssetCode::parse(p).unwrap()),
    };
    let a = asset("A", Some("B"));
    let parents = |code: &AssetCode| (code.as_str() == "B").then(|| AssetCode::parse("A").unwrap());
    assert_eq!(check_asset(&a, parents), Err(RiskError::AssetCycle(a.code.clone())));
    assert_eq!(check_asset(&asset("C", Some("B")), |_| None), Ok(()));
    let mut bad = asset("D", None);
    bad.availability = 7;
    assert!(matches!(check_asset(&bad, |_| None), Err(RiskError::AssetValue { field: "availability", value: 7, .. })));
}

proptest! {
    #[test]
    fn scores_and_levels_never_fall_as_likelihood_or_impact_rise(l in 1u8..=5, i in 1u8..=5, dl in 0u8..=4, di in 0u8..=4) {
        for m in [Methodology::three_by_three(), Methodology::four_by_four(), Methodology::five_by_five()] {
            let n = m.likelihood.len() as u8;
            let (l, i) = (l.min(n), i.min(n));
            let (l2, i2) = ((l + dl).min(n), (i + di).min(n));
            let low = m.score(Rating::new(l, i).unwrap()).unwrap();
            let high = m.score(Rating::new(l2, i2).unwrap()).unwrap();
            prop_assert!(high >= low);
            prop_assert!(m.level(high).min_score >= m.level(low).min_score);
            prop_assert!(Rating::new(0, i).is_err(), "likelihood 0 is off every scale");
            prop_assert!(m.rating(l, n + 1).is_err(), "impact {} is off the scale", n + 1);
            if let Ok(beyond) = Rating::new(l, n + 1) {
                prop_assert!(m.score(beyond).is_err(), "a rating of a larger matrix does not score on this one");
            }
        }
    }

    #[test]
    fn a_risk_is_due_exactly_when_a_date_has_passed(review_offset in -400i64..400, expiry_offset in -400i64..400, closed in any::<bool>()) {
        let today = at().date_naive();
        let mut r = risk((4, 4), (2, 2));
        r.review_date = today + Duration::days(review_offset);
        r.acceptance = Some(Acceptance::of(&r, r.owner.clone(), at(), today + Duration::days(expiry_offset), String::new()));
        r.closed = closed;
        let due = due(&r, Some(&Methodology::five_by_five()), today);
        if closed {
            prop_assert!(due.is_empty());
        } else {
            prop_assert_eq!(due.iter().any(|d| matches!(d, Due::ReviewOverdue { .. })), review_offset < 0);
            prop_assert_eq!(due.iter().any(|d| matches!(d, Due::AcceptanceExpired { .. })), expiry_offset <= 0);
        }
    }
}

#[test]
fn an_acceptance_lapses_when_the_risk_is_re_rated_its_treatment_changes_or_it_leaves_the_criteria() {
    let m = Methodology::five_by_five();
    let today = at().date_naive();
    let mut r = risk((4, 4), (2, 2));
    r.treatment = Treatment::Retain;
    r.acceptance = Some(Acceptance::of(&r, r.owner.clone(), at(), today + Duration::days(90), String::new()));
    assert!(
        due(&r, Some(&m), today).iter().all(|d| !matches!(d, Due::AcceptanceLapsed { .. })),
        "it holds as accepted"
    );

    let mut rerated = r.clone();
    rerated.residual = Rating::new(5, 5).unwrap();
    let lapsed = due(&rerated, Some(&m), today);
    assert!(lapsed.iter().any(|d| matches!(d, Due::AcceptanceLapsed { lapse: Lapse::Rerated { .. } })), "{lapsed:?}");

    let mut treated = r.clone();
    treated.treatment = Treatment::Share;
    assert!(
        due(&treated, Some(&m), today)
            .iter()
            .any(|d| matches!(d, Due::AcceptanceLapsed { lapse: Lapse::TreatmentChanged { .. } }))
    );

    // An acceptance recorded before its terms were kept still lapses when the level leaves the criteria.
    let mut legacy = rerated.clone();
    legacy.acceptance.as_mut().unwrap().terms = None;
    let lapsed = due(&legacy, Some(&m), today);
    assert!(
        lapsed.iter().any(|d| matches!(d, Due::AcceptanceLapsed { lapse: Lapse::AboveCriteria { .. } })),
        "{lapsed:?}"
    );
}

#[test]
fn an_acceptance_runs_for_at_most_a_certification_cycle() {
    let m = Methodology::five_by_five();
    let r = risk((4, 4), (2, 2));
    let today = at().date_naive();
    let owner = r.owner.clone();
    let within = check_acceptance(&r, &m, &owner, Role::ControlOwner, today, today + Duration::days(365));
    assert!(within.is_ok(), "{within:?}");
    let far = check_acceptance(&r, &m, &owner, Role::ControlOwner, today, today + Duration::days(4000));
    assert!(matches!(far, Err(RiskError::ExpiryTooFar { .. })), "{far:?}");
}
