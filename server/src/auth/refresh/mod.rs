//! Rotating refresh tokens for devices that stay offline for days.
//!
//! A device logs in once and gets a short-lived access token (see the `jwt` module) plus a
//! refresh token. When it comes back online it trades the refresh token for a new access token
//! *and a new refresh token*; the old refresh token is then spent. Every refresh token descends
//! from one login, its **family**.
//!
//! # Token format
//! `"<family_id>.<secret>"`: the family id is a uuid v4 in simple form (32 lower-case hex
//! digits), the secret 32 random bytes from the OS RNG in base64url without padding
//! (43 characters), 76 characters in all. The family id lets the server find the family
//! without indexing secrets; the secret makes the token unguessable.
//!
//! # Storage rule (what the server must implement)
//! - Only [`hash_token`] of the whole token is stored, never the token itself. A database leak
//!   then yields no usable tokens.
//! - Each family has exactly one **current** token hash, an expiry and a `revoked` flag, plus
//!   the hashes of its **spent** tokens.
//! - Presenting the current token **rotates** the family: the presented hash becomes spent, a
//!   new token ([`rotate`]) becomes current, and the expiry slides to
//!   `now + `[`DEFAULT_REFRESH_TTL_SECS`] (30 days of inactivity ends a family; a device that
//!   syncs at least monthly stays logged in forever).
//! - Presenting the **previous** token (the one the current token replaced) again within
//!   [`DEFAULT_GRACE_SECS`] (60 s) of that rotation, while the current token was never
//!   presented, means the refresh response never reached the device (a technician in a
//!   cellar): it is a **grace retry**. The device gets a fresh pair, the unused successor is
//!   retired (spent), and the grace is used up: the same token a third time is reuse.
//! - Presenting any other **spent** token of the family (or the previous one after the window,
//!   or after its successor was used) means two parties hold tokens of one family: one of them
//!   stole it. We cannot tell which, so the whole family is **revoked** and the device must
//!   log in again ([`RefreshDecision::ReuseDetected`]).
//! - A revoked or expired family never yields a token again.
//!
//! [`decide`] (in [`family`]) encodes this rule as a pure function; [`FamilyState::rotated`],
//! [`FamilyState::retried`] and [`FamilyState::revoked`] give the state to write back. The
//! server does the I/O around them; see [`decide_with_grace`] for the order of operations.

pub mod family;

pub use family::{
    decide, decide_with_grace, sliding_expiry, FamilyState, PreviousToken, RefreshDecision,
    DEFAULT_GRACE_SECS,
};

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// How long a family lives without being used, in seconds (30 days). Slides on every rotation.
pub const DEFAULT_REFRESH_TTL_SECS: i64 = 30 * 24 * 60 * 60;
/// Random bytes in a token's secret part; 256 bits, far beyond guessing.
pub const SECRET_BYTES: usize = 32;
/// Length of a family id: a uuid in simple form.
pub const FAMILY_ID_LEN: usize = 32;
/// Length of the secret part: base64url of [`SECRET_BYTES`] bytes without padding.
pub const SECRET_LEN: usize = 43;
/// Length of a whole token: family id, dot, secret.
pub const TOKEN_LEN: usize = FAMILY_ID_LEN + 1 + SECRET_LEN;
/// Length of a stored token hash: SHA-256 in lower-case hex.
pub const HASH_LEN: usize = 64;

/// Errors from parsing a presented refresh token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefreshError {
    /// Not [`TOKEN_LEN`] bytes long; checked before anything else.
    #[error("refresh token has the wrong length: expected {expected} bytes, got {got}")]
    WrongLength {
        /// Expected length.
        expected: usize,
        /// Length given.
        got: usize,
    },
    /// Right length, wrong shape.
    #[error("refresh token is malformed: {0}")]
    Malformed(&'static str),
}

/// Identifies one refresh-token family: a uuid v4 in simple form (32 lower-case hex digits).
///
/// Only built by generating ([`new_family`]) or parsing ([`FamilyId::parse`]), so every value
/// is well-formed. Store it as text with [`FamilyId::as_str`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FamilyId(String);

impl FamilyId {
    fn generate() -> Self {
        Self(uuid::Uuid::new_v4().simple().to_string())
    }

