//! One list of money moves, in the spec: every operation that moves money carries
//! `x-vandar-money-move` (the body field that identifies the move, the documented lookup that finds
//! it after a lost answer, or where to look instead, and the amount's unit). This reads the marks,
//! refuses one that names what the spec does not hold, and hands them to
//! `operations.rs`, which writes each into the operations table the runtime includes: the spec
//! stays the one owner of the list.
//!
//! progenitor lacks it: OpenAPI has no word for "this call moves money". Safe: it only reads the
//! spec and writes a table; `fresh_track_id.rs` reads the same marks.

use serde_json::Value;

use super::hosts::Host;
use super::spec::{body_schema, operations, resolve};

/// The keys a mark may have.
const KEYS: [&str; 5] = ["track_id", "item_track_id", "lookup", "where_to_look", "unit"];

/// One mark, checked against the spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoneyMove {
    pub operation: String,
    /// The host (module) the operation is generated into.
    pub host: String,
    /// The body field that identifies the move (for a batch, `batch_id`).
    pub track_id: Option<String>,
    pub lookup: Option<String>,
    pub where_to_look: Option<String>,
    /// `Rials` or `Tomans`: the unit of the body's `amount`.
    pub unit: Option<String>,
    /// The field that starts as a fresh UUID in its typify builder: the track_id itself, or, when
    /// the mark names `item_track_id`, each item's own (a batch's `batch_id` is derived from its
    /// items, never fresh).
    pub fresh: Option<FreshId>,
}

/// A request schema's field that starts as a fresh UUID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreshId {
    /// The named schema (the typify builder `types::builder::<schema>`).
    pub schema: String,
    pub field: String,
    pub required: bool,
}

/// Every `x-vandar-money-move` mark, in spec order (`path_order`: the spec's paths as written;
/// `Value`'s own map is sorted).
pub fn read(spec: &Value, hosts: &[Host], path_order: &[String]) -> Result<Vec<MoneyMove>, String> {
    let mut moves = Vec::new();
    let mut marked: Vec<_> = operations(spec).collect();
    marked.sort_by_key(|(path, _, _)| path_order.iter().position(|p| p == path));
    for (_, _, op) in marked {
        let Some(mark) = op.get("x-vandar-money-move") else { continue };
        let id = op["operationId"].as_str().unwrap_or_default();
        let at = format!("{id}: x-vandar-money-move");
        let mark = mark.as_object().ok_or_else(|| format!("{at}: a mapping ({})", KEYS.join(", ")))?;
        if let Some(unknown) = mark.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(format!("{at}: unknown key {unknown} (known: {})", KEYS.join(", ")));
        }
        let text = |key: &str| -> Result<Option<String>, String> {
            match mark.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(format!("{at}.{key}: a string or null, not {other}")),
            }
        };
        let (track_id, item_track_id, lookup, where_to_look, unit) =
            (text("track_id")?, text("item_track_id")?, text("lookup")?, text("where_to_look")?, text("unit")?);

        let body_ref = body_schema(spec, op).and_then(|s| s["$ref"].as_str());
        let body_name = body_ref.and_then(|r| r.strip_prefix("#/components/schemas/"));
        let body = body_schema(spec, op).map(|s| resolve(spec, s)).unwrap_or(&Value::Null);
        let mut fresh = None;
        if let Some(field) = &track_id {
            if body["properties"].get(field).is_none() {
                return Err(format!("{at}.track_id: {field} is not a field of the request body ({})", body_name.unwrap_or("none")));
            }
            let name = body_name.ok_or_else(|| format!("{at}: the request body must be a named schema (its builder gets the track_id)"))?;
            fresh = Some(FreshId { schema: name.to_string(), field: field.clone(), required: required(body, field) });
        }
        if let Some(field) = &item_track_id {
            let item = body["properties"].as_object().into_iter().flatten().map(|(_, p)| resolve(spec, p)).find_map(|p| {
                let items = p.get("items").filter(|_| p["type"] == "array")?;
                let name = items["$ref"].as_str()?.strip_prefix("#/components/schemas/")?;
                resolve(spec, items)["properties"].get(field).is_some().then(|| (name, resolve(spec, items)))
            });
            let (name, schema) = item.ok_or_else(|| format!("{at}.item_track_id: no list in the request body has items (a named schema) with the field {field}"))?;
            fresh = Some(FreshId { schema: name.to_string(), field: field.clone(), required: required(schema, field) });
        }
        match (&lookup, &where_to_look) {
            (Some(lookup), _) if !operations(spec).any(|(_, _, o)| o["operationId"] == lookup.as_str()) => {
                return Err(format!("{at}.lookup: {lookup} names no operation"));
            }
            (None, None) => return Err(format!("{at}: lookup is null, so where_to_look must say where to look instead")),
            _ => {}
        }
        let stated = amount_unit(spec, body);
        if unit != stated {
            return Err(format!("{at}.unit: {unit:?}, but the request body's amount states {stated:?} (x-vandar-unit)"));
        }
        let path_item = spec["paths"].as_object().into_iter().flatten().map(|(_, item)| item).find(|item| {
            item.as_object().is_some_and(|m| m.values().any(|o| std::ptr::eq(o, op)))
        });
        let url = path_item.and_then(|item| item["servers"][0]["url"].as_str());
        let host = match url {
            None => hosts.first(),
            Some(url) => hosts.iter().find(|h| h.base_url == url),
        };
        let host = host.ok_or_else(|| format!("{at}: the operation's host is not in x-vandar-hosts"))?;
        moves.push(MoneyMove { operation: id.to_string(), host: host.name.clone(), track_id, lookup, where_to_look, unit, fresh });
    }
    Ok(moves)
}

