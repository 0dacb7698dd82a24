//! The spec cut down to one host: progenitor ignores `servers`, so the spec is split into one
//! spec per host (path-level `servers` entry; none = the first host, the top-level server) and
//! each host gets its own generated `Client`. The hosts themselves are the spec's `x-vandar-hosts`
//! list, so the spec is their one owner (module and Cargo feature name, base URL).
//!
//! What else progenitor lacks, and why leaving it out of the copy is safe:
//!
//! * progenitor asserts one error type per operation, and Vandar's error bodies differ even within
//!   one operation, so error responses are dropped from the copy: non-2xx answers reach
//!   `crate::transport`, which decodes every documented error shape into `vandar::Error`.
//! * Browser redirects (only a 302 answer) and multipart bodies are left out of the copy; the
//!   hand-written layer offers a typed call for each (src/redirects.rs, src/ravand.rs).
//! * Only the components this host's paths reach are kept, so each module holds its own types.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::spec::{collect_refs, lookup, METHODS};

/// One Vandar host: its generated module and Cargo feature, and its base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    pub name: String,
    pub base_url: String,
}

/// The spec's `x-vandar-hosts`, in order; the first is the top-level server (the default host).
/// Refuses a list whose first entry is not the top-level server, and a path whose `servers` entry
/// names no listed host (its operations would silently be generated nowhere).
pub fn hosts(spec: &Value) -> Result<Vec<Host>, String> {
    let listed = spec["x-vandar-hosts"].as_array().ok_or("x-vandar-hosts: missing (the list of hosts, name and url)")?;
    let mut hosts = Vec::new();
    for (i, entry) in listed.iter().enumerate() {
        let (Some(name), Some(url)) = (entry["name"].as_str(), entry["url"].as_str()) else {
            return Err(format!("x-vandar-hosts[{i}]: needs name and url"));
        };
        if !name.chars().all(|c| c.is_ascii_lowercase() || c == '_') || hosts.iter().any(|h: &Host| h.name == name) {
            return Err(format!("x-vandar-hosts[{i}]: name {name:?} must be unique snake_case (a Rust module and Cargo feature)"));
        }
        hosts.push(Host { name: name.to_string(), base_url: url.to_string() });
    }
    let default = hosts.first().ok_or("x-vandar-hosts: empty")?;
    if spec["servers"][0]["url"].as_str() != Some(default.base_url.as_str()) {
        return Err(format!("x-vandar-hosts: the first host ({}) must be the top-level server", default.base_url));
    }
    for (path, item) in spec["paths"].as_object().into_iter().flatten() {
        let url = host_of(item, default);
        if !hosts.iter().any(|h| h.base_url == url) {
            return Err(format!("paths.{path}.servers: {url} is not in x-vandar-hosts"));
        }
    }
    Ok(hosts)
}

fn host_of<'a>(item: &'a Value, default: &'a Host) -> &'a str {
    item["servers"][0]["url"].as_str().unwrap_or(&default.base_url)
}

/// Operations progenitor cannot express, served by hand-written calls instead.
fn adapted(op: &Value) -> bool {
    let responses = op["responses"].as_object();
    let redirect_only = responses.is_some_and(|r| !r.keys().any(|c| c.starts_with('2')));
    let multipart = op["requestBody"]["content"].get("multipart/form-data").is_some();
    redirect_only || multipart
}

/// The spec cut down to `host`'s paths, with only their success answers, in the form progenitor
/// takes (still with every component: see `prune_components`).
pub fn host_spec(spec: &Value, host: &Host, default: &Host) -> Value {
    let mut host_spec = spec.clone();
    let root = host_spec.as_object_mut().expect("spec is a mapping");
    root.remove("x-webhooks");
    root.remove("x-vandar-hosts");
    root.remove("servers");

    let mut paths = Map::new();
    for (path, item) in spec["paths"].as_object().into_iter().flatten() {
        if host_of(item, default) != host.base_url {
            continue;
        }
        let mut item = item.clone();
        let item_map = item.as_object_mut().expect("path item is a mapping");
        item_map.remove("servers");
        for method in METHODS {
            let Some(op) = item_map.get_mut(method) else { continue };
            if adapted(op) {
                item_map.remove(method);
                continue;
            }
            // Only the success answer: see the module docs.
            if let Some(responses) = op["responses"].as_object_mut() {
                responses.retain(|code, _| code.starts_with('2'));
            }
        }
        if item_map.keys().any(|k| METHODS.contains(&k.as_str())) {
            paths.insert(path.clone(), item);
        }
    }
    root.insert("paths".into(), Value::Object(paths));
    host_spec
}

