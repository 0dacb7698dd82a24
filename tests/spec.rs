//! spec/vandar.yaml is a deliverable of its own: these tests hold it to Vandar's documents.
use std::collections::BTreeSet;

use openapiv3::{OpenAPI, ReferenceOr};
use serde_json::{json, Value};

const SPEC: &str = include_str!("../spec/vandar.yaml");
const DOCUMENTED: &str = include_str!("fixtures/documented-endpoints.tsv");
const HOSTS: [(&str, &str); 4] = [
    ("https://api.vandar.io", "api"),
    ("https://ipg.vandar.io", "ipg"),
    ("https://batch.vandar.io", "batch"),
    ("https://subscription.vandar.io", "subscription"),
];

fn typed() -> OpenAPI {
    serde_yaml::from_str(SPEC).expect("spec parses as OpenAPI 3.0 with openapiv3")
}

fn raw() -> Value {
    serde_yaml::from_str(SPEC).expect("spec is YAML")
}

/// (method, host, path with parameter names erased, operation) for every operation.
fn operations(spec: &Value) -> Vec<(String, &'static str, String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        let server = item["servers"][0]["url"].as_str().unwrap_or("https://api.vandar.io");
        let host = HOSTS.iter().find(|(url, _)| *url == server).map(|(_, h)| *h);
        let host = host.unwrap_or_else(|| panic!("{path}: servers names an unknown host {server}"));
        for (method, op) in item.as_object().unwrap() {
            if ["get", "put", "post", "delete", "patch", "head", "options", "trace"].contains(&method.as_str()) {
                out.push((method.to_uppercase(), host, erase_names(path), op));
            }
        }
    }
    out
}

fn erase_names(path: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in path.chars() {
        match c {
            '{' => {
                inside = true;
                out.push_str("{}");
            }
            '}' => inside = false,
            _ if !inside => out.push(c),
            _ => {}
        }
    }
    out
}

#[test]
fn spec_has_every_documented_operation_and_no_other() {
    let documented: BTreeSet<(String, String, String)> = DOCUMENTED
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("method\t") && !l.is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            (cols[0].to_string(), cols[1].to_string(), erase_names(cols[2]))
        })
        .collect();
    let spec = raw();
    let specified: BTreeSet<(String, String, String)> =
        operations(&spec).into_iter().map(|(m, h, p, _)| (m, h.to_string(), p)).collect();
    let missing: Vec<_> = documented.difference(&specified).collect();
    let extra: Vec<_> = specified.difference(&documented).collect();
    assert!(missing.is_empty(), "documented but not in the spec: {missing:#?}");
    assert!(extra.is_empty(), "in the spec but not documented: {extra:#?}");
    assert_eq!(documented.len(), 119, "the documents list 119 operations");
}

#[test]
fn every_operation_has_an_id_a_tag_a_summary_and_a_success_answer() {
    let api = typed();
    let tags: BTreeSet<&str> = api.tags.iter().map(|t| t.name.as_str()).collect();
    let mut ids = BTreeSet::new();
    for (path, item) in &api.paths.paths {
        let ReferenceOr::Item(item) = item else { panic!("{path}: path-item $ref") };
        for (method, op) in item.iter() {
            let id = op.operation_id.as_deref().unwrap_or_else(|| panic!("{method} {path}: no operationId"));
            assert!(ids.insert(id.to_string()), "{id} is used twice");
            assert!(
                id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{id} is not snake_case"
            );
            assert!(!op.tags.is_empty() && op.tags.iter().all(|t| tags.contains(t.as_str())), "{id}: tag missing or undeclared");
            assert!(op.summary.as_deref().is_some_and(|s| !s.is_empty()), "{id}: no summary");
            let success = op.responses.responses.keys().any(|code| match code {
                openapiv3::StatusCode::Code(c) => (200..300).contains(c) || *c == 302,
                openapiv3::StatusCode::Range(r) => *r == 2,
            });
            assert!(success, "{id}: no 2xx or 302 answer");
        }
    }
    assert_eq!(ids.len(), 119);
}

