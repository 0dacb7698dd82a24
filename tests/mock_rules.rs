//! The mock refuses every request-body rule spec/vandar.yaml states (issue 23): this walks the spec, and for each
//! operation whose request body has an example breaks one rule at a time (a required field left out, a closed
//! enum given an unknown value, a number below its minimum or above its maximum, a string longer than its
//! maxLength, a field sent without the one `x-dependentRequired` says it needs) and proves the mock answers 422
//! naming the field. The mock and the Rust client check the same generated table (`crate::validate`).
#![cfg(feature = "mock")]

use serde_json::{json, Value};
use vandar::mock::MockVandar;
use vandar::Host;

fn spec() -> Value {
    serde_yaml::from_str(include_str!("../spec/vandar.yaml")).unwrap()
}

fn resolve<'a>(spec: &'a Value, node: &'a Value) -> &'a Value {
    match node["$ref"].as_str() {
        Some(r) => spec.pointer(r.trim_start_matches('#')).unwrap(),
        None => node,
    }
}

/// The top-level properties, required list and dependentRequired of a body schema (allOf merged, one level).
fn shape(spec: &Value, schema: &Value) -> (serde_json::Map<String, Value>, Vec<String>, Vec<(String, String)>) {
    let schema = resolve(spec, schema);
    let (mut properties, mut required, mut depends) = (serde_json::Map::new(), Vec::new(), Vec::new());
    for part in std::iter::once(schema).chain(schema["allOf"].as_array().into_iter().flatten().map(|p| resolve(spec, p))) {
        properties.extend(part["properties"].as_object().cloned().unwrap_or_default());
        required.extend(part["required"].as_array().into_iter().flatten().filter_map(|v| v.as_str().map(String::from)));
        for (field, needs) in part["x-dependentRequired"].as_object().into_iter().flatten() {
            depends.extend(needs.as_array().into_iter().flatten().filter_map(|n| n.as_str().map(|n| (field.clone(), n.to_string()))));
        }
    }
    (properties, required, depends)
}

/// The bound of a property (its own keywords, or those of its allOf parts and $ref).
fn keyword(spec: &Value, property: &Value, name: &str) -> Option<Value> {
    property.get(name).cloned().or_else(|| {
        let parts = property["allOf"].as_array().into_iter().flatten().chain(std::iter::once(property));
        parts.filter(|p| p.get("$ref").is_some()).find_map(|p| resolve(spec, p).get(name).cloned())
    })
}

