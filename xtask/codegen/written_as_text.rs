//! Pass over the generated code: a field the spec types `RialsString` (an amount Vandar takes as a
//! string of digits) is a `crate::money::Rials` written as a string, and one typed
//! `JalaliDateSlashed` is a `crate::dates::JalaliDate` written `YYYY/MM/DD`, so callers handle one
//! Rials type and one Jalali type (see `WRITTEN_AS_TEXT`).
//!
//! typify lacks it because a replaced type has one serialization. Safe: only serialization changes
//! (both types read every form), and only on the fields of those schemas.


/// Placeholder types, the type each field really gets, and the `serialize_with` module that writes
/// it in the form Vandar takes for those fields (`serialize` for a required field, `option` for an
/// optional one).
const WRITTEN_AS_TEXT: [(&str, &str, &str); 2] = [
    ("RialsString", "Rials", "crate::money::as_text"),
    ("JalaliDateSlashed", "JalaliDate", "crate::dates::slashed"),
];

/// The pass (see the module docs).
pub struct WrittenAsText;

impl syn::visit_mut::VisitMut for WrittenAsText {
    fn visit_field_mut(&mut self, field: &mut syn::Field) {
        let ty = quote::ToTokens::to_token_stream(&field.ty).to_string();
        // Builder fields (`Result<..>`) are not serialized.
        for (placeholder, _, module) in WRITTEN_AS_TEXT {
            if ty.contains(placeholder) && !ty.contains("Result") {
                let with = format!("{module}::{}", if ty.contains("Option") { "option" } else { "serialize" });
                field.attrs.push(syn::parse_quote!(#[serde(serialize_with = #with)]));
            }
        }
        syn::visit_mut::visit_field_mut(self, field);
    }

    fn visit_path_mut(&mut self, path: &mut syn::Path) {
        if let Some(last) = path.segments.last_mut() {
            if let Some((_, real, _)) = WRITTEN_AS_TEXT.iter().find(|(placeholder, _, _)| last.ident == placeholder) {
                last.ident = syn::Ident::new(real, last.ident.span());
            }
        }
        syn::visit_mut::visit_path_mut(self, path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::ToTokens;

    #[test]
    fn placeholders_become_the_real_type_written_as_text() {
        let mut file: syn::File = syn::parse_quote! {
            pub struct WalletMovementRequest {
                pub amount: crate::money::RialsString,
                pub date: ::std::option::Option<crate::dates::JalaliDateSlashed>,
            }
            pub mod builder {
                pub struct WalletMovementRequest {
                    amount: ::std::result::Result<crate::money::RialsString, ::std::string::String>,
                }
            }
        };
        syn::visit_mut::VisitMut::visit_file_mut(&mut WrittenAsText, &mut file);
        let text = file.to_token_stream().to_string();
        assert!(text.contains(r#"# [serde (serialize_with = "crate::money::as_text::serialize")] pub amount : crate :: money :: Rials"#), "{text}");
        assert!(text.contains(r#"# [serde (serialize_with = "crate::dates::slashed::option")] pub date : :: std :: option :: Option < crate :: dates :: JalaliDate >"#), "{text}");
        // A builder's field is not serialized: the type changes, no attribute.
        assert!(text.contains("amount : :: std :: result :: Result < crate :: money :: Rials , :: std :: string :: String >"), "{text}");
        assert_eq!(text.matches("serialize_with").count(), 2, "{text}");
    }
}