#[test]
fn every_ref_resolves() {
    fn walk(root: &Value, node: &Value, at: &str) {
        match node {
            Value::Object(map) => {
                if let Some(r) = map.get("$ref").and_then(Value::as_str) {
                    let pointer = r.strip_prefix('#').unwrap_or_else(|| panic!("{at}: external $ref {r}"));
                    assert!(root.pointer(pointer).is_some(), "{at}: $ref {r} does not resolve");
                }
                map.iter().for_each(|(k, v)| walk(root, v, &format!("{at}/{k}")));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(root, v, at)),
            _ => {}
        }
    }
    let spec = raw();
    walk(&spec, &spec, "");
}

/// OpenAPI 3.0 schema -> JSON Schema: `nullable` becomes a null alternative, refs point at definitions.
fn json_schema(node: &Value) -> Value {
    match node {
        Value::Object(map) => {
            let mut out = serde_json::Map::new();
            for (k, v) in map {
                match k.as_str() {
                    "$ref" => {
                        let r = v.as_str().unwrap().replace("#/components/schemas/", "#/definitions/");
                        out.insert(k.clone(), json!(r));
                    }
                    "nullable" | "example" | "format" => {}
                    // property names and the like are keys, not schemas: convert their values only
                    _ => {
                        out.insert(k.clone(), json_schema(v));
                    }
                }
            }
            let value = Value::Object(out);
            if map.get("nullable") == Some(&json!(true)) {
                json!({"anyOf": [value, {"type": "null"}]})
            } else {
                value
            }
        }
        Value::Array(items) => Value::Array(items.iter().map(json_schema).collect()),
        other => other.clone(),
    }
}

fn check_example(spec: &Value, schema: &Value, example: &Value, at: &str, checked: &mut usize) {
    let definitions = json_schema(&spec["components"]["schemas"]);
    let mut root = json_schema(schema);
    if let Value::Object(map) = &mut root {
        map.insert("definitions".into(), definitions);
    } else {
        panic!("{at}: schema is not an object");
    }
    let validator = jsonschema::validator_for(&root).unwrap_or_else(|e| panic!("{at}: schema does not compile: {e}"));
    let errors: Vec<String> = validator.iter_errors(example).map(|e| format!("{} at {}", e, e.instance_path)).collect();
    assert!(errors.is_empty(), "{at}: example does not match its schema: {errors:#?}");
    *checked += 1;
}

#[test]
fn every_example_validates_against_its_schema() {
    let spec = raw();
    let mut checked = 0;
    // Media-type and parameter examples, anywhere (paths, x-webhooks, components).
    fn walk(spec: &Value, node: &Value, at: &str, checked: &mut usize) {
        match node {
            Value::Object(map) => {
                if let (Some(schema), Some(example)) = (map.get("schema"), map.get("example")) {
                    check_example(spec, schema, example, at, checked);
                }
                for (k, v) in map {
                    walk(spec, v, &format!("{at}/{k}"), checked);
                }
            }
            Value::Array(items) => items.iter().enumerate().for_each(|(i, v)| walk(spec, v, &format!("{at}[{i}]"), checked)),
            _ => {}
        }
    }
    walk(&spec, &spec, "", &mut checked);
    // Schema-level examples of named schemas.
    for (name, schema) in spec["components"]["schemas"].as_object().unwrap() {
        if let Some(example) = schema.get("example") {
            check_example(&spec, schema, example, &format!("schemas/{name}"), &mut checked);
        }
    }
    assert!(checked >= 60, "only {checked} examples were checked");
}

#[test]
fn an_example_that_breaks_its_schema_is_caught() {
    // The example check must be able to fail: an IPG send without callback_url and a short amount.
    let spec = raw();
    let schema = json!({"$ref": "#/components/schemas/IpgSendRequest"});
    let bad = json!({"api_key": "k", "amount": 999});
    let result = std::panic::catch_unwind(|| check_example(&spec, &schema, &bad, "probe", &mut 0));
    assert!(result.is_err());
}

