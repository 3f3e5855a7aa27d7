//! The one place a MAC is computed and compared: HMAC over SHA-256, SHA-1 or SHA-512, and a
//! constant-time check of candidate signatures against it (`Mac::verify_slice`). Every scheme,
//! the ModelGates reference included, computes and compares through here. A check keyed with
//! a secret's own bytes ([`secret_matches_any`]) starts HMAC-SHA256 from the state the secret
//! keyed once ([`Secret::hmac_sha256`]) instead of keying anew per request.

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};

use crate::model::secret::Secret;

/// MAC algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA1.
    Sha1,
    /// HMAC-SHA512.
    Sha512,
}

impl Algorithm {
    /// Length of the MAC in bytes.
    pub fn output_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 32,
            Algorithm::Sha1 => 20,
            Algorithm::Sha512 => 64,
        }
    }
}

/// A MAC keyed with `key` that has absorbed `parts`, in order.
fn keyed<M: Mac + KeyInit>(key: &[u8], parts: impl IntoIterator<Item = impl AsRef<[u8]>>) -> M {
    // HMAC accepts keys of any length; new_from_slice cannot fail for it.
    let mut m = <M as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    for part in parts {
        m.update(part.as_ref());
    }
    m
}

fn any_of<M: Mac + KeyInit + Clone>(
    key: &[u8],
    parts: impl IntoIterator<Item = impl AsRef<[u8]>>,
    candidates: impl IntoIterator<Item = impl AsRef<[u8]>>,
) -> bool {
    any_matches(keyed::<M>(key, parts), candidates)
}

/// Whether any candidate is the MAC `m` has absorbed, each compared in constant time.
fn any_matches<M: Mac + Clone>(
    m: M,
    candidates: impl IntoIterator<Item = impl AsRef<[u8]>>,
) -> bool {
    candidates
        .into_iter()
        .any(|c| m.clone().verify_slice(c.as_ref()).is_ok())
}

/// The MAC of the concatenated `parts` under `key`.
pub fn compute(algorithm: Algorithm, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    match algorithm {
        Algorithm::Sha256 => keyed::<Hmac<sha2::Sha256>>(key, parts)
            .finalize()
            .into_bytes()
            .to_vec(),
        Algorithm::Sha1 => keyed::<Hmac<sha1::Sha1>>(key, parts)
            .finalize()
            .into_bytes()
            .to_vec(),
        Algorithm::Sha512 => keyed::<Hmac<sha2::Sha512>>(key, parts)
            .finalize()
            .into_bytes()
            .to_vec(),
    }
}

/// Whether any of the (decoded) `candidates` is the MAC of the concatenated `parts` under
/// `key`. Each is compared in constant time; only its length, which is public, is checked
/// first. Parts and candidates may be borrowed slices or stack arrays: nothing is copied.
pub fn matches_any(
    algorithm: Algorithm,
    key: &[u8],
    parts: impl IntoIterator<Item = impl AsRef<[u8]>>,
    candidates: impl IntoIterator<Item = impl AsRef<[u8]>>,
) -> bool {
    match algorithm {
        Algorithm::Sha256 => any_of::<Hmac<sha2::Sha256>>(key, parts, candidates),
        Algorithm::Sha1 => any_of::<Hmac<sha1::Sha1>>(key, parts, candidates),
        Algorithm::Sha512 => any_of::<Hmac<sha2::Sha512>>(key, parts, candidates),
    }
}

/// [`matches_any`] keyed with the secret's own bytes; for HMAC-SHA256 from the secret's
/// keyed state, cloned (the same MAC, without the two SHA-256 blocks of key setup).
pub fn secret_matches_any(
    algorithm: Algorithm,
    secret: &Secret,
    parts: impl IntoIterator<Item = impl AsRef<[u8]>>,
    candidates: impl IntoIterator<Item = impl AsRef<[u8]>>,
) -> bool {
    match algorithm {
        Algorithm::Sha256 => {
            let mut m = secret.hmac_sha256().clone();
            for part in parts {
                m.update(part.as_ref());
            }
            any_matches(m, candidates)
        }
        Algorithm::Sha1 | Algorithm::Sha512 => {
            matches_any(algorithm, secret.expose(), parts, candidates)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    fn compares_whole_macs_only(
        #[values(Algorithm::Sha256, Algorithm::Sha1, Algorithm::Sha512)] alg: Algorithm,
    ) {
        let mac = compute(alg, b"k", &[b"a", b"b"]);
        assert_eq!(mac.len(), alg.output_len());
        assert_eq!(mac, compute(alg, b"k", &[b"ab"]), "parts are concatenated");
        let mut flipped = mac.clone();
        flipped[0] ^= 1;
        assert!(matches_any(alg, b"k", [b"ab"], [mac.as_slice()]));
        assert!(matches_any(
            alg,
            b"k",
            [b"ab"],
            [flipped.as_slice(), mac.as_slice()]
        ));
        assert!(!matches_any(alg, b"k", [b"ab"], [flipped.as_slice()]));
        assert!(!matches_any(alg, b"k", [b"ab"], [&mac[..mac.len() - 1]]));
        assert!(!matches_any(alg, b"k", [b"ab"], [&[][..]]));
        assert!(!matches_any(alg, b"other", [b"ab"], [mac.as_slice()]));
    }

    #[rstest]
    fn a_secret_checks_as_its_bytes_do(
        #[values(Algorithm::Sha256, Algorithm::Sha1, Algorithm::Sha512)] alg: Algorithm,
        // Shorter than, exactly and longer than a SHA-256 block (a long key is hashed first).
        #[values(1, 64, 100)] key_len: usize,
    ) {
        let key = "k".repeat(key_len);
        let secret = Secret::new(key.as_str()).unwrap();
        let mac = compute(alg, key.as_bytes(), &[b"a", b"b"]);
        let mut flipped = mac.clone();
        flipped[0] ^= 1;
        assert!(secret_matches_any(
            alg,
            &secret,
            [b"a", b"b"],
            [mac.as_slice()]
        ));
        // The secret's state is cloned, never used up: every check starts from it afresh.
        assert!(secret_matches_any(
            alg,
            &secret,
            [b"ab"],
            [flipped.as_slice(), mac.as_slice()]
        ));
        assert!(!secret_matches_any(
            alg,
            &secret,
            [b"ab"],
            [flipped.as_slice()]
        ));
        assert!(!secret_matches_any(
            alg,
            &secret,
            [b"ab"],
            [&mac[..mac.len() - 1]]
        ));
        assert!(!secret_matches_any(
            alg,
            &Secret::new("other").unwrap(),
            [b"ab"],
            [mac.as_slice()]
        ));
    }
}
