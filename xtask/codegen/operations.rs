//! The spec's one table of operations: for each operation its id, host, method, path template, the
//! credential its `security` names, whether a repeat is safe, its default lane and, for a money
//! move, its `x-vandar-money-move` mark with the lookup as an `Operation`. Written as
//! `$OUT_DIR/operations.rs` (the `Operation` enum and `OPERATIONS`), which `src/generated/operations.rs`
//! includes; every per-operation decision of the runtime reads it, so adding an operation to the
//! spec with its `security` and `x-vandar-*` marks is all it takes for every layer to treat it right.
//!
//! progenitor lacks it: it names operations only inside each builder, as a string. Safe: it only
//! reads the spec and writes a table.
//!
//! Where each fact comes from:
//! * credential: the operation's `security` (or the spec's default): `bearerAuth` is the business
//!   token, `miandoOAuth` Miando's; none, with an `api_key` field in the JSON body, is the IPG key
//!   the transport writes into the body (OpenAPI has no scheme for a key in the body); none otherwise.
//! * idempotent: HTTP's rule (GET, PUT, DELETE, HEAD, OPTIONS), unless the operation says
//!   `x-vandar-idempotent: false`.
//! * lane: the operation's `x-vandar-lane`, else its host's `lane` in `x-vandar-hosts`, else
//!   `background`.

use serde_json::Value;

use super::hosts::Host;
use super::money_moves::MoneyMove;
use super::spec::{body_schema, camel, operations, resolve};

/// One operation's facts, read from the spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    pub id: String,
    pub host: String,
    pub method: String,
    pub path: String,
    pub credential: &'static str,
    pub idempotent: bool,
    pub lane: &'static str,
    pub summary: String,
}

const LANES: [&str; 2] = ["interactive", "background"];

/// Every operation, in spec order (`path_order`: the spec's paths as written).
pub fn read(spec: &Value, hosts: &[Host], path_order: &[String]) -> Result<Vec<Operation>, String> {
    let default_security = spec.get("security");
    let host_lane = |name: &str| -> Result<Option<String>, String> {
        let entry = spec["x-vandar-hosts"].as_array().into_iter().flatten().find(|h| h["name"] == name);
        lane_of(entry.and_then(|e| e.get("lane")), &format!("x-vandar-hosts.{name}.lane"))
    };
    let mut listed: Vec<_> = operations(spec).collect();
    listed.sort_by_key(|(path, _, _)| path_order.iter().position(|p| p == path));
    let mut out = Vec::new();
    for (path, method, op) in listed {
        let id = op["operationId"].as_str().ok_or_else(|| format!("{method} {path}: no operationId"))?;
        let item = &spec["paths"][path];
        let host = match item["servers"][0]["url"].as_str() {
            None => hosts.first(),
            Some(url) => hosts.iter().find(|h| h.base_url == url),
        }
        .ok_or_else(|| format!("{id}: its host is not in x-vandar-hosts"))?;
        let security = op.get("security").or(default_security);
        let scheme = security.and_then(Value::as_array).and_then(|l| l.first()).and_then(Value::as_object).and_then(|o| o.keys().next());
        let api_key = body_schema(spec, op).is_some_and(|s| resolve(spec, s)["properties"].get("api_key").is_some());
        let credential = match (scheme.map(String::as_str), api_key) {
            (Some("bearerAuth"), _) => "Business",
            (Some("miandoOAuth"), _) => "Miando",
            (None, true) => "IpgApiKey",
            (None, false) => "None",
            (Some(other), _) => return Err(format!("{id}: security scheme {other} is not one the client knows (bearerAuth, miandoOAuth)")),
        };
        let idempotent = match op.get("x-vandar-idempotent") {
            None => matches!(method, "get" | "put" | "delete" | "head" | "options"),
            Some(Value::Bool(false)) => false,
            Some(other) => return Err(format!("{id}: x-vandar-idempotent may only be false (HTTP's rule is the default), not {other}")),
        };
        let lane = match lane_of(op.get("x-vandar-lane"), &format!("{id}: x-vandar-lane"))? {
            Some(lane) => lane,
            None => host_lane(&host.name)?.unwrap_or_else(|| "background".into()),
        };
        let lane = LANES.into_iter().find(|l| *l == lane).expect("checked by lane_of");
        let summary = op["summary"].as_str().unwrap_or_default().lines().next().unwrap_or_default().to_string();
        out.push(Operation {
            id: id.to_string(),
            host: host.name.clone(),
            method: method.to_uppercase(),
            path: path.to_string(),
            credential,
            idempotent,
            lane,
            summary,
        });
    }
    Ok(out)
}

