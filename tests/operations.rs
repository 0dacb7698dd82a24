//! The spec's table of operations is the one place that names operations (issue 31): a hand-written
//! operation id in `src/` (a string literal such as `"settlement_store"`, outside tests and comments)
//! is a second list that the next spec change leaves behind, so it fails here. Code names an
//! operation as `Operation::SettlementStore` and reads its facts from the table.
//!
//! Not counted: a literal used as a JSON key or index (`record["balance"]`, `json!({"balance": ..})`),
//! which names a field that happens to share an operation's id.
//! Run alone: `cargo test --test operations`.
use std::path::{Path, PathBuf};

fn operation_ids() -> Vec<String> {
    let spec = std::fs::read_to_string("spec/vandar.yaml").unwrap();
    let mut ids: Vec<String> = spec
        .lines()
        .filter_map(|line| line.trim().strip_prefix("operationId:"))
        .map(|id| id.trim().trim_matches(|c| c == '\'' || c == '"').to_string())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

fn rust_files(dir: &Path, into: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            into.push(path);
        }
    }
}

/// `line`'s string literals that are operation ids, not used as a JSON key or an index.
fn named_operations<'a>(line: &str, ids: &'a [String]) -> Vec<&'a str> {
    let mut found = Vec::new();
    let mut rest = line;
    let mut before = ' ';
    while let Some(start) = rest.find('"') {
        before = rest[..start].trim_end().chars().last().unwrap_or(before);
        let after_quote = &rest[start + 1..];
        let Some(end) = after_quote.find('"') else { break };
        let literal = &after_quote[..end];
        let next = after_quote[end + 1..].trim_start().chars().next();
        if let Some(id) = ids.iter().find(|id| id.as_str() == literal) {
            if before != '[' && next != Some(':') && next != Some(']') {
                found.push(id.as_str());
            }
        }
        rest = &after_quote[end + 1..];
    }
    found
}

#[test]
fn no_operation_id_is_spelled_by_hand_in_src() {
    let ids = operation_ids();
    assert!(ids.len() > 100, "read {} operation ids from the spec", ids.len());
    let mut files = Vec::new();
    rust_files(Path::new("src"), &mut files);
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        // The unit tests sit at the end of a file, after `#[cfg(test)]`.
        let code = text.split("\n#[cfg(test)]").next().unwrap_or_default();
        for (number, line) in code.lines().enumerate() {
            let trimmed = line.trim_start();
            if trimmed.starts_with("//") || trimmed.starts_with("#[doc") {
                continue;
            }
            for id in named_operations(line, &ids) {
                found.push(format!("{}:{}: \"{id}\" (name it Operation::.. and read the table)", file.display(), number + 1));
            }
        }
    }
    assert!(found.is_empty(), "operation ids spelled by hand in src/:\n{}", found.join("\n"));
}

#[test]
fn the_scan_finds_a_hand_written_id_and_leaves_fields_alone() {
    let ids = vec!["balance".to_string(), "settlement_store".to_string()];
    assert_eq!(named_operations(r#"self.tracked("settlement_store", id)"#, &ids), ["settlement_store"]);
    assert_eq!(named_operations(r#"match op { "balance" => 1 }"#, &ids), ["balance"]);
    assert!(named_operations(r#"record["balance"] = json!({"balance": 1});"#, &ids).is_empty());
    assert!(named_operations(r#"let x = "balances";"#, &ids).is_empty());
}