    /// Parses a family id: exactly 32 lower-case hex digits forming a version-4 uuid.
    pub fn parse(s: &str) -> Result<Self, RefreshError> {
        if s.len() != FAMILY_ID_LEN {
            return Err(RefreshError::Malformed("family id must be 32 hex digits"));
        }
        if !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(RefreshError::Malformed(
                "family id must be lower-case hex digits",
            ));
        }
        match uuid::Uuid::try_parse(s) {
            Ok(id) if id.get_version_num() == 4 => Ok(Self(s.to_owned())),
            _ => Err(RefreshError::Malformed("family id is not a uuid v4")),
        }
    }

    /// The id as stored: 32 lower-case hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FamilyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A refresh token to hand to a device, exactly once, in the login or refresh response.
///
/// Deliberately not `Display`, and `Debug` shows only the family, so it does not end up in
/// logs by accident. Take the text with [`RefreshToken::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken(String);

impl RefreshToken {
    /// The token text, to put in the response body. Never log or store it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let family = self.0.split('.').next().unwrap_or_default();
        write!(f, "RefreshToken({family}.<redacted>)")
    }
}

/// What the server stores for a newly minted token: its family and the hash of the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// Family the token belongs to.
    pub family_id: FamilyId,
    /// [`hash_token`] of the whole token: 64 lower-case hex digits.
    pub token_hash: String,
}

/// A presented token after [`parse`]: the family to load and the hash to look for in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedRefresh {
    /// Family named by the token.
    pub family_id: FamilyId,
    /// [`hash_token`] of the whole presented token.
    pub hash: String,
}

/// Starts a family at login: a new family id and its first token.
///
/// Store the record as the family's current hash with expiry
/// [`sliding_expiry`]`(now)` and `revoked = false`.
pub fn new_family() -> (RefreshToken, TokenRecord) {
    mint(FamilyId::generate())
}

/// Mints the next token of `family`, to become its current token on rotation.
pub fn rotate(family: &FamilyId) -> (RefreshToken, TokenRecord) {
    mint(family.clone())
}

fn mint(family_id: FamilyId) -> (RefreshToken, TokenRecord) {
    let mut secret = [0u8; SECRET_BYTES];
    OsRng.fill_bytes(&mut secret);
    let token = format!("{family_id}.{}", URL_SAFE_NO_PAD.encode(secret));
    let token_hash = hash_token(&token);
    (
        RefreshToken(token),
        TokenRecord {
            family_id,
            token_hash,
        },
    )
}

/// Checks the format of a presented token strictly and hashes it.
///
/// Accepts exactly `"<32 lower-case hex uuid v4>.<43 base64url characters encoding 32 bytes>"`
/// and nothing else (no padding, whitespace, other alphabets or non-canonical encodings). The
/// length is checked first, so oversized input costs nothing. Passing says nothing about
/// whether the token is genuine: that is for [`decide`].
pub fn parse(token: &str) -> Result<ParsedRefresh, RefreshError> {
    if token.len() != TOKEN_LEN {
        return Err(RefreshError::WrongLength {
            expected: TOKEN_LEN,
            got: token.len(),
        });
    }
    let (family, secret) = token
        .split_once('.')
        .ok_or(RefreshError::Malformed("missing '.' separator"))?;
    let family_id = FamilyId::parse(family)?;
    if secret.len() != SECRET_LEN {
        return Err(RefreshError::Malformed("secret has the wrong length"));
    }
    // The strict base64 engine also rejects '.', '=', '+', '/' and non-canonical last
    // characters, so one secret has exactly one spelling.
    let decoded = URL_SAFE_NO_PAD
        .decode(secret)
        .map_err(|_| RefreshError::Malformed("secret is not base64url"))?;
    if decoded.len() != SECRET_BYTES {
        return Err(RefreshError::Malformed("secret has the wrong length"));
    }
    Ok(ParsedRefresh {
        family_id,
        hash: hash_token(token),
    })
}

