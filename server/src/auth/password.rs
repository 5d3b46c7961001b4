//! Password hashing, verification and policy.
//!
//! Passwords are hashed with argon2id and stored as PHC strings
//! (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`), so every stored hash carries its own salt
//! and cost parameters and old hashes keep verifying after the parameters change.
//!
//! # Cost and threads
//! [`hash_password`], [`verify_password`] and [`verify_against_dummy`] each take about 19 MiB of
//! memory and tens of milliseconds of CPU on purpose. They block: request handlers run them
//! through `super::hash_limit::HashLimiter::run` (the blocking pool, at most one per core at
//! once), never on an executor thread.
//!
//! # Login timing
//! A login handler must spend the same time whether or not the account exists, or response
//! times reveal which user names are registered. When the user is unknown (or has no password),
//! call [`verify_against_dummy`] instead of [`verify_password`] and answer exactly as for a
//! wrong password.

use std::sync::OnceLock;

use argon2::password_hash::{self, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::rngs::OsRng;

/// Argon2 memory cost in KiB (19 MiB).
///
/// We pin the OWASP Password Storage Cheat Sheet's minimum for argon2id (m=19456 KiB, t=2, p=1)
/// instead of relying on `Params::default()`. The two are equal in argon2 0.5, but pinning them
/// here means a dependency upgrade cannot silently change the cost of new hashes (and with it
/// login latency and the dummy-verification timing). p=1 because a request handler should use
/// one core; on a 2-core server, parallel logins already use the rest.
pub const M_COST_KIB: u32 = 19_456;
/// Argon2 time cost (passes over memory); see [`M_COST_KIB`].
pub const T_COST: u32 = 2;
/// Argon2 parallelism (lanes); see [`M_COST_KIB`].
pub const P_COST: u32 = 1;

/// Shortest accepted password, in characters (Unicode scalar values, not bytes).
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longest accepted password, in bytes of UTF-8. Long enough for any passphrase, short enough
/// that nobody can make the server hash megabytes.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Password the dummy hash is made from. Its value is irrelevant: nobody can log in with it,
/// because [`verify_against_dummy`] never reports a match.
const DUMMY_PASSWORD: &str = "fieldsync-dummy-password-for-unknown-users";

/// Errors from hashing, verifying or checking a password.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// The new password has fewer than [`MIN_PASSWORD_CHARS`] characters.
    #[error("password is too short: use at least {min} characters (this one has {got})")]
    TooShort {
        /// Minimum number of characters.
        min: usize,
        /// Number of characters given.
        got: usize,
    },
    /// The new password has more than [`MAX_PASSWORD_BYTES`] bytes.
    #[error("password is too long: use at most {max} bytes (this one has {got})")]
    TooLong {
        /// Maximum number of bytes.
        max: usize,
        /// Number of bytes given.
        got: usize,
    },
    /// The stored hash is not a valid PHC string.
    #[error("stored password hash is malformed")]
    MalformedHash(#[source] password_hash::Error),
    /// The stored hash is a valid PHC string for an algorithm other than argon2id.
    #[error("stored password hash uses algorithm {algorithm}, expected argon2id")]
    UnsupportedAlgorithm {
        /// Algorithm identifier found in the stored hash.
        algorithm: String,
    },
    /// Argon2 itself failed (bad parameters, out of memory); not caused by the user's input.
    #[error("password hashing failed")]
    Hash(#[source] password_hash::Error),
}

/// Checks a *new* password (sign-up, password change) against the policy: at least
/// [`MIN_PASSWORD_CHARS`] characters and at most [`MAX_PASSWORD_BYTES`] bytes.
///
/// Deliberately no composition rules (digits, symbols): they push users to predictable
/// patterns and length matters more. Do not apply this at login, where a wrong password must
/// simply fail verification. Cheap; no need for `spawn_blocking`.
pub fn check_password_policy(password: &str) -> Result<(), PasswordError> {
    // Bytes first, so an enormous input is rejected before we walk it counting characters.
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(PasswordError::TooLong {
            max: MAX_PASSWORD_BYTES,
            got: password.len(),
        });
    }
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(PasswordError::TooShort {
            min: MIN_PASSWORD_CHARS,
            got: chars,
        });
    }
    Ok(())
}

/// Hashes `password` with argon2id, the pinned parameters and a fresh 16-byte salt from the OS
/// random number generator, and returns the PHC string to store.
///
/// Does not check the policy: call [`check_password_policy`] first. CPU- and memory-heavy:
/// run in `spawn_blocking`.
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    let salt = SaltString::generate(&mut OsRng);
    let hash = hasher()?
        .hash_password(password.as_bytes(), &salt)
        .map_err(PasswordError::Hash)?;
    Ok(hash.to_string())
}

