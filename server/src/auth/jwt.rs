//! Short-lived access tokens: HS256 JWTs.
//!
//! An access token says who the caller is (`sub`), what they may do (`role`) and from which
//! device (`dev`), for a few minutes. Devices that stay offline longer keep a refresh token
//! (see the `refresh` module) and trade it for a new access token when they reconnect.
//!
//! # Guarantees
//! - Only HS256 is accepted. A token whose header names any other algorithm (`none`, HS512,
//!   RS256, ...) is refused before its signature is looked at, so algorithm-confusion tricks
//!   cannot work.
//! - Time is an argument: [`JwtKeys::verify`] checks `exp` against the `now_secs` it is given,
//!   with no leeway, so tests and the server share one clock. A token is valid while
//!   `now_secs < exp`.
//! - [`JwtError::Expired`] is returned only for a token whose signature checked out; anything
//!   forged, tampered or malformed is [`JwtError::Invalid`]. Neither function panics.
//! - Signing and verifying cost microseconds; no `spawn_blocking` needed.

use std::fmt;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// Shortest accepted HMAC secret, in bytes: HS256's own output size (RFC 7518 §3.2).
pub const MIN_SECRET_BYTES: usize = 32;
/// Suggested access-token lifetime in seconds (15 minutes): short, because an access token
/// cannot be revoked before it expires, and cheap to renew with a refresh token.
pub const DEFAULT_ACCESS_TTL_SECS: i64 = 15 * 60;
/// Longest token [`JwtKeys::verify`] will parse, in bytes. Ours are a few hundred bytes; the
/// cap keeps garbage from costing base64 and JSON work.
pub const MAX_TOKEN_BYTES: usize = 4096;

/// What an access token asserts. Serialised as the JWT payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: String,
    /// The user's role when the token was issued.
    pub role: String,
    /// Device id, when the token was issued to a device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dev: Option<String>,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Expires at, Unix seconds; the token is valid while `now < exp`.
    pub exp: i64,
    /// Unique token id (uuid v4, simple form), for logs and any future deny-list.
    pub jti: String,
}

/// Why a token was refused, apart from expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidReason {
    /// Longer than [`MAX_TOKEN_BYTES`].
    #[error("token is too long")]
    TooLong,
    /// Not three base64url parts of JSON, or a header/claims shape we do not know (this
    /// includes `"alg": "none"`, which the JWT library cannot even represent).
    #[error("token is malformed")]
    Malformed,
    /// The header names an algorithm other than HS256.
    #[error("token algorithm is not allowed")]
    Algorithm,
    /// The signature does not match: another key, or a tampered header or payload.
    #[error("token signature does not match")]
    Signature,
    /// Signed correctly but a claim is missing or inconsistent.
    #[error("token claims are invalid")]
    Claims,
}

/// Errors from building keys, issuing or verifying access tokens.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// The signing secret is too short to be safe.
    #[error("jwt secret is too short: use at least {min} random bytes (got {got})")]
    WeakSecret {
        /// Minimum length in bytes.
        min: usize,
        /// Length given.
        got: usize,
    },
    /// `issue` was given a time or lifetime that cannot make a valid token.
    #[error("cannot issue a token at {now_secs} valid for {ttl_secs}s: both must be positive and their sum must fit")]
    BadLifetime {
        /// The issue time given.
        now_secs: i64,
        /// The lifetime given.
        ttl_secs: i64,
    },
    /// Signing failed inside the JWT library (not expected for HMAC).
    #[error("could not sign token: {0}")]
    Sign(String),
    /// The token was genuine but has expired; the client should use its refresh token.
    #[error("token has expired")]
    Expired,
    /// The token is not one of ours, or was altered; the client must log in again.
    #[error("invalid token: {0}")]
    Invalid(InvalidReason),
}

