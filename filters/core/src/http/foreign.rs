//! Arguments of Envoy's foreign functions (`proxy_call_foreign_function`), encoded here so the
//! glue only passes bytes.

/// The arguments of Envoy's `set_envoy_filter_state` foreign function, protobuf-encoded
/// (`envoy.source.extensions.common.wasm.SetEnvoyFilterStateArguments`: `path` = 1, `value` =
/// 2, `span` = 3 (`FilterChain` = 0, the default, left out)).
pub fn filter_state_arguments(path: &str, value: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(path.len().saturating_add(value.len()).saturating_add(8));
    for (tag, field) in [(0x0a_u8, path), (0x12, value)] {
        out.push(tag);
        varint(&mut out, field.len() as u64);
        out.extend_from_slice(field.as_bytes());
    }
    out
}

fn varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_the_protobuf_envoy_decodes() {
        assert_eq!(filter_state_arguments("k", "12"), b"\x0a\x01k\x12\x0212");
        // A length over 127 takes two varint bytes.
        let long = "v".repeat(300);
        let args = filter_state_arguments("envoy.ratelimit.hits_addend", &long);
        assert_eq!(&args[..2], b"\x0a\x1b");
        assert_eq!(&args[2..29], b"envoy.ratelimit.hits_addend");
        assert_eq!(&args[29..32], b"\x12\xac\x02");
        assert_eq!(args.len(), 32 + 300);
    }
}
