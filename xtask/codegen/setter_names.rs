//! Pass over the spec: a path parameter whose name misleads in Rust carries `x-rust-name` in the
//! spec, and the copy progenitor gets names it so: the builder's one setter (and its messages)
//! say what the value is.
//!
//! progenitor lacks it because it names a setter after the spec's parameter, and OpenAPI makes
//! every operation of a path share its template's names: `settlement_cancel` shares
//! `/v3/business/{business}/settlement/{settlement_id}` with `settlement_show`, which takes the
//! settlement's UUID, while the cancel takes its integer transaction id (Vandar's own older
//! section names it `:transaction_id`). Safe: the operation moves to a path of its own in the
//! copy, the same URL with the placeholder renamed, so what is sent is unchanged; the published
//! spec keeps Vandar's template.

use serde_json::Value;

/// Runs on one host's copy, before the docs read it (they name the setter the caller sees).
pub fn adapt(host_spec: &mut Value) {
    let Some(paths) = host_spec.get_mut("paths").and_then(Value::as_object_mut) else { return };
    let mut moved = Vec::new();
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else { continue };
        for method in ["get", "put", "post", "delete", "patch"] {
            let Some(operation) = item.get_mut(method) else { continue };
            let mut renamed = path.clone();
            for parameter in operation.get_mut("parameters").and_then(Value::as_array_mut).into_iter().flatten() {
                let Some(rust) = parameter.get("x-rust-name").and_then(Value::as_str).map(str::to_string) else { continue };
                let name = parameter["name"].as_str().unwrap_or_default().to_string();
                renamed = renamed.replace(&format!("{{{name}}}"), &format!("{{{rust}}}"));
                parameter["name"] = Value::String(rust);
            }
            if renamed != *path {
                moved.push((renamed, method, item.remove(method).expect("just read")));
            }
        }
    }
    for (path, method, operation) in moved {
        let item = paths.entry(path).or_insert_with(|| Value::Object(Default::default()));
        item[method] = operation;
    }
    paths.retain(|_, item| item.as_object().is_none_or(|item| !item.is_empty()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_renamed_parameter_moves_its_operation_to_a_path_of_its_own() {
        let mut spec = json!({"paths": {"/s/{business}/settlement/{settlement_id}": {
            "get": {"operationId": "show", "parameters": [{"name": "settlement_id", "in": "path"}]},
            "delete": {"operationId": "cancel", "parameters": [
                {"name": "business", "in": "path"},
                {"name": "settlement_id", "in": "path", "x-rust-name": "transaction_id"}
            ]}
        }}});
        adapt(&mut spec);
        let paths = &spec["paths"];
        assert_eq!(paths["/s/{business}/settlement/{settlement_id}"]["get"]["operationId"], "show");
        assert!(paths["/s/{business}/settlement/{settlement_id}"].get("delete").is_none());
        let cancel = &paths["/s/{business}/settlement/{transaction_id}"]["delete"];
        assert_eq!(cancel["operationId"], "cancel");
        assert_eq!(cancel["parameters"][1]["name"], "transaction_id");
        assert_eq!(cancel["parameters"][0]["name"], "business", "the others keep their names");
    }

    #[test]
    fn a_path_left_empty_is_removed() {
        let mut spec = json!({"paths": {"/x/{id}": {"delete": {"parameters": [{"name": "id", "in": "path", "x-rust-name": "key"}]}}}});
        adapt(&mut spec);
        assert_eq!(spec["paths"].as_object().unwrap().keys().collect::<Vec<_>>(), ["/x/{key}"]);
    }
}
