//! The IPG host's request bodies as Rust callers send them.
//!
//! * `api_key` is removed from the IPG request bodies: the transport adds the configured key, so
//!   callers never handle it.
//! * The IPG token is typed number-or-string in the spec (the documents type it both ways); the copy
//!   keeps it a `String`, the value `ipg_send` returned, which is what Rust callers send back.
//!
//! progenitor lacks both: it would make `api_key` a required setter and the token an untagged enum.
//! Safe: the transport writes the key into every IPG body before sending, and Vandar reads the
//! token as a string (the documents' examples send it so).

use serde_json::Value;

/// IPG request bodies whose `api_key` the transport fills in.
const IPG_KEYED_BODIES: [&str; 2] = ["IpgSendRequest", "IpgTokenRequest"];

/// IPG request bodies whose `token` (`IpgToken`, number or string in the spec) Rust sends as a string.
const IPG_TOKEN_BODIES: [&str; 1] = ["IpgTokenRequest"];

/// Runs before `hosts::prune_components`, so a schema only the token referred to is pruned.
pub fn adapt(host_spec: &mut Value) {
    for name in IPG_TOKEN_BODIES {
        if let Some(token) = host_spec.pointer_mut(&format!("/components/schemas/{name}/properties/token")) {
            *token = serde_json::json!({"type": "string", "description": "Payment token from ipg_send"});
        }
    }
    for name in IPG_KEYED_BODIES {
        if let Some(schema) = host_spec.pointer_mut(&format!("/components/schemas/{name}")) {
            schema["properties"].as_object_mut().map(|p| p.remove("api_key"));
            if let Some(required) = schema["required"].as_array_mut() {
                required.retain(|r| r != "api_key");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_key_leaves_the_bodies_and_the_token_is_a_string() {
        let mut spec = json!({"components": {"schemas": {
            "IpgSendRequest": {"required": ["api_key", "amount"], "properties": {"api_key": {"type": "string"}, "amount": {}}},
            "IpgTokenRequest": {"required": ["api_key", "token"], "properties": {"api_key": {}, "token": {"$ref": "#/components/schemas/IpgToken"}}},
            "Other": {"required": ["api_key"], "properties": {"api_key": {}}}
        }}});
        adapt(&mut spec);
        let schemas = &spec["components"]["schemas"];
        assert_eq!(schemas["IpgSendRequest"], json!({"required": ["amount"], "properties": {"amount": {}}}));
        assert_eq!(schemas["IpgTokenRequest"]["required"], json!(["token"]));
        assert_eq!(schemas["IpgTokenRequest"]["properties"]["token"]["type"], "string");
        assert_eq!(schemas["Other"]["required"], json!(["api_key"]), "only the IPG bodies");
    }
}
