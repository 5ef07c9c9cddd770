//! Accounts, sessions and API tokens: the same on both backends.

use evident_core::audit::verify_chain;
use evident_core::{Email, Role, Sha256Digest};

use super::{at, new_org};
use crate::accounts::{AccountChange, NewSession, NewToken, PasswordHash, TokenChange, installation_chain};
use crate::{Applied, RawSql, Store, StoreError};

fn email(text: &str) -> Email {
    Email::parse(text).expect("a valid e-mail")
}

fn hash(text: &str) -> PasswordHash {
    PasswordHash::new(format!("$argon2id$v=19$m=19456,t=2,p=1${text}"))
}

/// An account signs in to sessions that a new password revokes; failed sign-ins are counted and
/// forgotten; the installation's log chains every change but never holds a secret; tokens stay in
/// their organisation, are found by their secret's hash, and are revoked once.
pub async fn accounts_sessions_and_tokens<S: Store + RawSql>(store: &S) {
    let (acme, actor) = new_org(store, "acme").await;
    let (globex, globex_actor) = new_org(store, "globex").await;
    let ada = email("admin@acme.example");
    assert_eq!(store.account_count().await.unwrap(), 0);

    let create = AccountChange::Create { email: ada.clone(), password_hash: hash("one") };
    store.apply_accounts("operator:root", at(3), vec![create.clone()]).await.unwrap();
    let again = store.apply_accounts("operator:root", at(3), vec![create]).await;
    assert!(matches!(again, Err(StoreError::Conflict { what: "account", .. })), "{again:?}");
    let account = store.account(&ada).await.unwrap().expect("the account exists");
    assert_eq!((account.password_hash, account.created_at, account.disabled_at), (hash("one"), at(3), None));
    assert_eq!(store.account_count().await.unwrap(), 1);
    // A new e-mail gets a user and an account, and no membership.
    let stranger = email("stranger@nowhere.example");
    let create = AccountChange::Create { email: stranger.clone(), password_hash: hash("s") };
    store.apply_accounts("operator:root", at(3), vec![create]).await.unwrap();
    assert!(store.memberships_of(&stranger).await.unwrap().is_empty());
    let orgs: Vec<_> = store.memberships_of(&ada).await.unwrap().into_iter().map(|(o, m)| (o.id, m.role)).collect();
    assert_eq!(orgs, [(acme.id.clone(), Role::Admin)]);

    let secret = Sha256Digest::of(b"cookie secret");
    let session = NewSession { id: "s-1".into(), secret_hash: secret.clone(), expires_at: at(10) };
    let failed = AccountChange::LoginFailed { email: ada.clone(), forget_before: at(1) };
    store.apply_accounts("anonymous", at(4), vec![failed]).await.unwrap();
    assert_eq!(store.login_failures(&ada, at(4)).await.unwrap(), [at(4)]);
    let open = AccountChange::OpenSession { email: ada.clone(), session };
    store.apply_accounts(ada.as_str(), at(4), vec![open]).await.unwrap();
    assert!(store.login_failures(&ada, at(1)).await.unwrap().is_empty(), "a sign-in forgets the failures");
    let found = store.session(&secret).await.unwrap().expect("the session is found by its secret's hash");
    assert_eq!((found.id.as_str(), &found.email, found.revoked_at), ("s-1", &ada, None));
    store.touch_session("s-1", at(5)).await.unwrap();
    assert_eq!(store.session(&secret).await.unwrap().unwrap().last_seen_at, at(5));

    let set = AccountChange::SetPassword { email: ada.clone(), password_hash: hash("two") };
    store.apply_accounts(ada.as_str(), at(6), vec![set]).await.unwrap();
    assert_eq!(store.session(&secret).await.unwrap().unwrap().revoked_at, Some(at(6)), "a new password signs out");
    let close = AccountChange::CloseSession { id: "s-1".into() };
    let applied = store.apply_accounts(ada.as_str(), at(7), vec![close]).await.unwrap();
    assert_eq!(applied, [Applied::Unchanged], "a revoked session is not revoked again");
    let nobody = AccountChange::SetPassword { email: email("ghost@acme.example"), password_hash: hash("x") };
    let refused = store.apply_accounts("operator:root", at(7), vec![nobody]).await;
    assert!(matches!(refused, Err(StoreError::NotFound { what: "account", .. })), "{refused:?}");

    let (log, head) = store.installation_log(0, 100).await.unwrap();
    let actions: Vec<_> = log.iter().map(|r| r.entry.action.as_str()).collect();
    assert_eq!(actions, ["account.create", "account.create", "session.open", "account.password"]);
    assert_eq!(verify_chain(&installation_chain(), &log, &head), Ok(4));
    for record in &log {
        let images = format!("{:?}{:?}", record.entry.before, record.entry.after);
        assert!(!images.contains("argon2") && !images.contains(secret.as_str()), "{images}");
    }

    let token_secret = Sha256Digest::of(b"token secret");
    let token = NewToken {
        id: "t-1".into(),
        name: "ci".into(),
        secret_hash: token_secret.clone(),
        role: Role::Viewer,
        created_by: ada.clone(),
        expires_at: at(20),
    };
    store.apply(&actor, vec![TokenChange::Create(token.clone()).into()]).await.unwrap();
    let renamed = NewToken { id: "t-2".into(), secret_hash: Sha256Digest::of(b"other"), ..token.clone() };
    let taken = store.apply(&actor, vec![TokenChange::Create(renamed.clone()).into()]).await;
    assert!(matches!(taken, Err(StoreError::Conflict { what: "token", .. })), "{taken:?}");
    // Another organisation may use the name.
    store.apply(&globex_actor, vec![TokenChange::Create(renamed).into()]).await.unwrap();
    let (org, found) = store.token_by_secret(&token_secret).await.unwrap().expect("found by its secret's hash");
    assert_eq!((org, found.name.as_str(), found.role), (acme.id.clone(), "ci", Role::Viewer));
    assert_eq!(store.tokens(&acme.id).await.unwrap().len(), 1);
    let revoke = |id: &str| vec![TokenChange::Revoke { id: id.into() }.into()];
    let elsewhere = store.apply(&globex_actor, revoke("t-1")).await;
    assert!(matches!(elsewhere, Err(StoreError::NotFound { what: "token", .. })), "{elsewhere:?}");
    assert_eq!(store.apply(&actor, revoke("t-1")).await.unwrap(), [Applied::Changed]);
    assert_eq!(store.apply(&actor, revoke("t-1")).await.unwrap(), [Applied::Unchanged]);
    assert_eq!(store.tokens(&acme.id).await.unwrap()[0].revoked_at, Some(actor.at));
    assert!(store.tokens(&globex.id).await.unwrap()[0].revoked_at.is_none());
    let (log, _) = store.audit_log(&acme.id).await.unwrap();
    let actions: Vec<_> = log.iter().map(|r| r.entry.action.as_str()).rev().take(2).collect();
    assert_eq!(actions, ["token.revoke", "token.create"]);
    assert!(!format!("{log:?}").contains(token_secret.as_str()), "no audit record holds a token's hash");
}
