//! Passwords of users (of an org, or of the provider), stored as argon2id PHC strings.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::error::ApiError;

pub fn hash(password: &str) -> Result<String, ApiError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ApiError::internal(format!("hashing a password: {e}")))
}

/// Checks a new user's name and password; gives the name trimmed.
pub fn check_new_user(user_name: &str, password: &str) -> Result<String, ApiError> {
    use crate::error::Code;
    let name = user_name.trim();
    if name.is_empty() || name.chars().count() > 256 || name.chars().any(char::is_control) {
        return Err(
            ApiError::new(Code::InvalidField, "UserName must be 1 to 256 characters")
                .field("UserName"),
        );
    }
    if !(8..=1024).contains(&password.chars().count()) {
        return Err(
            ApiError::new(Code::WeakPassword, "Password must be 8 to 1024 characters")
                .field("Password"),
        );
    }
    Ok(name.to_owned())
}

/// True when `password` matches the stored hash. A malformed hash never matches.
pub fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash to verify against when the user does not exist, so the answer takes as long.
pub fn dummy_hash() -> &'static str {
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$9JKS1c4cq7a8HgC4nH0sXbDx3JeJxq8m6jTkzZ2G7Qk"
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_hash_verifies_only_its_password() {
        let h = super::hash("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(super::verify("correct horse", &h));
        assert!(!super::verify("wrong horse", &h));
        assert!(!super::verify("correct horse", "not a hash"));
        assert!(!super::verify("x", super::dummy_hash()));
    }
}
