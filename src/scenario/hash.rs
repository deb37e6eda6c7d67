//! The one hash the harness uses for names that must not change between runs:
//! fixture ids and default seeds. FNV-1a is stable across Rust versions and
//! platforms, which `std`'s `DefaultHasher` does not promise.

/// The 64-bit FNV-1a hash of `bytes`.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_hash_is_the_published_fnv1a() {
        // Test vectors from the FNV reference: the empty string and "a".
        assert_eq!(super::fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(super::fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