fn required(schema: &Value, field: &str) -> bool {
    schema["required"].as_array().is_some_and(|r| r.iter().any(|f| f == field))
}

/// `Rials` or `Tomans`, from the `x-vandar-unit` of the body's `amount` (its own or its `allOf`
/// parts' / `$ref` target's); `None` when the body has no amount or the amount no unit.
fn amount_unit(spec: &Value, body: &Value) -> Option<String> {
    fn unit<'a>(spec: &'a Value, node: &'a Value) -> Option<&'a str> {
        let node = resolve(spec, node);
        node["x-vandar-unit"].as_str().or_else(|| node["allOf"].as_array().into_iter().flatten().find_map(|p| unit(spec, p)))
    }
    match unit(spec, body["properties"].get("amount")?)? {
        "rial" => Some("Rials".into()),
        "toman" => Some("Tomans".into()),
        other => Some(other.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hosts() -> Vec<Host> {
        ["api", "batch"].map(|name| Host { name: name.into(), base_url: format!("https://{name}.example") }).to_vec()
    }

    /// As written: /store before /batch.
    fn order() -> Vec<String> {
        ["/store", "/transactions", "/batch"].map(String::from).to_vec()
    }

    fn small_spec() -> Value {
        let body = |name: &str| json!({"content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{name}")}}}});
        json!({
            "paths": {
                "/store": {"post": {"operationId": "settlement_store", "requestBody": body("Store"),
                    "x-vandar-money-move": {"track_id": "track_id", "lookup": "transaction_list", "unit": "Tomans"}}},
                "/transactions": {"get": {"operationId": "transaction_list"}},
                "/batch": {"servers": [{"url": "https://batch.example"}], "post": {"operationId": "batch_store", "requestBody": body("Batch"),
                    "x-vandar-money-move": {"track_id": "batch_id", "item_track_id": "track_id", "lookup": null, "where_to_look": "the dashboard", "unit": null}}}
            },
            "components": {"schemas": {
                "Tomans": {"type": "integer", "x-vandar-unit": "toman"},
                "Store": {"required": ["track_id"], "properties": {"track_id": {"type": "string"}, "amount": {"allOf": [{"$ref": "#/components/schemas/Tomans"}]}}},
                "Batch": {"properties": {"batch_id": {"type": "string"}, "items": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}}}},
                "Item": {"properties": {"track_id": {"type": "string"}, "amount": {"type": "integer"}}}
            }}
        })
    }

    #[test]
    fn marks_are_read_in_spec_order_with_their_host_and_fresh_field() {
        let moves = read(&small_spec(), &hosts(), &order()).unwrap();
        assert_eq!(moves.len(), 2);
        let (store, batch) = (&moves[0], &moves[1]);
        assert_eq!((store.operation.as_str(), store.host.as_str(), store.unit.as_deref()), ("settlement_store", "api", Some("Tomans")));
        assert_eq!(store.fresh, Some(FreshId { schema: "Store".into(), field: "track_id".into(), required: true }));
        assert_eq!((batch.host.as_str(), batch.track_id.as_deref()), ("batch", Some("batch_id")));
        // Each item's track_id is fresh, never the batch_id.
        assert_eq!(batch.fresh, Some(FreshId { schema: "Item".into(), field: "track_id".into(), required: false }));
    }

    #[test]
    fn a_mark_naming_what_the_spec_lacks_is_refused() {
        let mut spec = small_spec();
        spec["paths"]["/store"]["post"]["x-vandar-money-move"]["lookup"] = json!("transaction_find");
        assert_eq!(read(&spec, &hosts(), &order()), Err("settlement_store: x-vandar-money-move.lookup: transaction_find names no operation".into()));
        let mut spec = small_spec();
        spec["paths"]["/store"]["post"]["x-vandar-money-move"]["track_id"] = json!("trackId");
        assert_eq!(read(&spec, &hosts(), &order()), Err("settlement_store: x-vandar-money-move.track_id: trackId is not a field of the request body (Store)".into()));
        let mut spec = small_spec();
        spec["paths"]["/store"]["post"]["x-vandar-money-move"]["unit"] = json!("Rials");
        assert!(read(&spec, &hosts(), &order()).unwrap_err().contains("but the request body's amount states Some(\"Tomans\")"));
        let mut spec = small_spec();
        spec["paths"]["/batch"]["post"]["x-vandar-money-move"].as_object_mut().unwrap().remove("where_to_look");
        assert!(read(&spec, &hosts(), &order()).unwrap_err().contains("where_to_look must say where to look instead"));
    }
}