#[test]
fn security_follows_the_host() {
    let spec = raw();
    assert_eq!(spec["security"], json!([{"bearerAuth": []}]));
    assert_eq!(spec["servers"], json!([{"url": "https://api.vandar.io"}]));
    let token_url = &spec["components"]["securitySchemes"]["miandoOAuth"]["flows"]["clientCredentials"]["tokenUrl"];
    assert_eq!(token_url, "https://api.vandar.io/sso/oauth/token");
    for (method, host, path, op) in operations(&spec) {
        let id = op["operationId"].as_str().unwrap();
        let redirect = op["responses"].get("302").is_some();
        let expected = if host == "ipg" || redirect || id == "token_refresh" || id == "miando_token" {
            Some(json!([]))
        } else if path.starts_with("/miando/") {
            Some(json!([{"miandoOAuth": []}]))
        } else {
            None // the document default, bearerAuth
        };
        assert_eq!(op.get("security").cloned(), expected, "{method} {path} ({id})");
    }
}

#[test]
fn listed_only_operations_are_open_and_the_rest_are_typed() {
    let spec = raw();
    let mut listed_only = 0;
    for (method, _, path, op) in operations(&spec) {
        let detail = op["x-vandar-detail"].as_str();
        let success = op["responses"].as_object().unwrap().iter().find(|(c, _)| c.starts_with('2'));
        let Some((_, response)) = success else { continue }; // browser redirects
        let open = response["$ref"] == "#/components/responses/Undocumented";
        match detail {
            Some("listed-only") => {
                listed_only += 1;
                assert!(open, "{method} {path}: listed-only but its answer is typed");
            }
            Some("request-only") => assert!(open, "{method} {path}: request-only but its answer is typed"),
            None => assert!(!open, "{method} {path}: answer is open but the operation is not marked"),
            Some(other) => panic!("{method} {path}: unknown x-vandar-detail {other}"),
        }
    }
    assert!(listed_only >= 35, "{listed_only} listed-only operations");
}

#[test]
fn every_amount_states_its_unit() {
    fn walk(schema: &Value, at: &str, missing: &mut Vec<String>) {
        for (name, prop) in schema["properties"].as_object().into_iter().flatten() {
            let money = ["amount", "wage", "balance", "price", "limit"].iter().any(|w| name.contains(w)) && !name.starts_with("time_");
            let described = prop["description"].as_str().unwrap_or_default();
            let is_enum = prop.get("$ref").is_some() && prop.get("description").is_none() && name.contains("type");
            if money && !is_enum && !["Rial", "Toman", "unit"].iter().any(|u| described.contains(u)) && prop["type"] != "object" {
                missing.push(format!("{at}.{name}"));
            }
            walk(prop, &format!("{at}.{name}"), missing);
        }
        if schema["items"].is_object() {
            walk(&schema["items"], &format!("{at}[]"), missing);
        }
        for key in ["allOf", "oneOf"] {
            for part in schema[key].as_array().into_iter().flatten() {
                walk(part, at, missing);
            }
        }
    }
    let spec = raw();
    let mut missing = Vec::new();
    for (name, schema) in spec["components"]["schemas"].as_object().unwrap() {
        walk(schema, name, &mut missing);
    }
    assert!(missing.is_empty(), "amounts without a unit: {missing:#?}");
}

