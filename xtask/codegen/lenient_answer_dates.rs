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

#[cfg(test)]
mod tests {
    use super::*;
    use quote::ToTokens;
    use std::collections::BTreeSet;

    #[test]
    fn only_an_answers_optional_dates_read_leniently() {
        let mut file: syn::File = syn::parse_quote! {
            pub struct Settlement {
                #[serde(default, skip_serializing_if = "::std::option::Option::is_none")]
                pub settlement_date: ::std::option::Option<crate::dates::JalaliDate>,
                pub created_at: ::std::option::Option<crate::dates::TehranDateTime>,
                pub done_at: crate::dates::TehranDateTime,
            }
            pub struct WithdrawalStoreRequest {
                pub withdrawal_date: ::std::option::Option<crate::dates::JalaliDate>,
            }
        };
        let requests = RequestTypes(BTreeSet::from(["WithdrawalStoreRequest".to_string()]));
        syn::visit_mut::VisitMut::visit_file_mut(&mut LenientAnswerDates { requests: &requests }, &mut file);
        let text = file.to_token_stream().to_string();
        let lenient = r#"deserialize_with = "crate::dates::lenient::deserialize""#;
        assert!(text.contains(&format!("# [serde ({lenient})] pub settlement_date")), "{text}");
        assert!(text.contains(&format!("# [serde (default , {lenient})] pub created_at")), "{text}");
        assert_eq!(text.matches(lenient).count(), 2, "a required date and a request's date stay strict: {text}");
    }
}