fn lane_of(value: Option<&Value>, at: &str) -> Result<Option<String>, String> {
    match value {
        None => Ok(None),
        Some(Value::String(lane)) if LANES.contains(&lane.as_str()) => Ok(Some(lane.clone())),
        Some(other) => Err(format!("{at}: one of {}, not {other}", LANES.join(", "))),
    }
}

/// `$OUT_DIR/operations.rs`: the `Operation` enum, `OPERATIONS` (its facts, indexed by the enum)
/// and `Operation::from_id`.
pub fn table(ops: &[Operation], moves: &[MoneyMove]) -> Result<String, String> {
    let variant = |id: &str| camel(id);
    let option = |value: &Option<String>| match value {
        Some(text) => format!("Some({text:?})"),
        None => "None".to_string(),
    };
    let mut code = String::from(
        "// @generated by build.rs from spec/vandar.yaml (xtask/codegen/operations.rs). Do not edit.\n\n\
         /// Every operation of the spec, named after its `operationId` (`settlement_store` is\n\
         /// `Operation::SettlementStore`); [`Operation::id`] gives the id back.\n\
         #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]\n\
         #[non_exhaustive]\n\
         pub enum Operation {\n",
    );
    for op in ops {
        let summary = if op.summary.is_empty() { String::new() } else { format!(": {}", op.summary.replace('\\', "")) };
        code += &format!("    /// `{} {}` ({}){summary}.\n    {},\n", op.method, op.path, op.host, variant(&op.id));
    }
    code += "}\n\n/// Each operation's facts, in the order of [`Operation`] (indexed by it).\n";
    code += &format!("pub(crate) const OPERATIONS: [Facts; {}] = [\n", ops.len());
    for op in ops {
        let money_move = match moves.iter().find(|m| m.operation == op.id) {
            None => "None".to_string(),
            Some(m) => {
                let lookup = match &m.lookup {
                    Some(lookup) if ops.iter().any(|o| &o.id == lookup) => format!("Some(Operation::{})", variant(lookup)),
                    Some(lookup) => return Err(format!("{}: x-vandar-money-move.lookup: {lookup} names no operation", op.id)),
                    None => "None".to_string(),
                };
                format!(
                    "Some(MoneyMove {{ track_id: {}, lookup: {lookup}, where_to_look: {}, unit: {} }})",
                    option(&m.track_id),
                    option(&m.where_to_look),
                    option(&m.unit)
                )
            }
        };
        code += &format!(
            "    Facts {{\n        operation: Operation::{},\n        id: {:?},\n        host: Host::{},\n        method: {:?},\n        path: {:?},\n        credential: Credential::{},\n        idempotent: {},\n        lane: Lane::{},\n        money_move: {money_move},\n    }},\n",
            variant(&op.id),
            op.id,
            camel(&op.host),
            op.method,
            op.path,
            op.credential,
            op.idempotent,
            camel(op.lane),
        );
    }
    code += "];\n\nimpl Operation {\n    /// Every operation, in spec order.\n";
    code += &format!("    pub const ALL: [Operation; {}] = [", ops.len());
    code += &ops.iter().map(|op| format!("Operation::{}", variant(&op.id))).collect::<Vec<_>>().join(", ");
    code += "];\n\n    /// The operation whose `operationId` is `id`.\n    pub fn from_id(id: &str) -> Option<Operation> {\n        Some(match id {\n";
    for op in ops {
        code += &format!("            {:?} => Operation::{},\n", op.id, variant(&op.id));
    }
    code += "            _ => return None,\n        })\n    }\n}\n";
    if let Some(m) = moves.iter().find(|m| !ops.iter().any(|o| o.id == m.operation)) {
        return Err(format!("x-vandar-money-move on {}, which is no operation", m.operation));
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hosts() -> Vec<Host> {
        ["api", "ipg"].map(|name| Host { name: name.into(), base_url: format!("https://{name}.example") }).to_vec()
    }

    fn spec() -> Value {
        json!({
            "security": [{"bearerAuth": []}],
            "x-vandar-hosts": [{"name": "api", "url": "https://api.example"}, {"name": "ipg", "url": "https://ipg.example", "lane": "interactive"}],
            "paths": {
                "/send": {"servers": [{"url": "https://ipg.example"}], "post": {"operationId": "ipg_send", "security": [],
                    "requestBody": {"content": {"application/json": {"schema": {"properties": {"api_key": {"type": "string"}}}}}}}},
                "/balance": {"get": {"operationId": "balance", "summary": "The wallet\nmore"}},
                "/token": {"post": {"operationId": "token_refresh", "security": [], "x-vandar-lane": "interactive"}},
                "/escrow": {"put": {"operationId": "miando_put", "security": [{"miandoOAuth": []}], "x-vandar-idempotent": false}}
            }
        })
    }

    fn order() -> Vec<String> {
        ["/send", "/balance", "/token", "/escrow"].map(String::from).to_vec()
    }

    #[test]
    fn each_fact_comes_from_the_spec() {
        let ops = read(&spec(), &hosts(), &order()).unwrap();
        let facts: Vec<_> = ops.iter().map(|o| (o.id.as_str(), o.host.as_str(), o.credential, o.idempotent, o.lane)).collect();
        assert_eq!(facts, [
            ("ipg_send", "ipg", "IpgApiKey", false, "interactive"),
            ("balance", "api", "Business", true, "background"),
            ("token_refresh", "api", "None", false, "interactive"),
            ("miando_put", "api", "Miando", false, "background"),
        ]);
        assert_eq!(ops[1].summary, "The wallet");
    }

    #[test]
    fn a_mark_the_table_cannot_hold_stops_the_build() {
        let mut bad = spec();
        bad["paths"]["/balance"]["get"]["x-vandar-lane"] = json!("urgent");
        assert!(read(&bad, &hosts(), &order()).unwrap_err().contains("x-vandar-lane"));
        let mut bad = spec();
        bad["paths"]["/balance"]["get"]["security"] = json!([{"basicAuth": []}]);
        assert!(read(&bad, &hosts(), &order()).unwrap_err().contains("basicAuth"));
        let mut bad = spec();
        bad["paths"]["/balance"]["get"]["x-vandar-idempotent"] = json!(true);
        assert!(read(&bad, &hosts(), &order()).unwrap_err().contains("x-vandar-idempotent"));
    }

    #[test]
    fn the_table_names_lookups_as_operations() {
        let ops = read(&spec(), &hosts(), &order()).unwrap();
        let mark = |lookup: &str| MoneyMove {
            operation: "ipg_send".into(),
            host: "ipg".into(),
            track_id: Some("track_id".into()),
            lookup: Some(lookup.into()),
            where_to_look: None,
            unit: None,
            fresh: None,
        };
        let code = table(&ops, &[mark("balance")]).unwrap();
        assert!(code.contains("lookup: Some(Operation::Balance)"), "{code}");
        assert!(code.contains("\"token_refresh\" => Operation::TokenRefresh"));
        assert!(table(&ops, &[mark("nothing")]).unwrap_err().contains("names no operation"));
    }
}