/// Keys for signing and verifying access tokens with one HMAC secret.
///
/// `Debug` does not print the secret.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtKeys")
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl JwtKeys {
    /// Builds keys from a secret of at least [`MIN_SECRET_BYTES`] bytes. Generate it randomly
    /// (e.g. 32 bytes from the OS RNG) and keep it out of logs; changing it logs everyone out
    /// of their access tokens (refresh tokens are unaffected).
    pub fn new(secret: &[u8]) -> Result<Self, JwtError> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(JwtError::WeakSecret {
                min: MIN_SECRET_BYTES,
                got: secret.len(),
            });
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_required_spec_claims(&["exp", "sub"]);
        // The library checks `exp` against the system clock; we check it against `now_secs`
        // in `verify` instead, so it stays off here. `exp` is still required above.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.leeway = 0;
        validation.reject_tokens_expiring_in_less_than = 0;
        Ok(Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        })
    }

    /// Issues an HS256 token for `user` with `role`, optionally bound to `device`, issued at
    /// `now_secs` and valid for `ttl_secs` seconds (see [`DEFAULT_ACCESS_TTL_SECS`]).
    pub fn issue(
        &self,
        user: &str,
        role: &str,
        device: Option<&str>,
        now_secs: i64,
        ttl_secs: i64,
    ) -> Result<String, JwtError> {
        let exp = now_secs
            .checked_add(ttl_secs)
            .filter(|_| now_secs >= 0 && ttl_secs > 0)
            .ok_or(JwtError::BadLifetime { now_secs, ttl_secs })?;
        let claims = Claims {
            sub: user.to_owned(),
            role: role.to_owned(),
            dev: device.map(str::to_owned),
            iat: now_secs,
            exp,
            jti: uuid::Uuid::new_v4().simple().to_string(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| JwtError::Sign(e.to_string()))
    }

    /// Verifies `token` at time `now_secs` and returns its claims.
    ///
    /// Checks, in order: size, shape, that the header says HS256, the signature, the claims'
    /// shape (`exp` and `sub` present), then `now_secs < exp`. Returns [`JwtError::Expired`]
    /// only for a genuine token past its `exp`, [`JwtError::Invalid`] for everything else.
    pub fn verify(&self, token: &str, now_secs: i64) -> Result<Claims, JwtError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(JwtError::Invalid(InvalidReason::TooLong));
        }
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| JwtError::Invalid(reason(e.kind())))?;
        let claims = data.claims;
        if claims.iat > claims.exp {
            return Err(JwtError::Invalid(InvalidReason::Claims));
        }
        if claims.exp <= now_secs {
            return Err(JwtError::Expired);
        }
        Ok(claims)
    }
}

