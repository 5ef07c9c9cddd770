//! The S3 backend against a real S3-compatible server (moto) on loopback.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::Utc;
use evident_core::Sha256Digest;
use evident_evidence::testkit::{ACCESS_KEY_ID, Moto, Relay, SECRET_ACCESS_KEY};
use evident_evidence::{BlobError, BlobStore};
use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};

use crate::download;
use crate::generated::Generated;

const MIB: u64 = 1024 * 1024;

/// The bucket as a plain object_store client sees it, to look behind the blob store's back.
fn raw_bucket(moto: &Moto, bucket: &str) -> Arc<dyn ObjectStore> {
    Arc::new(
        AmazonS3Builder::new()
            .with_endpoint(moto.endpoint())
            .with_bucket_name(bucket)
            .with_region("us-east-1")
            .with_allow_http(true)
            .with_access_key_id(ACCESS_KEY_ID)
            .with_secret_access_key(SECRET_ACCESS_KEY)
            .build()
            .unwrap(),
    )
}

async fn keys(bucket: &Arc<dyn ObjectStore>) -> Vec<String> {
    let mut keys: Vec<String> = bucket.list(None).map_ok(|meta| meta.location.to_string()).try_collect().await.unwrap();
    keys.sort();
    keys
}

fn assert_no_credentials(message: &str) {
    assert!(!message.contains(ACCESS_KEY_ID) && !message.contains(SECRET_ACCESS_KEY), "credentials in: {message}");
}

