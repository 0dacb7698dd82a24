//! Fails when an operation of the spec is called by no end-to-end test against the mock
//! (tests/mock_*.rs), so every operation is exercised on the wire.
use std::collections::BTreeSet;

/// Operations build.rs leaves out of the generated clients, and the hand-written call for each.
const ADAPTED: [(&str, &str); 4] = [
    ("ipg_redirect", "redirects::ipg_payment_page("),
    ("authorization_redirect", "redirects::authorization_page("),
    ("ravand_redirect", "redirects::ravand_activation_page("),
    ("ravand_cardholder_upload", ".ravand_cardholder_upload("),
];

#[test]
fn every_operation_is_called_by_an_end_to_end_test() {
    let spec: serde_json::Value = serde_yaml::from_str(include_str!("../spec/vandar.yaml")).unwrap();
    let ids: BTreeSet<String> = spec["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .filter_map(|op| op["operationId"].as_str().map(String::from))
        .collect();
    assert_eq!(ids.len(), 119);

    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests");
    let sources: String = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("mock_"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    let called = |id: &str| {
        let call = ADAPTED.iter().find(|(op, _)| *op == id).map(|(_, call)| call.to_string()).unwrap_or(format!(".{id}()"));
        // Client::settlement_store wraps the generated call (it fills in the track_id).
        sources.contains(&call) || (id == "settlement_store" && sources.contains(".settlement_store("))
    };
    let missing: Vec<&String> = ids.iter().filter(|id| !called(id)).collect();
    assert!(missing.is_empty(), "operations no end-to-end test calls: {missing:#?}");
}