/// SHA-256 of the whole token text, in lower-case hex. This is what gets stored.
///
/// A plain hash (no salt, no argon2) is enough because the secret has 256 bits of entropy:
/// there is no dictionary to attack.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Compares two hashes in time that depends only on their lengths, not on where they differ.
pub fn hashes_equal(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_family_token_has_the_documented_shape() {
        let (token, record) = new_family();
        let text = token.expose();
        assert_eq!(text.len(), TOKEN_LEN);
        assert_eq!(TOKEN_LEN, 76);
        let (family, secret) = text.split_once('.').unwrap();
        assert_eq!(family, record.family_id.as_str());
        assert_eq!(uuid::Uuid::try_parse(family).unwrap().get_version_num(), 4);
        assert_eq!(URL_SAFE_NO_PAD.decode(secret).unwrap().len(), SECRET_BYTES);
        assert_eq!(record.token_hash, hash_token(text));
        assert_eq!(record.token_hash.len(), HASH_LEN);
    }

    #[test]
    fn a_minted_token_parses_back_to_its_record() {
        let (token, record) = new_family();
        let parsed = parse(token.expose()).unwrap();
        assert_eq!(parsed.family_id, record.family_id);
        assert_eq!(parsed.hash, record.token_hash);
    }

    #[test]
    fn rotation_keeps_the_family_and_changes_the_secret() {
        let (first, record) = new_family();
        let (second, next) = rotate(&record.family_id);
        assert_eq!(next.family_id, record.family_id);
        assert_ne!(first.expose(), second.expose());
        assert_ne!(next.token_hash, record.token_hash);
        assert_eq!(parse(second.expose()).unwrap().hash, next.token_hash);
    }

    #[test]
    fn new_families_are_distinct() {
        let (_, a) = new_family();
        let (_, b) = new_family();
        assert_ne!(a.family_id, b.family_id);
    }

    #[test]
    fn debug_output_hides_the_secret() {
        let (token, record) = new_family();
        let shown = format!("{token:?}");
        let secret = token.expose().split_once('.').unwrap().1;
        assert!(!shown.contains(secret), "{shown}");
        assert!(shown.contains(record.family_id.as_str()), "{shown}");
    }

    #[test]
    fn hash_token_is_lower_case_sha256_hex() {
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn hashes_equal_compares_whole_strings() {
        let h = hash_token("x");
        assert!(hashes_equal(&h, &h.clone()));
        assert!(!hashes_equal(&h, &hash_token("y")));
        assert!(!hashes_equal(&h, &h[..63]));
        assert!(!hashes_equal(&h, ""));
        assert!(hashes_equal("", ""));
    }

    #[test]
    fn parse_refuses_wrong_lengths_before_looking_inside() {
        let (token, _) = new_family();
        let text = token.expose();
        for bad in ["", &text[..75], &format!("{text}A"), &"x".repeat(100_000)] {
            assert!(
                matches!(
                    parse(bad),
                    Err(RefreshError::WrongLength { expected: 76, .. })
                ),
                "{} bytes",
                bad.len()
            );
        }
    }

    #[test]
    fn parse_refuses_every_malformed_shape_of_the_right_length() {
        let (token, _) = new_family();
        let text = token.expose();
        let (family, secret) = text.split_once('.').unwrap();
        let upper = format!("{}.{secret}", family.to_uppercase());
        let hyphenated = format!(
            "{}.{}",
            uuid::Uuid::try_parse(family).unwrap().hyphenated(),
            &secret[..39]
        );
        let not_v4 = format!("{}1{}.{secret}", &family[..12], &family[13..]);
        let non_hex = format!("g{}.{secret}", &family[1..]);
        let no_dot = format!("{family}x{secret}");
        let dot_moved = format!("{}.{}{}", &family[..31], &family[31..], &secret);
        let padded = format!("{family}.{}=", &secret[..42]);
        let std_alphabet = format!("{family}.{}+", &secret[..42]);
        let extra_dot = format!("{family}.{}.", &secret[..42]);
        let space = format!("{family}.{} ", &secret[..42]);
        // 43 base64 characters carry 258 bits; the last two must be zero in canonical form.
        // 'B' (value 1) sets one of them.
        let non_canonical = format!("{family}.{}B", &secret[..42]);
        let bad_tokens = [
            upper,
            hyphenated,
            not_v4,
            non_hex,
            no_dot,
            dot_moved,
            padded,
            std_alphabet,
            extra_dot,
            space,
            non_canonical,
            format!("{}.{}", "é".repeat(16), &secret),
        ];
        for bad in &bad_tokens {
            assert_eq!(bad.len(), TOKEN_LEN, "{bad}");
            assert!(
                matches!(parse(bad), Err(RefreshError::Malformed(_))),
                "{bad:?} parsed as {:?}",
                parse(bad)
            );
        }
    }

    #[test]
    fn parse_errors_read_well() {
        assert_eq!(
            parse("short").unwrap_err().to_string(),
            "refresh token has the wrong length: expected 76 bytes, got 5"
        );
    }

    #[test]
    fn family_ids_parse_strictly() {
        let (_, record) = new_family();
        assert_eq!(
            FamilyId::parse(record.family_id.as_str()).unwrap(),
            record.family_id
        );
        assert_eq!(record.family_id.to_string(), record.family_id.as_str());
        assert!(FamilyId::parse("").is_err());
        assert!(
            FamilyId::parse(&"0".repeat(32)).is_err(),
            "nil uuid is not v4"
        );
    }
}
