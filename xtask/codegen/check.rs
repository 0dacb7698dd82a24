//! Rejects what progenitor would reject or panic on, naming the operation and field: a spec
//! mistake stops the build with a readable message instead of a `todo!()` panic inside progenitor.
//!
//! progenitor lacks it: some constructs it refuses with an error that names no operation, others
//! (a second media type, a JSON answer without a schema) panic inside it. Safe: it only reads.

use std::collections::BTreeSet;

use serde_json::Value;

use super::spec::{lookup, operations, resolve};

/// Rejects what progenitor would reject or panic on, naming the operation and field.
pub fn check(spec: &Value) -> Result<(), String> {
    let version = spec["openapi"].as_str().unwrap_or_default();
    if !version.starts_with("3.0.") {
        return Err(format!("openapi: {version:?}: progenitor takes only OpenAPI 3.0.x"));
    }
    let mut ids = BTreeSet::new();
    for (path, method, op) in operations(spec) {
        let id = op["operationId"]
            .as_str()
            .ok_or_else(|| format!("{method} {path}: missing operationId"))?;
        if !ids.insert(id.to_string()) {
            return Err(format!("{id}: operationId used twice"));
        }
        if let Some(content) = resolve(spec, &op["requestBody"])["content"].as_object() {
            if content.len() > 1 {
                return Err(format!("{id}: requestBody: one media type per body, found {}", content.len()));
            }
            for (media, body) in content {
                if media.contains("json") && body.get("schema").is_none() {
                    return Err(format!("{id}: requestBody.content.{media}: schema missing"));
                }
            }
        }
        let responses = op["responses"].as_object().ok_or_else(|| format!("{id}: responses missing"))?;
        if !responses.keys().any(|code| code.starts_with('2') || code == "302") {
            return Err(format!("{id}: responses: no 2xx or 302 answer"));
        }
        let success: Vec<_> = responses.keys().filter(|code| code.starts_with('2')).collect();
        if success.len() > 1 {
            return Err(format!("{id}: responses: one success answer per operation, found {success:?}"));
        }
        for (code, response) in responses {
            for (media, body) in resolve(spec, response)["content"].as_object().into_iter().flatten() {
                if media.contains("json") && body.get("schema").is_none() {
                    return Err(format!("{id}: responses.{code}.content.{media}: schema missing"));
                }
            }
        }
        for param in op["parameters"].as_array().into_iter().flatten() {
            let param = resolve(spec, param);
            let name = param["name"].as_str().unwrap_or("?");
            match (param["in"].as_str(), param["style"].as_str()) {
                (Some("cookie"), _) => return Err(format!("{id}: parameter {name}: cookie parameters are not supported")),
                (_, Some("deepObject")) => return Err(format!("{id}: parameter {name}: deepObject style is not supported")),
                _ => {}
            }
        }
    }
    check_refs(spec, spec, "")
}

fn check_refs(spec: &Value, node: &Value, at: &str) -> Result<(), String> {
    match node {
        Value::Object(map) => {
            if let Some(target) = map.get("$ref").and_then(Value::as_str) {
                if lookup(spec, target).is_none() {
                    return Err(format!("{at}: $ref {target} does not resolve"));
                }
            }
            map.iter().try_for_each(|(k, v)| check_refs(spec, v, &format!("{at}/{k}")))
        }
        Value::Array(items) => items.iter().try_for_each(|v| check_refs(spec, v, at)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn with_operation(op: Value) -> Value {
        json!({"openapi": "3.0.3", "paths": {"/a": {"post": op}}, "components": {"schemas": {"A": {"type": "object"}}}})
    }

    #[test]
    fn a_sound_operation_passes() {
        let spec = with_operation(json!({"operationId": "a", "responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/A"}}}}}}));
        assert_eq!(check(&spec), Ok(()));
    }

    #[test]
    fn each_mistake_names_the_operation_and_what_is_wrong() {
        let two_media = with_operation(json!({"operationId": "a", "responses": {"200": {}},
            "requestBody": {"content": {"application/json": {"schema": {}}, "text/plain": {"schema": {}}}}}));
        assert_eq!(check(&two_media), Err("a: requestBody: one media type per body, found 2".into()));
        let cookie = with_operation(json!({"operationId": "a", "responses": {"200": {}}, "parameters": [{"name": "c", "in": "cookie"}]}));
        assert_eq!(check(&cookie), Err("a: parameter c: cookie parameters are not supported".into()));
        let no_success = with_operation(json!({"operationId": "a", "responses": {"400": {}}}));
        assert_eq!(check(&no_success), Err("a: responses: no 2xx or 302 answer".into()));
        let dangling = with_operation(json!({"operationId": "a", "responses": {"200": {"$ref": "#/components/responses/Gone"}}}));
        assert_eq!(check(&dangling), Err("/paths//a/post/responses/200: $ref #/components/responses/Gone does not resolve".into()));
        let mut v31 = with_operation(json!({"operationId": "a", "responses": {"200": {}}}));
        v31["openapi"] = json!("3.1.0");
        assert!(check(&v31).unwrap_err().contains("progenitor takes only OpenAPI 3.0.x"));
    }
}
