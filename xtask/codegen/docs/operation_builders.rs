//! Docs of the operation builders (progenitor's `builder` module): `new`, `body`, `body_map` and
//! each parameter's setter, from the operation and its parameters.

use std::collections::BTreeMap;

use serde_json::Value;

use super::fields::description_of;
use super::spec::{resolve, snake};
use super::{says_something, set_docs};

pub fn operation_builder_docs(items: &mut [syn::Item], spec: &Value, operations: &BTreeMap<String, &Value>) {
    for item in items.iter_mut() {
        let syn::Item::Impl(block) = item else { continue };
        if block.trait_.is_some() {
            continue;
        }
        let syn::Type::Path(path) = &*block.self_ty else { continue };
        let Some(builder) = path.path.segments.last().map(|s| s.ident.to_string()) else { continue };
        let Some(op) = operations.get(&builder) else { continue };
        let id = op["operationId"].as_str().unwrap_or_default();
        let body_type = resolve(spec, &op["requestBody"])["content"]["application/json"]["schema"]["$ref"]
            .as_str()
            .and_then(|r| r.rsplit('/').next())
            .map(String::from);
        for f in block.items.iter_mut().filter_map(|i| if let syn::ImplItem::Fn(f) = i { Some(f) } else { None }) {
            let name = f.sig.ident.to_string();
            if says_something(&f.attrs, &name) {
                continue;
            }
            let text = match name.as_str() {
                "new" => format!("A `{id}` call with nothing set; `Client::{id}()` starts the same."),
                "body" => format!(
                    "The request body, a [`types::{0}`] or its builder [`types::builder::{0}`]; checked against the spec's bounds before sending.",
                    body_type.as_deref().unwrap_or("serde_json::Map")
                ),
                "body_map" => "Sets the request body field by field: the closure gets the body's builder and returns it.".to_string(),
                _ => parameter_docs(spec, op, &name).unwrap_or_else(|| format!("Sets `{name}`.")),
            };
            set_docs(&mut f.attrs, &text);
        }
    }
}

/// A setter's doc from the operation's parameter of that (snake_case) name.
pub fn parameter_docs(spec: &Value, op: &Value, setter: &str) -> Option<String> {
    op["parameters"].as_array().into_iter().flatten().map(|p| resolve(spec, p)).find_map(|param| {
        let name = param["name"].as_str()?;
        let snake = snake(name);
        (snake == setter).then(|| {
            let place = match param["in"].as_str() {
                Some("path") => "path parameter",
                Some("query") => "query parameter",
                Some("header") => "header",
                _ => "parameter",
            };
            let required = if param["required"] == true { "required" } else { "optional" };
            let description = description_of(spec, param).or_else(|| description_of(spec, &param["schema"])).unwrap_or("");
            let default = if name == "business" { " Defaults to the business slug the `Client` was built with." } else { "" };
            format!("{} (`{name}`, {place}, {required}).{default}", description.trim().trim_end_matches('.'))
        })
    })
}
