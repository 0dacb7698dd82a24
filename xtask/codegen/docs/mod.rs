//! Pass over the generated code: every type, field, body-builder setter and operation-builder
//! method gets a doc from the spec. A type whose doc would only repeat its name gets the schema's
//! description, or says where it appears (the answer or body of which call, which field of which
//! type); a field gets its property's description, its unit (`x-vandar-unit`) and the value the
//! documents' examples show; a setter gets its field's or parameter's doc.
//!
//! typify and progenitor lack it: typify documents a field only from a `description`, and neither
//! documents builder setters. Safe: only doc attributes are added.
//!
//! One file per part: `types` (types, fields, body-builder setters), `operation_builders`
//! (operation builders' methods), `fields` (one property's text: description, unit, bounds, example) and
//! `examples` (the documents' examples, by the schema that declares each property).

mod examples;
mod fields;
mod operation_builders;
mod types;

use std::collections::BTreeMap;

use serde_json::Value;

use super::spec;
use examples::Examples;
use operation_builders::operation_builder_docs;
use spec::{camel, operations, RequestTypes};
use types::type_docs;

pub fn add_docs(file: &mut syn::File, spec: &Value, requests: &RequestTypes) {
    let examples = Examples::collect(spec);
    let operations: BTreeMap<String, &Value> = operations(spec)
        .filter_map(|(_, _, op)| op["operationId"].as_str().map(|id| (camel(id), op)))
        .collect();
    for item in &mut file.items {
        let syn::Item::Mod(module) = item else { continue };
        let Some((_, items)) = module.content.as_mut() else { continue };
        match module.ident.to_string().as_str() {
            "types" => type_docs(items, spec, &examples, &operations, requests),
            "builder" => operation_builder_docs(items, spec, &operations),
            _ => {}
        }
    }
}

pub fn docs_of(attrs: &[syn::Attribute]) -> String {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .map(|a| match &a.meta {
            syn::Meta::NameValue(syn::MetaNameValue { value: syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }), .. }) => s.value(),
            // `#[doc = concat!(..)]`: a doc, made at compile time.
            _ => "(computed)".into(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether a doc says more than the item's own name (typify documents a type without a
/// description as ``` `Name` ```).
pub fn says_something(attrs: &[syn::Attribute], name: &str) -> bool {
    let words: String = docs_of(attrs).chars().filter(|c| c.is_alphanumeric()).collect::<String>().to_lowercase();
    !words.is_empty() && words != name.replace('_', "").to_lowercase()
}

pub fn set_docs(attrs: &mut Vec<syn::Attribute>, text: &str) {
    attrs.retain(|a| !a.path().is_ident("doc"));
    attrs.insert(0, syn::parse_quote!(#[doc = #text]));
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::ToTokens;
    use serde_json::json;

    #[test]
    fn types_fields_setters_and_operation_builders_get_docs_from_the_spec() {
        let spec = json!({
            "paths": {"/store": {"post": {
                "operationId": "settlement_store",
                "parameters": [{"name": "business", "in": "path", "required": true, "description": "Business slug"}],
                "requestBody": {"content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Store"},
                    "example": {"amount": 5000}
                }}},
                "responses": {"200": {}}
            }}},
            "components": {"schemas": {
                "Tomans": {"type": "integer", "x-vandar-unit": "toman"},
                "Store": {"type": "object", "properties": {
                    "amount": {"allOf": [{"$ref": "#/components/schemas/Tomans"}], "minimum": 5000, "description": "What to pay out"},
                    "note": {"type": "string"}
                }}
            }}
        });
        let mut file: syn::File = syn::parse_quote! {
            pub mod types {
                #[doc = "`Store`"]
                pub struct Store {
                    pub amount: ::std::option::Option<crate::money::Tomans>,
                    pub note: ::std::option::Option<::std::string::String>,
                }
                pub mod builder {}
            }
            pub mod builder {
                impl<'a> SettlementStore<'a> {
                    pub fn business<V>(mut self, value: V) -> Self { self }
                    pub fn body<V>(mut self, value: V) -> Self { self }
                }
            }
        };
        let requests = spec::request_schemas(&spec);
        add_docs(&mut file, &spec, &requests);
        let text = file.to_token_stream().to_string();
        assert!(text.contains(r#"# [doc = "The request body of `settlement_store`."] pub struct Store"#), "{text}");
        assert!(text.contains(r#"# [doc = "What to pay out\n\nUnit: Tomans.\n\nBounds: at least 5000.\n\nExample from Vandar's documents: `5000`."] pub amount"#), "{text}");
        assert!(text.contains(r#"# [doc = "`note`: the documents show the field but do not describe it."] pub note"#), "{text}");
        assert!(text.contains(r#"# [doc = "Business slug (`business`, path parameter, required). Defaults to the business slug the `Client` was built with."] pub fn business"#), "{text}");
        assert!(text.contains("[`types::Store`] or its builder [`types::builder::Store`]"), "{text}");
    }
}
