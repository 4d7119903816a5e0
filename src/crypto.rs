//! Credentials at rest: XChaCha20-Poly1305 under a key derived from `ORGSYNC_SECRET_KEY`.

use base64::Engine;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};

use crate::config::Secret;

const NONCE_LEN: usize = 24;

/// Why a credential could not be sealed or opened (never what it holds).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SealError(&'static str);

/// Seals and opens small secrets. The stored form is base64 of nonce ‖ ciphertext.
pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl Sealer {
    pub fn new(secret: &Secret) -> Self {
        let key = Sha256::digest(secret.expose());
        Self {
            cipher: XChaCha20Poly1305::new(&key),
        }
    }

    pub fn seal(&self, plain: &str) -> Result<String, SealError> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = self
            .cipher
            .encrypt(&nonce, plain.as_bytes())
            .map_err(|_| SealError("sealing a credential failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(base64::engine::general_purpose::STANDARD.encode(out))
    }

    /// Fails when the text was sealed under another key or was tampered with.
    pub fn open(&self, stored: &str) -> Result<String, SealError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(stored)
            .map_err(|_| SealError("a sealed credential is not base64"))?;
        if bytes.len() < NONCE_LEN {
            return Err(SealError("a sealed credential is too short"));
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(XNonce::from_slice(nonce), sealed)
            .map_err(|_| {
                SealError(
                    "a sealed credential cannot be opened with the configured ORGSYNC_SECRET_KEY",
                )
            })?;
        String::from_utf8(plain).map_err(|_| SealError("a sealed credential is not UTF-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_text_opens_only_with_its_key() {
        let a = Sealer::new(&Secret::new(vec![1; 32]).unwrap());
        let b = Sealer::new(&Secret::new(vec![2; 32]).unwrap());
        let sealed = a.seal("hunter2-password").unwrap();
        assert!(!sealed.contains("hunter2"));
        assert_ne!(
            a.seal("hunter2-password").unwrap(),
            sealed,
            "a fresh nonce every time"
        );
        assert_eq!(a.open(&sealed).unwrap(), "hunter2-password");
        assert!(b.open(&sealed).is_err());
        let mut tampered = base64::engine::general_purpose::STANDARD
            .decode(&sealed)
            .unwrap();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(a
            .open(&base64::engine::general_purpose::STANDARD.encode(tampered))
            .is_err());
    }
}
