#![allow(clippy::unwrap_used)]

use super::*;

fn temp_store() -> (file::FileStore, std::path::PathBuf) {
    let dir =
        std::env::temp_dir().join(format!("fieldsync-store-{}", uuid::Uuid::new_v4().simple()));
    (file::FileStore::open(&dir).unwrap(), dir)
}

#[test]
fn store_specs_parse_and_bad_ones_say_what_is_allowed() {
    assert_eq!("file:".parse::<StoreSpec>().unwrap(), StoreSpec::File(None));
    assert_eq!(
        "file:/srv/blobs".parse::<StoreSpec>().unwrap(),
        StoreSpec::File(Some("/srv/blobs".into()))
    );
    assert_eq!(
        "postgres".parse::<StoreSpec>().unwrap(),
        StoreSpec::Postgres
    );
    assert_eq!(
        "s3://photos/fieldsync/".parse::<StoreSpec>().unwrap(),
        StoreSpec::S3 {
            bucket: "photos".into(),
            prefix: "fieldsync".into()
        }
    );
    assert!("s3://".parse::<StoreSpec>().is_err());
    let e = "ftp://x".parse::<StoreSpec>().unwrap_err().to_string();
    assert!(e.contains("file:DIR, postgres or s3://BUCKET"), "{e}");
}

#[test]
fn only_original_keys_name_a_hash() {
    let hash = BlobHash::of(b"photo");
    assert_eq!(hash_of_original(&original_key(&hash)), Some(hash.clone()));
    assert_eq!(hash_of_original(&thumbnail_key(&hash)), None);
    assert_eq!(hash_of_original(&part_key("abc", 7)), None);
    // The fan-out directory must match the hash.
    let h = hash.as_str();
    assert_eq!(hash_of_original(&format!("zz/{h}")), None);
}

#[tokio::test]
async fn the_file_store_puts_gets_ranges_lists_and_deletes() {
    let (store, dir) = temp_store();
    let hash = BlobHash::of(b"0123456789");
    let key = original_key(&hash);
    assert!(store.get(&key, None).await.unwrap().is_none());
    assert_eq!(store.size(&key).await.unwrap(), None);
    store
        .put_bytes(&key, Bytes::from_static(b"0123456789"))
        .await
        .unwrap();
    store
        .put_bytes(&thumbnail_key(&hash), Bytes::from_static(b"thumb"))
        .await
        .unwrap();
    assert_eq!(store.size(&key).await.unwrap(), Some(10));
    assert_eq!(
        read_all(&store, &key).await.unwrap().unwrap(),
        b"0123456789"
    );
    let part: Vec<Bytes> = futures_util::TryStreamExt::try_collect(
        store.get(&key, Some(3..7)).await.unwrap().unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(part.concat(), b"3456");
    // A range past the end is cut at the end.
    let tail: Vec<Bytes> = futures_util::TryStreamExt::try_collect(
        store.get(&key, Some(8..100)).await.unwrap().unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(tail.concat(), b"89");
    let mut keys = store.list("").await.unwrap();
    keys.sort();
    assert_eq!(keys, vec![key.clone(), thumbnail_key(&hash)]);
    assert_eq!(
        store.list("thumbs/").await.unwrap(),
        vec![thumbnail_key(&hash)]
    );
    store.delete(&key).await.unwrap();
    store.delete(&key).await.unwrap();
    assert!(store.get(&key, None).await.unwrap().is_none());
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn the_file_store_copies_a_staged_file_and_keeps_keys_inside_its_directory() {
    let (store, dir) = temp_store();
    let staged = dir.join("staged-input");
    std::fs::write(&staged, vec![7u8; 3 * CHUNK_BYTES + 5]).unwrap();
    store.put_file("ab/abc", &staged).await.unwrap();
    let back = read_all(&store, "ab/abc").await.unwrap().unwrap();
    assert_eq!(back.len(), 3 * CHUNK_BYTES + 5);
    assert!(store.put_bytes("../escape", Bytes::new()).await.is_err());
    assert!(store.get("a//b", None).await.is_err());
    let _ = std::fs::remove_dir_all(dir);
}