/// Keeps only the components reachable from this host's paths, so each module holds its own types.
pub fn prune_components(host_spec: &mut Value) {
    let mut reachable = BTreeSet::new();
    let mut pending: Vec<String> = Vec::new();
    collect_refs(&host_spec["paths"], &mut pending);
    while let Some(r) = pending.pop() {
        if reachable.insert(r.clone()) {
            if let Some(target) = lookup(host_spec, &r) {
                collect_refs(target, &mut pending);
            }
        }
    }
    if let Some(components) = host_spec["components"].as_object_mut() {
        for (kind, entries) in components.iter_mut() {
            if kind == "securitySchemes" {
                continue;
            }
            if let Some(entries) = entries.as_object_mut() {
                entries.retain(|name, _| reachable.contains(&format!("#/components/{kind}/{name}")));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn small_spec() -> Value {
        json!({
            "servers": [{"url": "https://api.example"}],
            "x-vandar-hosts": [{"name": "api", "url": "https://api.example"}, {"name": "ipg", "url": "https://ipg.example"}],
            "x-webhooks": {},
            "paths": {
                "/balance": {"get": {"operationId": "balance", "responses": {
                    "200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Balance"}}}},
                    "401": {"$ref": "#/components/responses/Unauthenticated"}}}},
                "/send": {"servers": [{"url": "https://ipg.example"}], "post": {"operationId": "send", "responses": {"200": {}}}},
                "/redirect": {"get": {"operationId": "redirect", "responses": {"302": {}}}}
            },
            "components": {
                "schemas": {"Balance": {"properties": {"amount": {"$ref": "#/components/schemas/Rials"}}}, "Rials": {"type": "integer"}, "Unused": {}},
                "responses": {"Unauthenticated": {}},
                "securitySchemes": {"bearerAuth": {}}
            }
        })
    }

    #[test]
    fn hosts_come_from_the_spec_in_order() {
        let hosts = hosts(&small_spec()).unwrap();
        let names: Vec<_> = hosts.iter().map(|h| (h.name.as_str(), h.base_url.as_str())).collect();
        assert_eq!(names, [("api", "https://api.example"), ("ipg", "https://ipg.example")]);
    }

    #[test]
    fn a_path_on_an_unlisted_host_is_refused() {
        let mut spec = small_spec();
        spec["paths"]["/send"]["servers"][0]["url"] = json!("https://elsewhere.example");
        assert_eq!(hosts(&spec), Err("paths./send.servers: https://elsewhere.example is not in x-vandar-hosts".into()));
        let mut spec = small_spec();
        spec["servers"][0]["url"] = json!("https://ipg.example");
        assert!(hosts(&spec).unwrap_err().contains("must be the top-level server"));
    }

    #[test]
    fn a_host_spec_keeps_its_paths_success_answers_and_reachable_components() {
        let spec = small_spec();
        let hosts = hosts(&spec).unwrap();
        let mut api = host_spec(&spec, &hosts[0], &hosts[0]);
        prune_components(&mut api);
        // The redirect is hand-written; /send is on the other host.
        assert_eq!(api["paths"].as_object().unwrap().keys().collect::<Vec<_>>(), ["/balance"]);
        assert_eq!(api["paths"]["/balance"]["get"]["responses"].as_object().unwrap().keys().collect::<Vec<_>>(), ["200"]);
        assert_eq!(api["components"]["schemas"].as_object().unwrap().keys().collect::<Vec<_>>(), ["Balance", "Rials"]);
        assert!(api["components"]["responses"].as_object().unwrap().is_empty());
        assert!(api["components"]["securitySchemes"].get("bearerAuth").is_some());
        for gone in ["servers", "x-webhooks", "x-vandar-hosts"] {
            assert!(api.get(gone).is_none(), "{gone}");
        }
        let ipg = host_spec(&spec, &hosts[1], &hosts[0]);
        assert_eq!(ipg["paths"].as_object().unwrap().keys().collect::<Vec<_>>(), ["/send"]);
        assert!(ipg["paths"]["/send"].get("servers").is_none());
    }
}
