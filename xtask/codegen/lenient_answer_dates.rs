//! Pass over typify's types: an optional date field of an answer reads leniently
//! (`crate::dates::lenient`): text that is not a date in the documented form is `None`, with a
//! warning, instead of making Vandar's whole answer undecodable, so a payment or settlement that
//! succeeded is never reported as failed over a date.
//!
//! typify lacks it because a replaced type has one way to read. Safe: only answers' optional date
//! fields change; request types (the mock reads them) keep their strict reading.

use super::spec::RequestTypes;

/// The pass (see the module docs).
pub struct LenientAnswerDates<'a> {
    /// Request types keep the strict reading.
    pub requests: &'a RequestTypes,
}

impl syn::visit_mut::VisitMut for LenientAnswerDates<'_> {
    fn visit_item_struct_mut(&mut self, item: &mut syn::ItemStruct) {
        let name = item.ident.to_string();
        if self.requests.includes(&name) {
            return;
        }
        for field in item.fields.iter_mut() {
            let ty = quote::ToTokens::to_token_stream(&field.ty).to_string().replace(' ', "");
            let date = ["JalaliDate>", "JalaliDateTime>", "TehranDateTime>"].iter().any(|d| ty.ends_with(&format!("crate::dates::{d}")));
            if !(ty.starts_with("::std::option::Option<") && date) {
                continue;
            }
            let serde_attrs: String = field.attrs.iter().filter(|a| a.path().is_ident("serde")).map(|a| quote::ToTokens::to_token_stream(a).to_string()).collect();
            let default = !serde_attrs.contains("default");
            field.attrs.push(if default {
                syn::parse_quote!(#[serde(default, deserialize_with = "crate::dates::lenient::deserialize")])
            } else {
                syn::parse_quote!(#[serde(deserialize_with = "crate::dates::lenient::deserialize")])
            });
        }
    }
}
