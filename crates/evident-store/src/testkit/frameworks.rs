//! Frameworks an organisation imports: kept per organisation, read back validated, never changed.

use evident_core::framework::{FrameworkInfo, Requirement, RequirementKind};
use evident_core::{Framework, FrameworkId, RequirementRef};

use super::new_org;
use crate::{FrameworkChange, RawSql, Store, StoreError};

/// A two-requirement policy: one section, one statement.
pub fn policy(id: &str, statement: &str) -> Framework {
    let requirement = |reference: &str, parent: Option<&str>, kind: &str, title: &str| Requirement {
        reference: RequirementRef::parse(reference).unwrap(),
        label: None,
        parent: parent.map(|p| RequirementRef::parse(p).unwrap()),
        kind: RequirementKind::parse(kind).unwrap(),
        title: title.into(),
        description: format!("{title}, in our words."),
        category: None,
        note: None,
        attributes: Default::default(),
        informative: false,
    };
    let info = FrameworkInfo {
        id: FrameworkId::parse(id).unwrap(),
        name: "Policy".into(),
        version: "1".into(),
        title: "Our policy".into(),
        publisher: "Us".into(),
        description: "For tests.".into(),
        categories: Vec::new(),
        soa: None,
        guidance: None,
    };
    let requirements =
        vec![requirement("P-1", None, "section", "Access"), requirement("P-1.1", Some("P-1"), "statement", statement)];
    Framework::new(info, requirements).unwrap()
}

pub async fn imported_frameworks_stay_in_their_organisation<S: Store + RawSql>(store: &S) {
    let (acme, acme_actor) = new_org(store, "acme").await;
    let (globex, _) = new_org(store, "globex").await;
    let mine = policy("org/policy:1", "Reviews");
    let head = store.chain_head(&acme.id).await.unwrap();
    store.apply(&acme_actor, vec![FrameworkChange::Import(Box::new(mine.clone())).into()]).await.unwrap();

    let read = store.frameworks(&acme.id).await.unwrap();
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].framework, mine, "read back as imported, validated again");
    assert_eq!((read[0].imported_by.as_str(), read[0].imported_at), (acme_actor.who.as_str(), acme_actor.at));
    assert!(store.frameworks(&globex.id).await.unwrap().is_empty(), "another organisation sees none of it");

    let (log, after) = store.audit_log(&acme.id).await.unwrap();
    assert_eq!(after.seq, head.seq + 1, "one audit record");
    let record = &log.last().unwrap().entry;
    assert_eq!((record.action.as_str(), record.entity_id.as_str()), ("framework.import", "org/policy:1"));
    let image: Framework = serde_json::from_str(record.after.as_deref().unwrap()).unwrap();
    assert_eq!(image, mine, "the after-image is the framework as stored");

    // An id is never reused for other content, nor even for the same: the store refuses both.
    for again in [mine.clone(), policy("org/policy:1", "Reviews, quarterly")] {
        let refused =
            store.apply(&acme_actor, vec![FrameworkChange::Import(Box::new(again)).into()]).await.unwrap_err();
        assert!(matches!(refused, StoreError::Conflict { what: "framework", .. }), "{refused}");
    }
    assert_eq!(store.chain_head(&acme.id).await.unwrap().seq, after.seq, "a refusal writes nothing");
    // The same id in another organisation is that organisation's own.
    let globex_actor = crate::Actor { org: globex.id.clone(), ..acme_actor.clone() };
    store
        .apply(&globex_actor, vec![FrameworkChange::Import(Box::new(policy("org/policy:1", "Other"))).into()])
        .await
        .unwrap();
    assert_eq!(store.frameworks(&acme.id).await.unwrap()[0].framework, mine);

    // Stored data that no longer validates is named, never used.
    store
        .execute_raw("UPDATE imported_frameworks SET definition = 'not json' WHERE framework_id = 'org/policy:1'")
        .await
        .unwrap_err();
    let mut broken = serde_json::to_value(mine.data()).unwrap();
    broken["requirements"][1]["parent"] = "P-9".into();
    let sql = format!(
        "INSERT INTO imported_frameworks (org_id, framework_id, definition, digest, imported_by, imported_at) \
         SELECT org_id, 'org/broken:1', '{}', digest, imported_by, imported_at FROM imported_frameworks \
         WHERE org_id = '{}'",
        broken.to_string().replace("org/policy:1", "org/broken:1"),
        acme.id.as_str()
    );
    store.execute_raw(&sql).await.unwrap();
    let corrupt = store.frameworks(&acme.id).await.unwrap_err();
    assert!(matches!(corrupt, StoreError::Corrupt(_)), "{corrupt}");
    assert!(corrupt.to_string().contains("names parent P-9"), "{corrupt}");
}
