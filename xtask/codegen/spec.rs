//! Reading the spec (spec/vandar.yaml, as JSON): its operations, `$ref`s, the schemas request bodies
//! reach, and the spelling of names (operationId -> progenitor's builder name, parameter -> setter).
//! Shared by every pass; no pass of its own.

use std::collections::BTreeSet;

use serde_json::Value;

pub const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// Every operation: (path, method, operation).
pub fn operations(spec: &Value) -> impl Iterator<Item = (&str, &str, &Value)> {
    spec["paths"].as_object().into_iter().flatten().flat_map(|(path, item)| {
        METHODS
            .iter()
            .filter_map(move |m| item.get(*m).map(|op| (path.as_str(), *m, op)))
    })
}

pub fn lookup<'a>(spec: &'a Value, reference: &str) -> Option<&'a Value> {
    spec.pointer(reference.strip_prefix('#')?)
}

pub fn resolve<'a>(spec: &'a Value, node: &'a Value) -> &'a Value {
    match node["$ref"].as_str() {
        Some(r) => lookup(spec, r).unwrap_or(&Value::Null),
        None => node,
    }
}

pub fn collect_refs(node: &Value, into: &mut Vec<String>) {
    match node {
        Value::Object(map) => {
            if let Some(r) = map.get("$ref").and_then(Value::as_str) {
                into.push(r.to_string());
            }
            map.values().for_each(|v| collect_refs(v, into));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, into)),
        _ => {}
    }
}

/// The spec's paths in the order the file writes them (`Value`'s maps are sorted).
pub fn path_order(text: &str) -> Result<Vec<String>, String> {
    let yaml: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| format!("not valid YAML: {e}"))?;
    let paths = yaml.get("paths").and_then(serde_yaml::Value::as_mapping);
    Ok(paths.into_iter().flatten().filter_map(|(k, _)| k.as_str().map(String::from)).collect())
}

/// The JSON schema of an operation's request body (`$ref`s to request bodies resolved), if any.
pub fn body_schema<'a>(spec: &'a Value, op: &'a Value) -> Option<&'a Value> {
    resolve(spec, &op["requestBody"])["content"]["application/json"].get("schema")
}

/// The schemas a request body reaches, by name: the generated types that are (part of) what you
/// send, as opposed to what Vandar answers.
pub struct RequestTypes(pub BTreeSet<String>);

impl RequestTypes {
    /// Whether the generated type `name` is one of them. typify names inline schemas after their
    /// parent (`Parent` + `Property`), so a name that starts with a request schema's name counts too.
    pub fn includes(&self, name: &str) -> bool {
        self.0.iter().any(|r| name.starts_with(r.as_str()))
    }
}

pub fn request_schemas(spec: &Value) -> RequestTypes {
    let mut pending = Vec::new();
    for (_, _, op) in operations(spec) {
        collect_refs(&op["requestBody"], &mut pending);
    }
    let (mut seen, mut names) = (BTreeSet::new(), BTreeSet::new());
    while let Some(r) = pending.pop() {
        if seen.insert(r.clone()) {
            if let Some(name) = r.strip_prefix("#/components/schemas/") {
                names.insert(name.to_string());
            }
            collect_refs(lookup(spec, &r).unwrap_or(&Value::Null), &mut pending);
        }
    }
    RequestTypes(names)
}

/// `settlement_list` -> `SettlementList` (progenitor's builder names).
pub fn camel(id: &str) -> String {
    id.split('_').filter(|w| !w.is_empty()).map(|w| w[..1].to_uppercase() + &w[1..]).collect()
}

/// `fromDate` -> `from_date`, `per_page` -> `per_page`, `X-Signature` -> `x_signature`.
pub fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn small_spec() -> Value {
        json!({
            "paths": {
                "/a": {
                    "post": {"operationId": "settlement_store", "requestBody": {"$ref": "#/components/requestBodies/Store"}},
                    "get": {"operationId": "settlement_list"},
                    "servers": [{"url": "https://api.vandar.io"}]
                }
            },
            "components": {
                "requestBodies": {"Store": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Store"}}}}},
                "schemas": {
                    "Store": {"properties": {"item": {"$ref": "#/components/schemas/Item"}}},
                    "Item": {"type": "object"},
                    "Answer": {"type": "object"}
                }
            }
        })
    }

    #[test]
    fn operations_are_the_methods_of_each_path_not_its_other_keys() {
        let spec = small_spec();
        let ids: Vec<_> = operations(&spec).map(|(_, m, op)| (m, op["operationId"].as_str().unwrap())).collect();
        assert_eq!(ids, [("get", "settlement_list"), ("post", "settlement_store")]);
    }

    #[test]
    fn request_types_are_the_schemas_a_body_reaches_and_their_inline_children() {
        let spec = small_spec();
        let requests = request_schemas(&spec);
        assert_eq!(requests.0, BTreeSet::from(["Item".to_string(), "Store".to_string()]));
        assert!(requests.includes("StoreItem"));
        assert!(!requests.includes("Answer"));
    }

    #[test]
    fn body_schema_follows_a_request_body_ref() {
        let spec = small_spec();
        let (_, _, store) = operations(&spec).find(|(_, m, _)| *m == "post").unwrap();
        assert_eq!(body_schema(&spec, store).unwrap()["$ref"], "#/components/schemas/Store");
        assert_eq!(resolve(&spec, body_schema(&spec, store).unwrap())["properties"]["item"]["$ref"], "#/components/schemas/Item");
    }

    #[test]
    fn path_order_is_the_files_order() {
        assert_eq!(path_order("paths:\n  /z: {}\n  /a: {}\n").unwrap(), ["/z", "/a"]);
    }

    #[test]
    fn names_are_spelled_as_progenitor_spells_them() {
        assert_eq!(camel("settlement_list"), "SettlementList");
        assert_eq!(snake("fromDate"), "from_date");
        assert_eq!(snake("X-Signature"), "x_signature");
        assert_eq!(snake("per_page"), "per_page");
    }
}