/// Maps the JWT library's error to our reason. Expiry never comes from the library because
/// its `exp` check is off.
fn reason(kind: &ErrorKind) -> InvalidReason {
    match kind {
        ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => InvalidReason::Algorithm,
        ErrorKind::InvalidSignature => InvalidReason::Signature,
        ErrorKind::MissingRequiredClaim(_)
        | ErrorKind::ExpiredSignature
        | ErrorKind::ImmatureSignature
        | ErrorKind::InvalidIssuer
        | ErrorKind::InvalidAudience
        | ErrorKind::InvalidSubject => InvalidReason::Claims,
        _ => InvalidReason::Malformed,
    }
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use serde_json::json;

    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
    const NOW: i64 = 1_700_000_000;

    fn keys() -> JwtKeys {
        JwtKeys::new(SECRET).unwrap()
    }

    fn b64(value: &serde_json::Value) -> String {
        URL_SAFE_NO_PAD.encode(value.to_string())
    }

    fn valid_claims() -> serde_json::Value {
        json!({"sub": "u1", "role": "admin", "iat": NOW, "exp": NOW + 600, "jti": "x"})
    }

    /// Signs `header.payload` with HMAC-SHA256 under `SECRET`, whatever the header says.
    fn hs256_sign(header: &serde_json::Value, claims: &serde_json::Value) -> String {
        let message = format!("{}.{}", b64(header), b64(claims));
        let signature = jsonwebtoken::crypto::sign(
            message.as_bytes(),
            &EncodingKey::from_secret(SECRET),
            Algorithm::HS256,
        )
        .unwrap();
        format!("{message}.{signature}")
    }

    #[test]
    fn an_issued_token_verifies_and_round_trips_its_claims() {
        let k = keys();
        let token = k
            .issue("user-1", "technician", Some("dev-9"), NOW, 900)
            .unwrap();
        let claims = k.verify(&token, NOW).unwrap();
        assert_eq!(claims.sub, "user-1");
        assert_eq!(claims.role, "technician");
        assert_eq!(claims.dev.as_deref(), Some("dev-9"));
        assert_eq!(claims.iat, NOW);
        assert_eq!(claims.exp, NOW + 900);
        assert_eq!(claims.jti.len(), 32);
        assert_eq!(k.verify(&token, NOW + 899), Ok(claims));
    }

    #[test]
    fn a_token_without_a_device_has_no_dev_claim() {
        let k = keys();
        let token = k.issue("user-1", "dispatcher", None, NOW, 60).unwrap();
        let payload = token.split('.').nth(1).unwrap();
        let json = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        assert!(!json.contains("dev"), "{json}");
        assert_eq!(k.verify(&token, NOW).unwrap().dev, None);
    }

    #[test]
    fn each_token_gets_its_own_jti() {
        let k = keys();
        let a = k
            .verify(&k.issue("u", "r", None, NOW, 60).unwrap(), NOW)
            .unwrap();
        let b = k
            .verify(&k.issue("u", "r", None, NOW, 60).unwrap(), NOW)
            .unwrap();
        assert_ne!(a.jti, b.jti);
    }

    #[test]
    fn a_token_expires_exactly_at_exp_with_no_leeway() {
        let k = keys();
        let token = k.issue("u", "r", None, NOW, 60).unwrap();
        assert!(k.verify(&token, NOW + 59).is_ok());
        assert_eq!(k.verify(&token, NOW + 60), Err(JwtError::Expired));
        assert_eq!(k.verify(&token, NOW + 86_400), Err(JwtError::Expired));
    }

    #[test]
    fn expiry_follows_the_time_passed_in_not_the_system_clock() {
        // Issued and checked in 2001: long expired by the wall clock, valid by ours.
        let k = keys();
        let token = k.issue("u", "r", None, 1_000_000_000, 60).unwrap();
        assert!(k.verify(&token, 1_000_000_030).is_ok());
    }

    #[test]
    fn short_secrets_are_refused() {
        assert_eq!(
            JwtKeys::new(&SECRET[..31]).unwrap_err(),
            JwtError::WeakSecret { min: 32, got: 31 }
        );
        assert!(JwtKeys::new(b"").is_err());
        assert!(JwtKeys::new(SECRET).is_ok());
    }

    #[test]
    fn debug_output_does_not_show_the_secret() {
        let shown = format!("{:?}", keys());
        assert!(!shown.contains("0123456789abcdef"), "{shown}");
    }

    #[test]
    fn nonsensical_lifetimes_are_refused() {
        let k = keys();
        for (now, ttl) in [(NOW, 0), (NOW, -1), (-1, 60), (i64::MAX, 1)] {
            assert_eq!(
                k.issue("u", "r", None, now, ttl),
                Err(JwtError::BadLifetime {
                    now_secs: now,
                    ttl_secs: ttl
                })
            );
        }
    }

    #[test]
    fn an_unsigned_alg_none_token_is_refused() {
        let k = keys();
        let token = format!(
            "{}.{}.",
            b64(&json!({"alg": "none", "typ": "JWT"})),
            b64(&valid_claims())
        );
        assert!(matches!(k.verify(&token, NOW), Err(JwtError::Invalid(_))));
        // Same with the spelling variants some libraries accepted.
        for alg in ["None", "NONE", "nOnE"] {
            let token = format!(
                "{}.{}.",
                b64(&json!({"alg": alg, "typ": "JWT"})),
                b64(&valid_claims())
            );
            assert!(matches!(k.verify(&token, NOW), Err(JwtError::Invalid(_))));
        }
    }

    #[test]
    fn a_token_signed_with_another_secret_is_refused() {
        let other = JwtKeys::new(b"another secret that is long enough!!").unwrap();
        let token = other.issue("u", "admin", None, NOW, 60).unwrap();
        assert_eq!(
            keys().verify(&token, NOW),
            Err(JwtError::Invalid(InvalidReason::Signature))
        );
    }

    #[test]
    fn an_hs512_token_is_refused_even_with_the_right_secret() {
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            &valid_claims(),
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap();
        assert_eq!(
            keys().verify(&token, NOW),
            Err(JwtError::Invalid(InvalidReason::Algorithm))
        );
    }

    #[test]
    fn an_rs256_labelled_token_is_refused() {
        // The classic confusion attack: claim RS256 but sign with HMAC over a shared value.
        let token = hs256_sign(&json!({"alg": "RS256", "typ": "JWT"}), &valid_claims());
        assert_eq!(
            keys().verify(&token, NOW),
            Err(JwtError::Invalid(InvalidReason::Algorithm))
        );
    }

    #[test]
    fn a_hand_built_hs256_token_is_accepted_so_the_refusals_above_are_meaningful() {
        let token = hs256_sign(&json!({"alg": "HS256", "typ": "JWT"}), &valid_claims());
        assert_eq!(keys().verify(&token, NOW).unwrap().role, "admin");
    }

    #[test]
    fn a_tampered_payload_is_refused() {
        let k = keys();
        let token = k.issue("user-1", "technician", None, NOW, 60).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let mut claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        claims["role"] = json!("admin");
        let forged = format!("{}.{}.{}", parts[0], b64(&claims), parts[2]);
        assert_eq!(
            k.verify(&forged, NOW),
            Err(JwtError::Invalid(InvalidReason::Signature))
        );
    }

    #[test]
    fn a_tampered_signature_is_refused() {
        let k = keys();
        let token = k.issue("u", "r", None, NOW, 60).unwrap();
        let (message, signature) = token.rsplit_once('.').unwrap();
        let flipped = if signature.starts_with('A') { "B" } else { "A" };
        let forged = format!("{message}.{flipped}{}", &signature[1..]);
        assert!(matches!(k.verify(&forged, NOW), Err(JwtError::Invalid(_))));
        let truncated = format!("{message}.");
        assert!(matches!(
            k.verify(&truncated, NOW),
            Err(JwtError::Invalid(_))
        ));
    }

    #[test]
    fn an_expired_forgery_is_invalid_not_expired() {
        let other = JwtKeys::new(b"another secret that is long enough!!").unwrap();
        let token = other.issue("u", "r", None, NOW, 60).unwrap();
        assert_eq!(
            keys().verify(&token, NOW + 3600),
            Err(JwtError::Invalid(InvalidReason::Signature))
        );
    }

    #[test]
    fn a_signed_token_without_exp_is_refused() {
        let claims = json!({"sub": "u", "role": "r", "iat": NOW, "jti": "x"});
        let token = hs256_sign(&json!({"alg": "HS256", "typ": "JWT"}), &claims);
        assert!(matches!(
            keys().verify(&token, NOW),
            Err(JwtError::Invalid(_))
        ));
    }

    #[test]
    fn signed_tokens_with_odd_claims_are_refused() {
        let header = json!({"alg": "HS256", "typ": "JWT"});
        for claims in [
            json!({"sub": "u", "role": "r", "iat": NOW, "exp": "soon", "jti": "x"}),
            json!({"sub": "u", "role": "r", "iat": NOW, "exp": -5, "jti": "x"}),
            json!({"sub": "u", "role": "r", "iat": NOW + 10, "exp": NOW + 5, "jti": "x"}),
            json!({"role": "r", "iat": NOW, "exp": NOW + 60, "jti": "x"}),
            json!({"sub": "u", "role": "r", "iat": NOW, "exp": NOW + 60, "jti": "x", "aud": "x"}),
            json!(["not", "an", "object"]),
        ] {
            let token = hs256_sign(&header, &claims);
            assert!(
                matches!(keys().verify(&token, NOW), Err(JwtError::Invalid(_))),
                "{claims}"
            );
        }
    }

    #[test]
    fn garbage_is_refused_without_panicking() {
        let k = keys();
        let long = "a".repeat(MAX_TOKEN_BYTES + 1);
        let garbage = [
            "",
            ".",
            "..",
            "...",
            "a.b.c",
            "a.b",
            "a.b.c.d",
            "not a token",
            "eyJ.eyJ.sig",
            "\u{0}\u{1}.\u{2}.\u{3}",
            "ü.ö.ä",
            "!!!.???.***",
            long.as_str(),
        ];
        for token in garbage {
            assert!(
                matches!(k.verify(token, NOW), Err(JwtError::Invalid(_))),
                "{token:?}"
            );
        }
        assert_eq!(
            k.verify(&long, NOW),
            Err(JwtError::Invalid(InvalidReason::TooLong))
        );
    }

    #[test]
    fn error_messages_are_lower_case_and_say_what_happened() {
        assert_eq!(JwtError::Expired.to_string(), "token has expired");
        assert_eq!(
            JwtError::Invalid(InvalidReason::Signature).to_string(),
            "invalid token: token signature does not match"
        );
    }
}
