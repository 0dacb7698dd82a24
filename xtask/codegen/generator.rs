//! progenitor 0.15 run on one host's spec: the builder interface, one merged `Client`, the
//! transport's inner type and hooks, and typify's type replacements (open enums, money, dates).
//! Its output, parsed, is what the passes in build.rs then change.
//!
//! The settings are progenitor's own; what it lacks is supplied by the passes.

use serde_json::Value;

use progenitor::{GenerationSettings, Generator, HooksMode, InterfaceStyle, TagStyle, TypeImpl};

use super::enums::Enums;

/// The spec's money schemas and the `crate::money` type each becomes. `RialsString` is a
/// placeholder that `RialsAsText` turns into `Rials` written as a string.
const MONEY: [(&str, &str); 4] = [
    ("Rials", "crate::money::Rials"),
    ("Tomans", "crate::money::Tomans"),
    ("RialsNumberOrString", "crate::money::Rials"),
    ("RialsString", "crate::money::RialsString"),
];

/// The spec's date schemas and the `crate::dates` type each becomes (see src/dates.rs).
/// `JalaliDateSlashed` is a placeholder that `WrittenAsText` turns into `JalaliDate` written `YYYY/MM/DD`.
/// `TehranDateTimeOrNull` is the nullable twin OpenAPI 3.0 needs (a field's `nullable` does not reach through a
/// `$ref`); the field is optional, so it is the same `Option<TehranDateTime>`.
const DATES: [(&str, &str); 5] = [
    ("JalaliDate", "crate::dates::JalaliDate"),
    ("JalaliDateSlashed", "crate::dates::JalaliDateSlashed"),
    ("JalaliDateTime", "crate::dates::JalaliDateTime"),
    ("TehranDateTime", "crate::dates::TehranDateTime"),
    ("TehranDateTimeOrNull", "crate::dates::TehranDateTime"),
];

/// progenitor's code for `host_spec`, parsed. `inner_type` is the path of the transport's type that
/// every generated `Client` holds (progenitor's `with_inner_type`).
pub fn run(host: &str, host_spec: &Value, enums: &Enums, inner_type: &str) -> Result<syn::File, String> {
    let api: openapiv3::OpenAPI = serde_json::from_value(without_validation_only(host_spec))
        .map_err(|e| format!("host {host}: not an OpenAPI 3.0 document: {e}"))?;
    let mut settings = GenerationSettings::default();
    settings
        .with_interface(InterfaceStyle::Builder)
        .with_tag(TagStyle::Merged)
        .with_inner_type(inner_type.parse::<proc_macro2::TokenStream>().map_err(|e| format!("inner type {inner_type}: {e}"))?)
        .with_hooks(HooksMode::Expected)
        // Answers compare in tests and in the results that carry them (`Tracked`); every replaced
        // type (money, dates, open enums) is `PartialEq` too.
        .with_derive("PartialEq");
    let present = host_spec["components"]["schemas"].as_object();
    for (name, rust) in enums.replacements.iter().filter(|(n, _)| present.is_some_and(|s| s.contains_key(n.as_str()))) {
        settings.with_replacement(
            name,
            format!("crate::enums::{rust}"),
            [TypeImpl::Display, TypeImpl::FromStr].into_iter(),
        );
    }
    for (name, rust) in MONEY.iter().filter(|(n, _)| present.is_some_and(|s| s.contains_key(*n))) {
        settings.with_replacement(name, rust, [TypeImpl::Display, TypeImpl::FromStr, TypeImpl::Default].into_iter());
    }
    for (name, rust) in DATES.iter().filter(|(n, _)| present.is_some_and(|s| s.contains_key(*n))) {
        settings.with_replacement(name, rust, [TypeImpl::Display, TypeImpl::FromStr].into_iter());
    }
    let tokens = std::panic::catch_unwind(move || Generator::new(&settings).generate_tokens(&api))
        .map_err(|_| format!("host {host}: progenitor panicked (see the message above)"))?
        .map_err(|e| format!("host {host}: {e}"))?;
    syn::parse2(tokens).map_err(|e| format!("host {host}: generated code does not parse: {e}"))
}

/// `host_spec` without the keywords a schema marks `x-vandar-validation-only` (e.g. an `anyOf` that says which
/// fields a variant needs): rules for generators and fuzzers that would turn a struct into a union in Rust.
fn without_validation_only(host_spec: &Value) -> Value {
    let mut spec = host_spec.clone();
    for schema in spec["components"]["schemas"].as_object_mut().into_iter().flat_map(|s| s.values_mut()) {
        let Some(object) = schema.as_object_mut() else { continue };
        let keywords: Vec<String> = object
            .remove("x-vandar-validation-only")
            .and_then(|k| k.as_array().cloned())
            .into_iter()
            .flatten()
            .filter_map(|k| k.as_str().map(String::from))
            .collect();
        for keyword in keywords {
            object.remove(&keyword);
        }
    }
    spec
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::ToTokens;
    use serde_json::json;
    use std::collections::BTreeMap;

    #[test]
    fn progenitor_builds_a_client_on_the_transport_with_the_replaced_types() {
        let spec = json!({
            "openapi": "3.0.3",
            "info": {"title": "t", "version": "1"},
            "paths": {"/balance": {"get": {"operationId": "balance", "responses": {"200": {"description": "ok",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Balance"}}}}}}}},
            "components": {"schemas": {
                "Balance": {"type": "object", "required": ["amount"], "properties": {
                    "amount": {"$ref": "#/components/schemas/Rials"},
                    "status": {"$ref": "#/components/schemas/Status"}}},
                "Rials": {"type": "integer"},
                "Status": {"type": "string", "enum": ["ok"]}
            }}
        });
        let enums = Enums {
            values: BTreeMap::from([("Status".to_string(), vec!["ok".to_string()])]),
            replacements: BTreeMap::from([("Status".to_string(), "Status".to_string())]),
        };
        let file = run("api", &spec, &enums, "crate::transport::Inner").unwrap();
        let text = file.to_token_stream().to_string();
        assert!(text.contains("inner : crate :: transport :: Inner"), "{text}");
        assert!(text.contains("pub amount : crate :: money :: Rials"), "{text}");
        assert!(text.contains("crate :: enums :: Status"), "{text}");
        assert!(text.contains("pub struct Balance < 'a >"), "the builder interface: {text}");
        let broken = json!({"openapi": "3.0.3"});
        assert!(run("api", &broken, &enums, "crate::transport::Inner").unwrap_err().starts_with("host api: not an OpenAPI 3.0 document"));
    }
}
