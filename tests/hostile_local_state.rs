//! The client's own files handed back damaged, huge or replaced (issue 29, first part): stored
//! values out of range, a FIFO or a device at the path, CRLF line ends, a journal's mode. Each is
//! refused with an error naming the file and never its content, or read as it was meant; nothing
//! panics or blocks.
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use vandar::auth::{FileTokenStore, TokenStore};
use vandar::journal::{FileJournal, Intent, Journal};

fn stored(json: &str) -> (tempfile::TempDir, FileTokenStore) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.json");
    std::fs::write(&path, json).unwrap();
    (dir, FileTokenStore::new(path))
}

#[tokio::test]
async fn stored_token_values_out_of_range_are_refused_without_panic_or_quoting_them() {
    let cases = [
        r#"{"access_token":"s3cret-access","refresh_token":"s3cret-refresh","expires_at_unix":18446744073709551615,"generation":3}"#,
        r#"{"access_token":"s3cret-access","refresh_token":"s3cret-refresh","expires_at_unix":null,"generation":18446744073709551615}"#,
        r#"{"access_token":"s3cret-access","refresh_token":"s3cret-refresh","expires_at_unix":"s3cret-in-the-wrong-field"}"#,
        r#"{"access_token":"s3cret-access","refresh_token":"s3cret-refre"#,
        "\u{0}\u{1}s3cret",
    ];
    for json in cases {
        let (_dir, store) = stored(json);
        let error = store.load().await.expect_err(json);
        let text = error.to_string();
        assert!(text.contains("tokens.json") && text.contains("refused"), "names the file: {text}");
        assert!(!text.contains("s3cret"), "quotes what was stored: {text}");
    }
}

#[tokio::test]
async fn a_fifo_or_a_device_at_a_local_path_is_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("vandar.journal");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let started = Instant::now();
    let journal = FileJournal::open(&fifo).unwrap();
    let error = tokio::time::timeout(Duration::from_secs(5), journal.open()).await.expect("never blocks").unwrap_err();
    assert!(error.to_string().contains("not a regular file"), "{error}");
    let intent = Intent::for_money_move("settlement_store", &serde_json::json!({"track_id": "t-1", "amount": 5000})).unwrap();
    assert!(tokio::time::timeout(Duration::from_secs(5), journal.begin(&intent)).await.expect("never blocks").is_err());

    let zero = FileJournal::open("/dev/zero").unwrap();
    let error = tokio::time::timeout(Duration::from_secs(5), zero.open()).await.expect("never reads forever").unwrap_err();
    assert!(error.to_string().contains("not a regular file"), "{error}");

    let tokens = FileTokenStore::new(dir.path().join("vandar.journal"));
    assert!(tokio::time::timeout(Duration::from_secs(5), tokens.load()).await.expect("never blocks").is_err());
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_journal_with_crlf_line_ends_keeps_every_entry_and_files_are_private() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vandar.journal");
    let journal = FileJournal::open(&path).unwrap();
    for track_id in ["t-1", "t-2", "t-3"] {
        let intent = Intent::for_money_move("settlement_store", &serde_json::json!({"track_id": track_id, "amount": 5000})).unwrap();
        journal.begin(&intent).await.unwrap();
    }
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600, "holds IBANs: owner only");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace('\n', "\r\n")).unwrap();
    let mut keys: Vec<String> = journal.open().await.unwrap().into_iter().map(|e| e.intent.key).collect();
    keys.sort();
    assert_eq!(keys, ["t-1", "t-2", "t-3"], "an edited copy loses nothing");
}