/// Every amount whose description states one unit refers to the money schema of that unit (so
/// generated clients carry the unit in the type); one whose unit the documents leave unstated or in
/// conflict refers to none (a unit is never guessed).
#[test]
fn stated_units_are_typed_and_unstated_ones_are_not() {
    fn walk(schema: &Value, at: &str, wrong: &mut Vec<String>) {
        for (name, prop) in schema["properties"].as_object().into_iter().flatten() {
            let money = ["amount", "wage", "balance", "price", "limit", "wallet"].iter().any(|w| name.to_lowercase().contains(w))
                && !name.starts_with("time_")
                && !name.ends_with("_type");
            let described = prop["description"].as_str().unwrap_or_default();
            let unit = prop["allOf"][0]["$ref"].as_str().and_then(|r| r.rsplit('/').next()).filter(|r| r.starts_with("Rials") || *r == "Tomans");
            let unstated = ["do not state", "does not restate", "conflict"].iter().any(|u| described.contains(u));
            if money && prop["type"] != "object" && prop["type"] != "array" {
                let expected = match (unstated, described.contains("Toman"), described.contains("Rial")) {
                    (true, _, _) => None,
                    (false, true, false) => Some("Tomans"),
                    (false, false, true) => Some("Rials"),
                    _ => Some("?"),
                };
                let ok = match (expected, unit) {
                    (None, None) => true,
                    (Some("Tomans"), Some("Tomans")) => true,
                    (Some("Rials"), Some(u)) => u.starts_with("Rials"),
                    _ => false,
                };
                if !ok {
                    wrong.push(format!("{at}.{name}: described {described:?}, refers to {unit:?}"));
                }
            }
            walk(prop, &format!("{at}.{name}"), wrong);
        }
        if schema["items"].is_object() {
            walk(&schema["items"], &format!("{at}[]"), wrong);
        }
        for key in ["allOf", "oneOf"] {
            for part in schema[key].as_array().into_iter().flatten() {
                walk(part, at, wrong);
            }
        }
    }
    let spec = raw();
    let mut wrong = Vec::new();
    for (name, schema) in spec["components"]["schemas"].as_object().unwrap() {
        walk(schema, name, &mut wrong);
    }
    assert!(wrong.is_empty(), "amounts typed against their stated unit: {wrong:#?}");
    for (money, unit) in [("Rials", "rial"), ("Tomans", "toman"), ("RialsString", "rial"), ("RialsNumberOrString", "rial")] {
        assert_eq!(spec["components"]["schemas"][money]["x-vandar-unit"], unit);
    }
}

#[test]
fn browser_redirects_answer_302_with_location() {
    let spec = raw();
    let mut redirects: Vec<&str> = operations(&spec)
        .into_iter()
        .filter(|(_, _, _, op)| op["responses"].get("302").is_some())
        .map(|(_, _, _, op)| op["operationId"].as_str().unwrap())
        .collect();
    redirects.sort();
    assert_eq!(redirects, ["authorization_redirect", "ipg_redirect", "ravand_redirect"]);
    let location = &spec["components"]["responses"]["BrowserRedirect"]["headers"]["Location"];
    assert_eq!(location["$ref"], "#/components/headers/Location");
}

#[test]
fn miando_webhooks_are_described() {
    let spec = raw();
    let hook = &spec["x-webhooks"]["miando_event"]["post"];
    assert_eq!(hook["parameters"][0]["$ref"], "#/components/parameters/XSignature");
    let event = &spec["components"]["schemas"]["MiandoWebhookEvent"];
    assert_eq!(event["required"], json!(["created", "type", "data"]));
    let slugs = spec["components"]["schemas"]["MiandoWebhookEventType"]["x-extensible-enum"].as_array().unwrap();
    assert_eq!(slugs.len(), 13);
}

#[test]
fn every_operation_has_a_description() {
    let spec = raw();
    let missing: Vec<&str> = operations(&spec)
        .into_iter()
        .filter(|(_, _, _, op)| op["description"].as_str().is_none_or(|d| d.trim().is_empty()))
        .map(|(_, _, _, op)| op["operationId"].as_str().unwrap())
        .collect();
    assert!(missing.is_empty(), "operations without a description: {missing:?}");
}

/// `#/components/responses/<name>` of an operation's answer `code`, or None.
fn response_ref<'a>(op: &'a Value, code: &str) -> Option<&'a str> {
    op["responses"][code]["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/responses/"))
}