/// Checks `password` against a stored PHC string.
///
/// Returns `Ok(true)` on a match, `Ok(false)` on a wrong password, and an error only when the
/// stored hash is malformed or not argon2id (a server-side data problem, never the user's).
/// Verification uses the parameters stored in `phc`, and the final comparison is constant-time.
/// CPU- and memory-heavy: run in `spawn_blocking`.
pub fn verify_password(password: &str, phc: &str) -> Result<bool, PasswordError> {
    let parsed = parse_argon2id(phc)?;
    match hasher()?.verify_password(password.as_bytes(), &parsed) {
        Ok(()) => Ok(true),
        Err(password_hash::Error::Password) => Ok(false),
        Err(e) => Err(PasswordError::Hash(e)),
    }
}

/// Does the work of one [`verify_password`] against a fixed dummy hash and discards the result.
///
/// Call it when the login names an unknown user (or one without a password), so that such a
/// login costs the same as a wrong password for a real user. The dummy hash is computed once
/// per process, on first use (so the first call costs one extra hash; the server may call this
/// once at start-up to warm it). Never fails and never grants anything. CPU- and memory-heavy:
/// run in `spawn_blocking`.
pub fn verify_against_dummy(password: &str) {
    let outcome = match dummy_phc() {
        Some(phc) => verify_password(password, phc).map(|_| ()),
        // Hashing the dummy failed, which only happens if argon2 cannot run at all; a real
        // verification would fail the same way. Spend a comparable amount of work anyway.
        None => hash_password(password).map(|_| ()),
    };
    // Keep the optimiser from reasoning the work away; the outcome itself is meaningless.
    std::hint::black_box(outcome.is_ok());
}

/// The dummy hash, made once with the current parameters.
fn dummy_phc() -> Option<&'static str> {
    static DUMMY: OnceLock<Option<String>> = OnceLock::new();
    DUMMY
        .get_or_init(|| hash_password(DUMMY_PASSWORD).ok())
        .as_deref()
}

/// Reports whether a stored hash was made with other parameters than the current ones.
///
/// After a successful login the server should re-hash the password and store the new PHC
/// string when this returns `true`; that keeps every account on the current cost, which is
/// also what makes [`verify_against_dummy`] cost the same as a real verification. Cheap.
pub fn needs_rehash(phc: &str) -> Result<bool, PasswordError> {
    let parsed = parse_argon2id(phc)?;
    let current_version = parsed.version == Some(Version::V0x13.into());
    let params = Params::try_from(&parsed).map_err(PasswordError::MalformedHash)?;
    let current_params =
        params.m_cost() == M_COST_KIB && params.t_cost() == T_COST && params.p_cost() == P_COST;
    Ok(!(current_version && current_params))
}

/// Parses a PHC string and insists on argon2id.
fn parse_argon2id(phc: &str) -> Result<PasswordHash<'_>, PasswordError> {
    let parsed = PasswordHash::new(phc).map_err(PasswordError::MalformedHash)?;
    if parsed.algorithm != Algorithm::Argon2id.ident() {
        return Err(PasswordError::UnsupportedAlgorithm {
            algorithm: parsed.algorithm.to_string(),
        });
    }
    Ok(parsed)
}