fn valid_ibans(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map.iter_mut() {
                if key == "iban" && inner.is_string() {
                    *inner = json!("IR330120020000002353697200");
                } else {
                    valid_ibans(inner);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(valid_ibans),
        _ => {}
    }
}

#[tokio::test]
async fn the_mock_refuses_every_request_rule_the_spec_states_naming_the_field() {
    let spec = spec();
    let mock = MockVandar::start().await.unwrap();
    let http = reqwest::Client::new();
    let c = mock.credentials();
    let issued: Value = http
        .post(format!("{}/sso/oauth/token", mock.base_url(Host::Api)))
        .json(&json!({"grant_type": "client_credentials", "client_id": c.miando_client_id, "client_secret": c.miando_client_secret}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let miando_token = issued["access_token"].as_str().expect("a Miando token").to_string();
    let (mut checked, mut refused_wrongly) = (0, Vec::new());
    for (path, item) in spec["paths"].as_object().unwrap() {
        let host = match item["servers"][0]["url"].as_str() {
            Some("https://ipg.vandar.io") => Host::Ipg,
            Some("https://batch.vandar.io") => Host::Batch,
            Some("https://subscription.vandar.io") => Host::Subscription,
            _ => Host::Api,
        };
        for method in ["post", "put", "patch", "delete"] {
            let Some(op) = item.get(method) else { continue };
            let media = &resolve(&spec, &op["requestBody"])["content"]["application/json"];
            let Some(schema) = media.get("schema") else { continue };
            // The documents' example, with its IBANs made valid (some fail their mod-97 check, which the mock
            // refuses first): the baseline must break no rule but the one under test.
            let mut example = media["example"].clone();
            valid_ibans(&mut example);
            let Some(example) = example.as_object() else { continue };
            let (properties, required, depends) = shape(&spec, schema);
            let mut broken: Vec<(String, Value)> = Vec::new();
            for field in &required {
                let mut body = example.clone();
                body.remove(field);
                broken.push((field.clone(), Value::Object(body)));
            }
            for (field, needs) in &depends {
                let mut body = example.clone();
                body.insert(field.clone(), example.get(field).cloned().unwrap_or(json!("0013542419")));
                body.remove(needs);
                broken.push((field.clone(), Value::Object(body)));
            }
            for (field, property) in &properties {
                let mut with = |value: Value| {
                    let mut body = example.clone();
                    body.insert(field.clone(), value);
                    broken.push((field.clone(), Value::Object(body)));
                };
                if keyword(&spec, property, "enum").is_some() {
                    with(json!("not-a-documented-value"));
                }
                if let Some(min) = keyword(&spec, property, "minimum").and_then(|m| m.as_f64()) {
                    with(json!(min as i64 - 1));
                }
                if let Some(max) = keyword(&spec, property, "maximum").and_then(|m| m.as_f64()) {
                    with(json!(max as i64 + 1));
                }
                if let Some(max) = keyword(&spec, property, "maxLength").and_then(|m| m.as_u64()) {
                    with(json!("x".repeat(max as usize + 1)));
                }
            }
            let url = format!("{}{}", mock.base_url(host), path.replace("{business}", "mock-shop"));
            let url = regex_lite::Regex::new(r"\{[^}]+\}").unwrap().replace_all(&url, "1").into_owned();
            // The credential the operation's `security` names: the mock checks it before the body, as Vandar does.
            let token = if path.starts_with("/miando/") { miando_token.clone() } else { mock.credentials().access_token };
            for (field, body) in broken {
                let answer = http.request(method.parse().unwrap(), &url).bearer_auth(&token).json(&body).send().await.unwrap();
                let status = answer.status().as_u16();
                let text = answer.text().await.unwrap();
                checked += 1;
                if status != 422 || !text.contains(&field) {
                    refused_wrongly.push(format!("{} {method} {path}: {field} broken in {body}: {status} {text}", op["operationId"]));
                }
            }
        }
    }
    assert!(refused_wrongly.is_empty(), "{} of {checked} broken rules not refused with 422 naming the field:\n{}", refused_wrongly.len(), refused_wrongly.join("\n"));
    assert!(checked >= 90, "the walk reached the spec's rules ({checked})");
}

#[tokio::test]
async fn ipg_send_refuses_national_code_without_mobile_number_as_the_spec_says() {
    let mock = MockVandar::start().await.unwrap();
    let body = json!({"api_key": mock.credentials().ipg_api_key, "amount": 10_000, "callback_url": "https://shop.example/cb", "national_code": "0013542419"});
    let answer = reqwest::Client::new().post(format!("{}/api/v4/send", mock.base_url(Host::Ipg))).json(&body).send().await.unwrap();
    assert_eq!(answer.status(), 422);
    let refusal: Value = answer.json().await.unwrap();
    assert_eq!(refusal["status"], 0, "the IPG shape: {refusal}");
    assert!(refusal["errors"][0].as_str().unwrap().contains("national_code"), "{refusal}");
}

/// A method the spec does not declare on a path is 405 with `Allow` naming the ones it does, in
/// Vandar's JSON error shape (405 is in Vandar's error table), before any body rule is read.
#[tokio::test]
async fn an_undeclared_method_is_405_with_allow() {
    let mock = MockVandar::start().await.unwrap();
    let http = reqwest::Client::new();
    let api = mock.base_url(Host::Api).to_string();
    for (method, path, allowed) in [
        (reqwest::Method::PUT, "/v2/business/mock-shop/balance", "GET"),
        (reqwest::Method::PATCH, "/v3/business/mock-shop/settlement/store", "POST"),
    ] {
        let answer = http.request(method.clone(), format!("{api}{path}")).header("content-type", "application/json").body("{\"amount\": \"x\"}").send().await.unwrap();
        assert_eq!(answer.status(), 405, "{method} {path}");
        let allow = answer.headers().get("allow").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        assert!(allow.split(',').map(str::trim).any(|m| m == allowed), "{method} {path}: Allow {allow:?}");
        let body: Value = answer.json().await.expect("a JSON error body");
        assert_eq!(body["status"], 0, "{body}");
    }
}

/// What Vandar's framework does before a handler runs (issue 35): authentication before validation, the method
/// checked against the most specific path, and every refusal in the host's JSON shape, never plain text.
#[tokio::test]
async fn authentication_comes_first_undeclared_methods_are_405_and_refusals_are_json() {
    let mock = MockVandar::start().await.unwrap();
    let (api, ipg) = (mock.base_url(Host::Api), mock.base_url(Host::Ipg));
    let token = mock.credentials().access_token;
    let http = reqwest::Client::new();

    // A broken body without a token: 401, not 422 for the body.
    let unauthenticated = http.post(format!("{api}/v3/business/mock-shop/settlement/store")).json(&json!({"iban": "IR00"})).send().await.unwrap();
    assert_eq!(unauthenticated.status(), 401);
    let miando = http.post(format!("{api}/miando/api/v1/customers")).json(&json!({})).send().await.unwrap();
    assert_eq!(miando.status(), 401, "Miando's operations too (security: miandoOAuth)");
    // With the token, the same body is 422 naming the field.
    let refused = http.post(format!("{api}/v3/business/mock-shop/settlement/store")).bearer_auth(&token).json(&json!({"iban": "IR00"})).send().await.unwrap();
    assert_eq!(refused.status(), 422);

    // PUT /customers/fields is not PUT /customers/{customer}: the path declares GET and POST.
    let undeclared = http.put(format!("{api}/v2/business/mock-shop/customers/fields")).bearer_auth(&token).json(&json!({"type": "INDIVIDUAL"})).send().await.unwrap();
    assert_eq!(undeclared.status(), 405);
    assert_eq!(undeclared.headers()["allow"], "GET, POST");
    assert!(undeclared.headers()["content-type"].to_str().unwrap().starts_with("application/json"));

    // A body that is not JSON, an id past i64, a duplicated query field: JSON in the host's shape.
    let cases = [
        http.post(format!("{api}/v3/refreshtoken")).header("content-type", "application/json").body("\u{0}"),
        http.delete(format!("{api}/v2.1/business/mock-shop/settlement/9223372036854775808")).bearer_auth(&token),
        http.post(format!("{ipg}/api/v4/send")).header("content-type", "application/json").body("{"),
    ];
    for (n, request) in cases.into_iter().enumerate() {
        let answer = request.send().await.unwrap();
        let status = answer.status().as_u16();
        let content_type = answer.headers()["content-type"].to_str().unwrap().to_string();
        let body: Value = answer.json().await.unwrap_or(Value::Null);
        assert!(content_type.starts_with("application/json") && body.is_object(), "case {n}: {status} {content_type} {body}");
        assert!((400..500).contains(&status), "case {n}: {status}");
        if n == 1 {
            assert_eq!(status, 404, "no record can have an id past i64");
        }
        if n == 2 {
            assert!(body["errors"].is_array(), "IPG's shape: {body}");
        }
    }
}

/// The rules schemathesis' deeper run (`--records`, reaching the mock's records) found the mock not holding (issue
/// 35): each field's JSON type, null only where `nullable`, a body the spec requires, a query value given once and of
/// its type and format, the token itself before the body; and values the spec allows, however large, answered
/// without a panic.
#[tokio::test]
async fn the_mock_holds_types_bodies_queries_and_tokens_as_the_spec_states() {
    let mock = MockVandar::start().await.unwrap();
    let api = mock.base_url(Host::Api).to_string();
    let token = mock.credentials().access_token;
    let http = reqwest::Client::new();
    let b = format!("{api}/v3/business/mock-shop");
    let refusal = |answer: reqwest::Response| async move {
        let status = answer.status().as_u16();
        (status, answer.json::<Value>().await.unwrap_or(Value::Null))
    };

    // A field of another type, or null where the spec does not say nullable: 422 naming it.
    let customer = json!({"type": "INDIVIDUAL", "first_name": "رضا", "last_name": "رضایی", "mobile": "09123456789", "individual_national_code": "0013542419"});
    for (field, value) in [("mcc_code", json!(7)), ("first_name", Value::Null), ("mobile", json!(9123456789u64))] {
        let mut body = customer.clone();
        body[field] = value.clone();
        let (status, answer) = refusal(http.post(format!("{api}/v2/business/mock-shop/customers")).bearer_auth(&token).json(&body).send().await.unwrap()).await;
        assert_eq!(status, 422, "{field}: {value} -> {answer}");
        assert!(answer["errors"][field].is_array(), "{field}: {answer}");
    }
    let created = http.post(format!("{api}/v2/business/mock-shop/customers")).bearer_auth(&token).json(&customer).send().await.unwrap();
    assert!(created.status().is_success(), "the same body, well typed, is taken");

    // A listed-only operation whose spec requires a body: none, a body that is not JSON, or an array, is 422.
    let ravand = format!("{api}/v1/business/mock-shop/ravand/set-config");
    for body in ["", "\u{0}", "[]"] {
        let (status, answer) = refusal(http.post(&ravand).bearer_auth(&token).header("content-type", "application/json").body(body).send().await.unwrap()).await;
        assert_eq!((status, answer["errors"]["body"].is_array()), (422, true), "{body:?}: {answer}");
    }
    assert!(http.post(&ravand).bearer_auth(&token).json(&json!({})).send().await.unwrap().status().is_success());
    // A multipart upload must be a form; an empty form is one (its schema names no field).
    let upload = format!("{api}/v1/business/mock-shop/ravand/provider/1/cardholder/1/upload");
    let form = |body: &'static str| http.post(&upload).bearer_auth(&token).header("content-type", "multipart/form-data; boundary=xyz").body(body);
    assert_eq!(form("--xyz\r\nNone--xyz--\r\n").send().await.unwrap().status(), 422);
    assert_eq!(http.post(&upload).bearer_auth(&token).json(&json!({})).send().await.unwrap().status(), 422, "JSON is no form");
    assert!(form("--xyz--\r\n").send().await.unwrap().status().is_success());
    assert!(form("--xyz\r\nContent-Disposition: form-data; name=\"id\u{1e}\"\r\n\r\nscan\r\n--xyz--\r\n").send().await.unwrap().status().is_success());

    // Query values: given once, of their type and format.
    for query in ["/settlement/banks?is_a2a_bank_healthy=null", "/settlement/banks?is_a2a_bank_healthy=true&is_a2a_bank_healthy=true", "/subscription/withdrawal?q=0", "/subscription/withdrawal?q="] {
        let (status, answer) = refusal(http.get(format!("{b}{query}")).bearer_auth(&token).send().await.unwrap()).await;
        assert_eq!(status, 422, "{query}: {answer}");
    }
    // An empty cursor is none (Laravel's empty string is null); a page size past i64 where the spec states no maximum
    // is every item.
    let v2 = format!("{api}/v2/business/mock-shop");
    for url in [format!("{b}/settlement/banks?is_a2a_bank_healthy=true"), format!("{b}/transaction?start_after="), format!("{v2}/iam?per_page=11789461960403808818869305344")] {
        let answer = http.get(&url).bearer_auth(&token).send().await.unwrap();
        let query = url.rsplit('/').next().unwrap().to_string();
        assert!(answer.status().is_success(), "{query}: {}", answer.status());
    }

    // A token that is not the current one is 401 before the body is read (a repeated track_id would be 422).
    let deposit = format!("{b}/cash-in/account/deposit");
    let body = json!({"iban": "IR330120020000002353697200", "amount": 1000, "track_id": "t-1"});
    assert!(http.post(&deposit).bearer_auth(&token).json(&body).send().await.unwrap().status().is_success());
    assert_eq!(http.post(&deposit).bearer_auth(&token).json(&body).send().await.unwrap().status(), 422, "a repeated track_id");
    assert_eq!(http.post(&deposit).bearer_auth("not-the-token").json(&body).send().await.unwrap().status(), 401);

    // Amounts up to i64 (what the spec allows) are answered, never a dropped connection: a deposit fills the wallet
    // at i64, a settlement past it is more than the wallet holds.
    let huge = json!({"iban": "IR330120020000002353697200", "amount": i64::MAX - 1, "track_id": "t-2"});
    assert!(http.post(&deposit).bearer_auth(&token).json(&huge).send().await.unwrap().status().is_success());
    assert_eq!(mock.wallet_rials(), i64::MAX);
    let settle = json!({"iban": "IR330120020000002353697200", "amount": i64::MAX - 1, "track_id": "t-3", "is_instant": true});
    let (status, answer) = refusal(http.post(format!("{b}/settlement/store")).bearer_auth(&token).json(&settle).send().await.unwrap()).await;
    assert_eq!(status, 422, "{answer}");
    assert!(answer["errors"]["amount"].is_array(), "{answer}");
}