#[test]
fn every_operation_declares_default_429_and_401_in_its_hosts_shape() {
    let spec = raw();
    for (method, host, path, op) in operations(&spec) {
        let id = op["operationId"].as_str().unwrap();
        let redirect = op["responses"].get("302").is_some();
        let miando = path.starts_with("/miando/") || id == "miando_token";
        let (default, unauthenticated) = match () {
            _ if redirect => ("BrowserError", None),
            _ if host == "ipg" => ("IpgDefaultError", Some("IpgError")),
            _ if miando => ("MiandoDefaultError", Some("MiandoUnauthenticated")),
            _ => ("DefaultError", Some("Unauthenticated")),
        };
        assert_eq!(response_ref(op, "default"), Some(default), "{method} {path} ({id}): default");
        assert_eq!(response_ref(op, "429"), Some("TooManyRequests"), "{method} {path} ({id}): 429");
        // Every call that takes a credential (bearer or Miando token, IPG api_key, refresh token, client secret)
        // can be refused with 401; only the browser redirects take none.
        assert_eq!(response_ref(op, "401"), unauthenticated, "{method} {path} ({id}): 401");
    }
    let responses = &spec["components"]["responses"];
    assert_eq!(responses["TooManyRequests"]["headers"]["Retry-After"]["$ref"], "#/components/headers/RetryAfter");
    for (name, schema) in [("DefaultError", "Error"), ("IpgDefaultError", "IpgError"), ("MiandoDefaultError", "MiandoError")] {
        let shape = &responses[name]["content"]["application/json"]["schema"]["$ref"];
        assert_eq!(shape, &json!(format!("#/components/schemas/{schema}")), "{name}");
    }
}

#[test]
fn miando_declares_its_documented_refusals() {
    let spec = raw();
    let by_id = |id: &str| operations(&spec).into_iter().find(|(_, _, _, op)| op["operationId"] == id).unwrap().3;
    for (id, code, response) in [
        ("miando_customer_show", "400", "MiandoUserNotFound"),
        ("agreement_create", "400", "MiandoUserNotFound"),
        ("agreement_action", "400", "MiandoBadRequest"),
        ("agreement_finalize", "400", "MiandoBadRequest"),
        ("agreement_cancel", "400", "MiandoBadRequest"),
        ("agreement_show", "404", "MiandoNotFound"),
        ("webhook_show", "404", "MiandoNotFound"),
        ("webhook_update", "404", "MiandoNotFound"),
        ("webhook_delete", "404", "MiandoNotFound"),
    ] {
        assert_eq!(response_ref(by_id(id), code), Some(response), "{id} {code}");
    }
    let code = |name: &str| spec["components"]["responses"][name]["content"]["application/json"]["example"]["code"].clone();
    assert_eq!(code("MiandoUserNotFound"), "user_not_found");
    assert_eq!(code("MiandoBadRequest"), "invalid_state_agreement");
    assert_eq!(code("MiandoNotFound"), "not_found_error");
}