/// The argon2id hasher with the pinned parameters.
fn hasher() -> Result<Argon2<'static>, PasswordError> {
    let params =
        Params::new(M_COST_KIB, T_COST, P_COST, None).map_err(|e| PasswordError::Hash(e.into()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hashed_password_verifies_and_a_wrong_one_does_not() {
        let phc = hash_password("correct horse battery").unwrap();
        assert!(verify_password("correct horse battery", &phc).unwrap());
        assert!(!verify_password("correct horse batterY", &phc).unwrap());
        assert!(!verify_password("", &phc).unwrap());
    }

    #[test]
    fn hashes_are_argon2id_phc_strings_with_the_pinned_parameters() {
        let phc = hash_password("correct horse battery").unwrap();
        assert!(
            phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "unexpected PHC string {phc}"
        );
        assert!(!needs_rehash(&phc).unwrap());
    }

    #[test]
    fn the_pinned_parameters_match_the_owasp_recommendation_and_argon2_defaults() {
        assert_eq!((M_COST_KIB, T_COST, P_COST), (19 * 1024, 2, 1));
        assert_eq!(Params::DEFAULT_M_COST, M_COST_KIB);
        assert_eq!(Params::DEFAULT_T_COST, T_COST);
        assert_eq!(Params::DEFAULT_P_COST, P_COST);
    }

    #[test]
    fn the_same_password_hashes_differently_each_time() {
        let a = hash_password("correct horse battery").unwrap();
        let b = hash_password("correct horse battery").unwrap();
        assert_ne!(a, b, "salts must be random");
        assert!(verify_password("correct horse battery", &a).unwrap());
        assert!(verify_password("correct horse battery", &b).unwrap());
    }

    #[test]
    fn a_malformed_stored_hash_is_an_error_not_a_mismatch() {
        for bad in [
            "",
            "not a hash",
            "$argon2id$",
            "$argon2id$v=19$m=19456,t=2,p=1$$",
        ] {
            assert!(
                matches!(
                    verify_password("whatever1234", bad),
                    Err(PasswordError::MalformedHash(_))
                ),
                "{bad:?} should be malformed"
            );
        }
    }

    #[test]
    fn a_stored_hash_for_another_algorithm_is_refused() {
        let phc = hash_password("correct horse battery").unwrap();
        let argon2i = phc.replacen("$argon2id$", "$argon2i$", 1);
        assert!(matches!(
            verify_password("correct horse battery", &argon2i),
            Err(PasswordError::UnsupportedAlgorithm { algorithm }) if algorithm == "argon2i"
        ));
        let bcrypt = "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW";
        assert!(verify_password("x", bcrypt).is_err());
    }

    #[test]
    fn hashes_with_older_parameters_still_verify_but_need_a_rehash() {
        let salt = SaltString::generate(&mut OsRng);
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8 * 1024, 1, 1, None).unwrap(),
        )
        .hash_password(b"correct horse battery", &salt)
        .unwrap()
        .to_string();
        assert!(verify_password("correct horse battery", &weak).unwrap());
        assert!(needs_rehash(&weak).unwrap());
    }

    #[test]
    fn the_dummy_verification_runs_without_panicking_for_any_input() {
        verify_against_dummy("");
        verify_against_dummy("correct horse battery");
        verify_against_dummy(DUMMY_PASSWORD);
        verify_against_dummy(&"x".repeat(MAX_PASSWORD_BYTES * 4));
    }

    #[test]
    fn the_dummy_verification_does_the_same_work_as_a_real_one() {
        // Equal cost by construction, not by a stopwatch (timings on a shared machine are
        // noise): the dummy is a real argon2id hash with today's parameters, made once, and
        // `verify_against_dummy` runs the very `verify_password` a real login runs.
        let dummy = dummy_phc().expect("the dummy hash exists");
        let real = hash_password("correct horse battery").unwrap();
        assert!(
            !needs_rehash(dummy).unwrap(),
            "the dummy uses the current parameters"
        );
        assert!(!needs_rehash(&real).unwrap());
        let params = |phc: &str| {
            let parsed = PasswordHash::new(phc).unwrap();
            (parsed.algorithm.to_string(), parsed.params.to_string())
        };
        assert_eq!(params(dummy), params(&real));
        assert!(
            std::ptr::eq(dummy, dummy_phc().unwrap()),
            "made once, not per call"
        );
        assert!(!verify_password("wrong password!", dummy).unwrap());
        verify_against_dummy("wrong password!");
    }

    #[test]
    fn the_policy_wants_ten_characters() {
        assert!(matches!(
            check_password_policy("123456789"),
            Err(PasswordError::TooShort { min: 10, got: 9 })
        ));
        assert!(check_password_policy("1234567890").is_ok());
        // Characters, not bytes: ten accented letters are twenty bytes but ten characters.
        assert!(check_password_policy(&"é".repeat(10)).is_ok());
        assert!(matches!(
            check_password_policy(&"é".repeat(9)),
            Err(PasswordError::TooShort { min: 10, got: 9 })
        ));
    }

    #[test]
    fn the_policy_caps_passwords_at_1024_bytes() {
        assert!(check_password_policy(&"a".repeat(MAX_PASSWORD_BYTES)).is_ok());
        let err = check_password_policy(&"a".repeat(MAX_PASSWORD_BYTES + 1)).unwrap_err();
        assert!(matches!(
            err,
            PasswordError::TooLong {
                max: 1024,
                got: 1025
            }
        ));
        assert_eq!(
            err.to_string(),
            "password is too long: use at most 1024 bytes (this one has 1025)"
        );
        // Multi-byte characters count by their bytes here.
        assert!(check_password_policy(&"é".repeat(513)).is_err());
    }

    #[test]
    fn policy_messages_say_what_to_do() {
        assert_eq!(
            check_password_policy("short").unwrap_err().to_string(),
            "password is too short: use at least 10 characters (this one has 5)"
        );
    }
}