#[tokio::test]
async fn s3_round_trip_dedupe_verify_and_collect() {
    let Some(moto) = Moto::start("s3_round_trip_dedupe_verify_and_collect") else { return };
    moto.create_bucket("evidence");
    let store = moto.store("evidence", &moto.endpoint());
    let raw = raw_bucket(&moto, "evidence");

    // A small blob (one PUT) and a large one (a multipart upload of several parts).
    let small = store.ingest_bytes(br#"{"okta_users": 41, "without_mfa": 0}"#).await.unwrap();
    assert_eq!((small.size, small.media_type, small.already_present), (36, "application/json", false));
    let len = 20 * MIB + 7;
    let large = store.ingest(Generated::new(11, len), None).await.unwrap();
    assert_eq!((large.size, large.digest.as_str()), (len, Generated::digest(11, len).as_str()));

    assert_eq!(download(&store, &small.digest).await.unwrap(), br#"{"okta_users": 41, "without_mfa": 0}"#);
    let downloaded = download(&store, &large.digest).await.unwrap();
    assert_eq!((downloaded.len() as u64, Sha256Digest::of(&downloaded)), (len, large.digest.clone()));
    assert_eq!(store.size(&large.digest).await.unwrap(), len);
    store.verify(&large.digest).await.unwrap();

    // Identical bytes are stored once; the staging objects are gone.
    let again = store.ingest(Generated::new(11, len), None).await.unwrap();
    assert!(again.already_present);
    let small_key = format!("sha256/{}/{}", &small.digest.as_str()[..2], small.digest);
    let large_key = format!("sha256/{}/{}", &large.digest.as_str()[..2], large.digest);
    let mut expected = vec![small_key.clone(), large_key];
    expected.sort();
    assert_eq!(keys(&raw).await, expected);
    let listed: HashSet<_> = store.list().map_ok(|blob| (blob.digest, blob.size)).try_collect().await.unwrap();
    assert_eq!(listed, HashSet::from([(small.digest.clone(), 36), (large.digest.clone(), len)]));

    // An object overwritten behind evident's back is found out, and never served as good.
    raw.put(&Path::from(small_key.as_str()), br#"{"okta_users": 41, "without_mfa": 9}"#.as_slice().into())
        .await
        .unwrap();
    let error = store.verify(&small.digest).await.unwrap_err();
    assert!(matches!(&error, BlobError::Corrupt { expected, .. } if expected == &small.digest), "{error:?}");
    assert_eq!(download(&store, &small.digest).await.unwrap_err().code(), "blob_corrupt");
    let missing = Sha256Digest::of(b"never stored");
    assert_eq!(store.verify(&missing).await.unwrap_err().code(), "blob_missing");
    assert!(!store.exists(&missing).await.unwrap());

    // Garbage collection: the referenced blob stays, the other (old enough) goes.
    let report = store
        .collect_garbage(&HashSet::from([large.digest.clone()]), Utc::now() + chrono::Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(report.deleted.iter().map(|blob| &blob.digest).collect::<Vec<_>>(), [&small.digest]);
    assert_eq!(report.referenced, 1);
    store.verify(&large.digest).await.unwrap();
    assert_eq!(store.verify(&small.digest).await.unwrap_err().code(), "blob_missing");
}

#[tokio::test]
async fn s3_limits_refuse_and_leave_nothing() {
    let Some(moto) = Moto::start("s3_limits_refuse_and_leave_nothing") else { return };
    moto.create_bucket("limits");
    let store = moto.store("limits", &moto.endpoint());

    let error = store.ingest(Generated::new(2, 12 * MIB), Some(10 * MIB)).await.unwrap_err();
    assert_eq!(error.code(), "blob_too_large");
    assert_eq!(store.ingest_bytes(b"").await.unwrap_err().code(), "blob_empty");
    assert_eq!(keys(&raw_bucket(&moto, "limits")).await, Vec::<String>::new());
}

#[tokio::test]
async fn s3_server_killed_mid_upload_is_reported_as_unavailable() {
    let Some(moto) = Moto::start("s3_server_killed_mid_upload_is_reported_as_unavailable") else { return };
    moto.create_bucket("evidence");
    let store: BlobStore = moto.store("evidence", &moto.endpoint());

    // The server dies once 20 MiB of a 64 MiB upload have been handed over.
    let input = Generated::new(5, 64 * MIB).on(20 * MIB, moto.killer());
    let error = store.ingest(input, None).await.unwrap_err();

    let message = error.to_string();
    assert!(matches!(error, BlobError::Unavailable { .. }), "{error:?}");
    assert_eq!(error.code(), "blob_store_unavailable");
    assert!(message.contains(&format!("S3 bucket evidence at {}", moto.endpoint())), "{message}");
    assert!(message.contains("could not upload the evidence"), "{message}");
    assert_no_credentials(&message);
    assert_no_credentials(&format!("{error:?}"));
}

#[tokio::test]
async fn s3_connection_lost_mid_upload_places_no_blob() {
    let Some(moto) = Moto::start("s3_connection_lost_mid_upload_places_no_blob") else { return };
    moto.create_bucket("evidence");
    // The store reaches moto through a relay; cutting the relay is the store going away, while
    // moto itself keeps its state for us to inspect.
    let relay = Relay::start(moto.addr).await;
    let store = moto.store("evidence", &relay.endpoint());
    let raw = raw_bucket(&moto, "evidence");
    let before = store.ingest_bytes(b"stored before the outage").await.unwrap();

    let input = Generated::new(6, 40 * MIB).on(20 * MIB, relay.cutter());
    let error = store.ingest(input, None).await.unwrap_err();

    assert_eq!(error.code(), "blob_store_unavailable", "{error}");
    assert!(error.to_string().contains(&relay.endpoint()), "{error}");
    assert_no_credentials(&error.to_string());
    let key = format!("sha256/{}/{}", &before.digest.as_str()[..2], before.digest);
    assert_eq!(keys(&raw).await, [key], "no new blob, no completed staging object");
    assert_eq!(store.verify(&before.digest).await.unwrap_err().code(), "blob_store_unavailable");
    let direct = moto.store("evidence", &moto.endpoint());
    let missing = Sha256Digest::parse(&Generated::digest(6, 40 * MIB)).unwrap();
    assert!(!direct.exists(&missing).await.unwrap());
    direct.verify(&before.digest).await.unwrap();
}