/// Every schema node reachable from `node` (following `$ref`s once each), with where it was reached.
fn reachable<'a>(spec: &'a Value, node: &'a Value, at: String, seen: &mut BTreeSet<String>, out: &mut Vec<(String, &'a Value)>) {
    match node {
        Value::Object(map) => {
            if let Some(r) = map.get("$ref").and_then(Value::as_str) {
                if seen.insert(r.to_string()) {
                    reachable(spec, spec.pointer(r.strip_prefix('#').unwrap()).unwrap(), r.to_string(), seen, out);
                }
            }
            out.push((at.clone(), node));
            for (k, v) in map {
                if k != "example" && k != "examples" {
                    reachable(spec, v, format!("{at}/{k}"), seen, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| reachable(spec, v, at.clone(), seen, out)),
        _ => {}
    }
}

#[test]
fn answers_have_open_enums_and_requests_keep_closed_ones() {
    let spec = raw();
    // What Vandar sends: every answer, and what x-webhooks delivers (bodies and callback parameters).
    let mut sent = Vec::new();
    let mut seen = BTreeSet::new();
    for (_, _, _, op) in operations(&spec) {
        reachable(&spec, &op["responses"], format!("{}/responses", op["operationId"].as_str().unwrap()), &mut seen, &mut sent);
    }
    reachable(&spec, &spec["x-webhooks"], "x-webhooks".into(), &mut seen, &mut sent);
    let closed: Vec<&String> = sent.iter().filter(|(_, node)| node.get("enum").is_some()).map(|(at, _)| at).collect();
    assert!(closed.is_empty(), "closed enums in what Vandar sends (a new value would break clients): {closed:#?}");
    let open = sent.iter().filter(|(_, node)| node.get("x-extensible-enum").is_some()).count();
    assert!(open >= 15, "only {open} open enums reached from the answers");

    // What you send keeps closed enums, so generated clients check the values.
    let mut sending = Vec::new();
    let mut seen = BTreeSet::new();
    for (_, _, _, op) in operations(&spec) {
        reachable(&spec, &op["requestBody"], "request".into(), &mut seen, &mut sending);
        reachable(&spec, &op["parameters"], "parameters".into(), &mut seen, &mut sending);
    }
    let closed = sending.iter().filter(|(_, node)| node.get("enum").is_some()).count();
    assert!(closed >= 15, "only {closed} closed enums in requests");
}

#[test]
fn open_enums_list_their_values_for_readers_and_tools() {
    let spec = raw();
    let schemas = spec["components"]["schemas"].as_object().unwrap();
    let mut open = 0;
    for (name, schema) in schemas.iter().filter(|(_, s)| s.get("x-extensible-enum").is_some()) {
        open += 1;
        assert_eq!(schema["type"], "string", "{name}: an open enum is a plain string");
        assert!(schema.get("enum").is_none(), "{name}: enum and x-extensible-enum");
        let values = schema["x-extensible-enum"].as_array().unwrap();
        assert!(!values.is_empty(), "{name}: no documented values");
        let description = schema["description"].as_str().unwrap_or_default();
        for value in values {
            assert!(description.contains(value.as_str().unwrap()), "{name}: the description does not list {value}");
        }
        if let Some(twin) = schema["x-vandar-request-enum"].as_str() {
            assert_eq!(&schemas[twin]["enum"], &schema["x-extensible-enum"], "{name}: values differ from {twin}'s");
        }
    }
    assert!(open >= 18, "{open} open enums");
}


/// The date schema a property is typed with (`$ref` or `allOf: [$ref]`), if any.
fn date_schema(spec: &Value, property: &Value) -> Option<String> {
    let named = |node: &Value| node["$ref"].as_str().and_then(|r| r.rsplit('/').next()).map(String::from);
    let name = named(property).or_else(|| property["allOf"].as_array().into_iter().flatten().find_map(named))?;
    let _ = spec;
    // TehranDateTimeOrNull: the nullable twin (OpenAPI 3.0's `nullable` does not reach through a `$ref`).
    ["JalaliDate", "JalaliDateSlashed", "JalaliDateTime", "TehranDateTime", "TehranDateTimeOrNull"].contains(&name.as_str()).then_some(name)
}

/// What a date-like string in an example needs to be typed as, by its shape.
fn date_shape(text: &str) -> Option<&'static str> {
    let digits_and = |allowed: &[char]| !text.is_empty() && text.chars().all(|c| c.is_ascii_digit() || allowed.contains(&c));
    let jalali_year = text.get(..2).is_some_and(|y| y == "13" || y == "14");
    if jalali_year && text.contains('/') && digits_and(&['/', ' ', ':', '-']) {
        return Some("a Jalali date or date-time");
    }
    if text.contains(" - ") && text.contains('/') && digits_and(&['/', ' ', ':', '-']) {
        return Some("a Jalali date-time");
    }
    let gregorian = text.len() >= 10 && text.as_bytes()[4] == b'-' && text.as_bytes()[7] == b'-' && text[..4].chars().all(|c| c.is_ascii_digit());
    if gregorian && text.len() == 19 && text.as_bytes()[10] == b' ' {
        return Some("a Tehran date-time");
    }
    if gregorian && text.len() == 10 {
        return Some("a Gregorian date (format: date)");
    }
    if gregorian && text.contains('T') {
        return Some("an ISO 8601 date-time (format: date-time)");
    }
    None
}

fn walk_dates(spec: &Value, schema: &Value, example: &Value, at: &str, found: &mut Vec<String>, typed: &mut usize) {
    let schema = match schema["$ref"].as_str() {
        Some(r) => spec.pointer(r.trim_start_matches('#')).unwrap_or(&Value::Null),
        None => schema,
    };
    let property = |name: &str| -> Option<&Value> {
        let mut parts = vec![schema];
        let mut i = 0;
        while i < parts.len() {
            let part = match parts[i]["$ref"].as_str() {
                Some(r) => spec.pointer(r.trim_start_matches('#')).unwrap_or(&Value::Null),
                None => parts[i],
            };
            if let Some(p) = part["properties"].get(name) {
                return Some(p);
            }
            parts.extend(["allOf", "oneOf", "anyOf"].iter().flat_map(|k| part[*k].as_array().into_iter().flatten()));
            i += 1;
        }
        None
    };
    match example {
        Value::Object(fields) => {
            for (name, value) in fields {
                let Some(prop) = property(name) else { continue };
                if let Some(shape) = value.as_str().and_then(date_shape) {
                    let resolved = match prop["$ref"].as_str() {
                        Some(r) => spec.pointer(r.trim_start_matches('#')).unwrap_or(&Value::Null),
                        None => prop,
                    };
                    let formatted = matches!(resolved["format"].as_str(), Some("date" | "date-time"));
                    if date_schema(spec, prop).is_some() || formatted {
                        *typed += 1;
                    } else {
                        found.push(format!("{at}.{name} = {value}: {shape}, typed as a plain string"));
                    }
                }
                walk_dates(spec, prop, value, &format!("{at}.{name}"), found, typed);
            }
        }
        Value::Array(items) => {
            for item in items {
                walk_dates(spec, &schema["items"], item, &format!("{at}[]"), found, typed);
            }
        }
        _ => {}
    }
}

#[test]
fn every_date_the_examples_show_is_typed() {
    let spec = raw();
    let (mut found, mut typed) = (Vec::new(), 0);
    for (method, _, path, op) in operations(&spec) {
        let bodies = std::iter::once(&op["requestBody"]).chain(op["responses"].as_object().unwrap().values());
        for body in bodies {
            for (media, content) in body["content"].as_object().into_iter().flatten() {
                if let Some(example) = content.get("example") {
                    walk_dates(&spec, &content["schema"], example, &format!("{method} {path} {media}"), &mut found, &mut typed);
                }
            }
        }
    }
    // Fields anywhere in the spec documented as dates in words, with or without an example.
    fn described_dates(node: &Value, at: &str, found: &mut Vec<String>) {
        match node {
            Value::Object(map) => {
                for (field, prop) in map.get("properties").and_then(Value::as_object).into_iter().flatten() {
                    let says_date = prop["description"].as_str().is_some_and(|d| d.contains("Jalali") || d.contains("YYYY-MM-DD HH"));
                    if prop["type"] == "string" && says_date {
                        found.push(format!("{at}.{field}: described as a date, typed as a plain string"));
                    }
                }
                map.iter().for_each(|(k, v)| described_dates(v, &format!("{at}/{k}"), found));
            }
            Value::Array(items) => items.iter().for_each(|v| described_dates(v, at, found)),
            _ => {}
        }
    }
    described_dates(&spec, "", &mut found);
    assert!(found.is_empty(), "dates typed as plain strings:\n{}", found.join("\n"));
    assert!(typed >= 10, "the walk reached the documents' dated examples ({typed})");
}

#[test]
fn every_pattern_compiles_in_the_dialect_the_client_checks_with() {
    fn patterns<'a>(node: &'a Value, out: &mut Vec<&'a str>) {
        match node {
            Value::Object(map) => {
                if let Some(p) = map.get("pattern").and_then(Value::as_str) {
                    out.push(p);
                }
                map.values().for_each(|v| patterns(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| patterns(v, out)),
            _ => {}
        }
    }
    let spec = raw();
    let mut found = Vec::new();
    patterns(&spec, &mut found);
    assert!(found.len() >= 5, "the walk found the spec's patterns");
    for pattern in found {
        // The ECMA-262 features regex-lite reads differently or not at all.
        assert!(!pattern.contains("(?<") && !pattern.contains("\\p{") && !pattern.contains("\\u"), "{pattern}");
        assert!(regex_lite::Regex::new(pattern).is_ok(), "{pattern} does not compile in regex-lite");
    }
}

/// OpenAPI 3.0's `nullable` adds null only to the `type` beside it: beside an `allOf` or `$ref` it cannot
/// relax the referenced schema, and validators (ajv, openapi-core, jsonschema) refuse the null (issue 23:
/// IpgTransaction.paymentDate). A nullable value needs its own `type`, or a nullable named twin.
#[test]
fn nullable_sits_beside_its_own_type() {
    fn walk(node: &Value, at: &str, found: &mut Vec<String>) {
        match node {
            Value::Object(map) => {
                if map.get("nullable") == Some(&Value::Bool(true)) {
                    let composed = ["allOf", "anyOf", "oneOf", "$ref"].iter().any(|k| map.contains_key(*k));
                    if composed || !map.contains_key("type") {
                        found.push(at.to_string());
                    }
                }
                map.iter().for_each(|(k, v)| walk(v, &format!("{at}/{k}"), found));
            }
            Value::Array(items) => items.iter().enumerate().for_each(|(i, v)| walk(v, &format!("{at}/{i}"), found)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    walk(&raw(), "", &mut found);
    assert!(found.is_empty(), "nullable beside a composition or without its own type:\n{}", found.join("\n"));
}

/// spec/schemathesis.toml accepts a 422 for a well-formed request on exactly the operations the spec marks
/// `x-vandar-state-checks` (a field refused for what the business holds): a mark without the entry fails the fuzzer
/// on a valid refusal, an entry without a mark hides a wrong 422 from it.
#[test]
fn the_fuzzers_state_refusals_are_the_marked_operations() {
    let spec = raw();
    let marked: BTreeSet<String> = operations(&spec)
        .into_iter()
        .filter(|(_, _, _, op)| op.get("x-vandar-state-checks").is_some_and(|checks| checks.as_object().is_some_and(|m| !m.is_empty())))
        .map(|(_, _, _, op)| op["operationId"].as_str().unwrap().to_string())
        .collect();
    let config = include_str!("../spec/schemathesis.toml");
    let line = config.lines().find(|l| l.starts_with("include-operation-id-regex")).expect("the state-checks entry");
    let listed: BTreeSet<String> = line
        .split_once("^(")
        .and_then(|(_, rest)| rest.split_once(")$"))
        .map(|(ids, _)| ids.split('|').map(str::to_string).collect())
        .expect("include-operation-id-regex = \"^(a|b)$\"");
    assert_eq!(listed, marked, "spec/schemathesis.toml's 422 list and the spec's x-vandar-state-checks differ");
    assert!(marked.len() >= 8, "{marked:?}");
    // Every mark names fields its operation takes (body properties or parameters).
    for (_, _, _, op) in operations(&spec).into_iter().filter(|(_, _, _, op)| op.get("x-vandar-state-checks").is_some()) {
        let text = serde_json::to_string(op).unwrap();
        let schema_text = SPEC;
        for field in op["x-vandar-state-checks"].as_object().unwrap().keys() {
            assert!(text.contains(&format!("\"{field}\"")) || schema_text.contains(&format!("{field}:")), "{}: {field}", op["operationId"]);
        }
    }
}
