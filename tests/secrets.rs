//! No secret appears in Debug output, errors or tracing output. Its own test binary: tracing's
//! callsite cache is process-wide, so a capturing subscriber must not race other tests.
mod support;

use std::sync::{Arc, Mutex};

use support::{business_api, client_for};
use vandar::TokenPair;

#[tokio::test]
async fn secrets_appear_in_no_debug_error_or_trace() {
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let logs = Buffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt().with_ansi(false).with_max_level(tracing::Level::TRACE).with_writer(move || writer.clone()).finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = business_api().await;
    let secrets = ["SECRET-ACCESS", "refresh-1", "SECRET-API-KEY", "SECRET-MIANDO"];
    let vandar = client_for(&server)
        .business_tokens(TokenPair::new("SECRET-ACCESS", "refresh-1", None))
        .ipg_api_key("SECRET-API-KEY")
        .miando_credentials(3, "SECRET-MIANDO")
        .build()
        .unwrap();
    vandar.api().balance().business("shop").send().await.unwrap(); // 401 -> refresh -> repeat
    let errors = [
        vandar.ipg().ipg_verify().body_map(|b| b.token("T")).send().await.unwrap_err(),
        vandar.api().agreement_list().send().await.unwrap_err(),
    ];
    let mut seen = format!("{vandar:?}");
    for error in &errors {
        seen += &format!("{error:?} {error}");
    }
    seen += &String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(seen.contains("vandar.call") && seen.contains("operation=\"balance\""), "spans are emitted: {seen}");
    for secret in secrets.iter().chain(&["new-access", "new-refresh"]) {
        assert!(!seen.contains(secret), "{secret} leaked: {seen}");
    }
    assert_eq!(format!("{:?}", vandar::Secret::new("x")), "***");
}

