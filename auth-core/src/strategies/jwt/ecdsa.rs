//! ECDSA signature malleability: for a valid signature `(r, s)`, `(r, n − s)` is valid too, so
//! anyone holding an ES256/ES384 token can spell its signature a second way without the key.
//!
//! This crate issues only the *low-S* spelling (`s ≤ n/2`, as Bitcoin's BIP 62 and libsecp256k1
//! do), and refuses the other one under keys that can sign, whose tokens are all its own (a
//! verify-only key can be told to refuse it too, with
//! [`JwtKey::require_low_s`](super::JwtKey::require_low_s)). Whatever the key, the denylist
//! keys tokens by something the holder cannot re-spell (see
//! [`token_id`](crate::strategies::denylist::token_id)).
//!
//! JWS writes an ECDSA signature as `r || s`, each a big-endian integer of the curve's size
//! (RFC 7518 §3.4).

use super::Algorithm;

/// The order of P-256.
const P256_N: [u8; 32] = hex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
/// The order of P-384.
const P384_N: [u8; 48] =
    hex("ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973");

/// The curve order for `alg`, if it is an ECDSA algorithm with a fixed-size signature.
fn order(alg: Algorithm) -> Option<&'static [u8]> {
    match alg {
        Algorithm::ES256 => Some(&P256_N),
        Algorithm::ES384 => Some(&P384_N),
        _ => None,
    }
}

/// Whether `signature` (raw `r || s`) under `alg` has `s > n/2`. `false` for other algorithms
/// and other lengths (those fail verification anyway).
pub(super) fn is_high_s(alg: Algorithm, signature: &[u8]) -> bool {
    let Some(n) = order(alg) else { return false };
    if signature.len() != 2 * n.len() {
        return false;
    }
    let s = &signature[n.len()..];
    // s > n/2  ⇔  2s > n (n is odd); compare 2s with n without overflow: walk from the most
    // significant byte, carrying the bit shifted out of each byte into the next comparison.
    greater_than_half(s, n)
}

/// `(r, n − s)` for a high-S signature, the signature unchanged otherwise.
pub(super) fn to_low_s(alg: Algorithm, mut signature: Vec<u8>) -> Vec<u8> {
    if is_high_s(alg, &signature)
        && let Some(n) = order(alg)
    {
        let s = &mut signature[n.len()..];
        let mut borrow = 0u16;
        for i in (0..n.len()).rev() {
            let difference = u16::from(n[i]).wrapping_sub(u16::from(s[i])).wrapping_sub(borrow);
            s[i] = difference as u8;
            borrow = u16::from(difference > 0xff);
        }
    }
    signature
}

/// Whether the big-endian `s` exceeds half of the odd big-endian `n` of the same length.
fn greater_than_half(s: &[u8], n: &[u8]) -> bool {
    // Compare s with floor(n / 2), computed byte by byte.
    let mut carry = 0u8;
    for (s_byte, n_byte) in s.iter().zip(n) {
        let half = (n_byte >> 1) | carry;
        carry = (n_byte & 1) << 7;
        match s_byte.cmp(&half) {
            std::cmp::Ordering::Greater => return true,
            std::cmp::Ordering::Less => return false,
            std::cmp::Ordering::Equal => {}
        }
    }
    false
}

const fn hex<const N: usize>(text: &str) -> [u8; N] {
    let mut out = [0u8; N];
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < N {
        out[i] = nibble(bytes[2 * i]) << 4 | nibble(bytes[2 * i + 1]);
        i += 1;
    }
    out
}

const fn nibble(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => panic!("not a lowercase hex digit"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signature(s: &[u8; 32]) -> Vec<u8> {
        [[7u8; 32].as_slice(), s.as_slice()].concat()
    }

    #[test]
    fn half_the_order_is_the_boundary() {
        // floor(n/2) for P-256.
        let half: [u8; 32] = hex("7fffffff800000007fffffffffffffffde737d56d38bcf4279dce5617e3192a8");
        let mut above = half;
        above[31] += 1;
        assert!(!is_high_s(Algorithm::ES256, &signature(&half)));
        assert!(is_high_s(Algorithm::ES256, &signature(&above)));
        assert!(!is_high_s(Algorithm::ES256, &signature(&[0; 32])));
        assert!(is_high_s(Algorithm::ES256, &signature(&P256_N)));
        assert!(!is_high_s(Algorithm::RS256, &signature(&above)), "not ECDSA");
        assert!(!is_high_s(Algorithm::ES256, &above), "wrong length");

        // n − (floor(n/2) + 1) = floor(n/2): the low spelling of `above` is `half`.
        assert_eq!(to_low_s(Algorithm::ES256, signature(&above)), signature(&half));
        assert_eq!(to_low_s(Algorithm::ES256, signature(&half)), signature(&half));
    }

    #[test]
    fn p384_half_order() {
        let mut s = [0u8; 96];
        s[48..].copy_from_slice(&P384_N);
        assert!(is_high_s(Algorithm::ES384, &s));
        let low = to_low_s(Algorithm::ES384, s.to_vec());
        assert!(low[48..].iter().all(|b| *b == 0), "n − n = 0");
    }
}
