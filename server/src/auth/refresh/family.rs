//! The storage rule of a refresh-token family as a pure function: [`decide`] takes the stored
//! state and the presented hash and says what to do; [`FamilyState`]'s methods give the state
//! to write back. The server does the I/O around them.

use super::{hashes_equal, TokenRecord, DEFAULT_REFRESH_TTL_SECS};

/// How long after a rotation the token it replaced is still accepted, once, while its
/// successor is unused (60 s): long enough for a device whose refresh response was lost to
/// time out and retry, short enough that a stolen token is hardly worth anything in it.
pub const DEFAULT_GRACE_SECS: i64 = 60;

/// The expiry a family gets when created or rotated at `now_secs`.
pub fn sliding_expiry(now_secs: i64) -> i64 {
    now_secs.saturating_add(DEFAULT_REFRESH_TTL_SECS)
}

/// The token a family rotated away last, while its successor has not been presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousToken {
    /// Its hash (it is also among the spent hashes).
    pub hash: String,
    /// Unix seconds of the rotation that replaced it.
    pub rotated_at: i64,
}

/// What the server knows about one family, as [`decide`] needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyState {
    /// Hash of the one token that may be presented next.
    pub current_hash: String,
    /// Hashes of tokens of this family that were already rotated away. The server may load
    /// only the rows matching the presented hash: [`decide`] only asks whether it is in here.
    pub spent_hashes: Vec<String>,
    /// The token the current one replaced, as long as the current one was never presented
    /// and no grace retry happened since; `None` otherwise.
    pub previous: Option<PreviousToken>,
    /// Unix seconds; the family is dead from this instant on.
    pub expires_at: i64,
    /// Set on reuse detection, logout or an admin action; never cleared.
    pub revoked: bool,
}

impl FamilyState {
    /// A fresh family whose current token is `record`, created at `now_secs`.
    pub fn new(record: &TokenRecord, now_secs: i64) -> Self {
        Self {
            current_hash: record.token_hash.clone(),
            spent_hashes: Vec::new(),
            previous: None,
            expires_at: sliding_expiry(now_secs),
            revoked: false,
        }
    }

    /// The state after a [`RefreshDecision::Rotate`]: the current hash is spent and becomes
    /// the previous token, `next` (from [`super::rotate`]) is current, and the expiry slides
    /// from `now_secs`.
    pub fn rotated(&self, next: &TokenRecord, now_secs: i64) -> Self {
        let mut spent_hashes = self.spent_hashes.clone();
        spent_hashes.push(self.current_hash.clone());
        Self {
            current_hash: next.token_hash.clone(),
            spent_hashes,
            previous: Some(PreviousToken {
                hash: self.current_hash.clone(),
                rotated_at: now_secs,
            }),
            expires_at: sliding_expiry(now_secs),
            revoked: self.revoked,
        }
    }

    /// The state after a [`RefreshDecision::GraceRetry`]: the unused successor is retired
    /// (spent, so presenting it later is reuse), `next` is current, and the grace is used up
    /// (a second retry of the same token is reuse).
    pub fn retried(&self, next: &TokenRecord, now_secs: i64) -> Self {
        let mut spent_hashes = self.spent_hashes.clone();
        spent_hashes.push(self.current_hash.clone());
        Self {
            current_hash: next.token_hash.clone(),
            spent_hashes,
            previous: None,
            expires_at: sliding_expiry(now_secs),
            revoked: self.revoked,
        }
    }

    /// The state after a [`RefreshDecision::ReuseDetected`] (or logout): revoked for good.
    pub fn revoked(&self) -> Self {
        Self {
            revoked: true,
            ..self.clone()
        }
    }
}

/// What to do with a presented refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshDecision {
    /// The current token of a live family: issue an access token and a rotated refresh token
    /// and store [`FamilyState::rotated`].
    Rotate,
    /// The token rotated away last, presented again within the grace window while its
    /// successor was never used: the device never got the refresh response. Issue a fresh
    /// pair and store [`FamilyState::retried`].
    GraceRetry,
    /// A spent token of the family: store [`FamilyState::revoked`], answer 401, log a
    /// security event. The device must log in again.
    ReuseDetected,
    /// The current token, but the family has expired: answer 401; the device must log in.
    Expired,
    /// The family was revoked earlier: answer 401; the device must log in.
    Revoked,
    /// No such family, or a hash the family never issued (forged, or spent so long ago it was
    /// pruned): answer 401 and change nothing, so guessing cannot revoke anyone's family.
    Unknown,
}

/// [`decide_with_grace`] with [`DEFAULT_GRACE_SECS`].
pub fn decide(
    presented_hash: &str,
    family: Option<&FamilyState>,
    now_secs: i64,
) -> RefreshDecision {
    decide_with_grace(presented_hash, family, now_secs, DEFAULT_GRACE_SECS)
}

/// Applies the storage rule to a presented token.
///
/// `family` is the stored state for the family named in the token (`None` if there is none),
/// `presented_hash` the [`super::ParsedRefresh::hash`]. Precedence: unknown family, then
/// revoked (a revoked family stays dead even for its current token), then the current token
/// (expired or rotate), then the previous token within `grace_secs` of its rotation (grace
/// retry, unless the family expired), then a spent token (reuse, even in an expired family,
/// since it still signals theft), else unknown. Hash comparisons are constant-time.
///
/// The server, in one transaction per refresh, with the family row locked:
/// 1. [`super::parse`] the token (malformed: 401), load the family by id (not by hash);
/// 2. call `decide_with_grace`;
/// 3. on `Rotate` or `GraceRetry`, [`super::rotate`] and write [`FamilyState::rotated`] or
///    [`FamilyState::retried`];
/// 4. on `ReuseDetected`, set `revoked`; otherwise change nothing.
pub fn decide_with_grace(
    presented_hash: &str,
    family: Option<&FamilyState>,
    now_secs: i64,
    grace_secs: i64,
) -> RefreshDecision {
    let Some(family) = family else {
        return RefreshDecision::Unknown;
    };
    if family.revoked {
        return RefreshDecision::Revoked;
    }
    let expired = now_secs >= family.expires_at;
    if hashes_equal(presented_hash, &family.current_hash) {
        return if expired {
            RefreshDecision::Expired
        } else {
            RefreshDecision::Rotate
        };
    }
    if let Some(previous) = &family.previous {
        let in_grace = now_secs < previous.rotated_at.saturating_add(grace_secs);
        if hashes_equal(presented_hash, &previous.hash) && in_grace && !expired {
            return RefreshDecision::GraceRetry;
        }
    }
    // Check every spent hash rather than stopping at the first match, so time does not
    // depend on which one matched.
    let spent = family
        .spent_hashes
        .iter()
        .fold(false, |found, h| found | hashes_equal(presented_hash, h));
    if spent {
        RefreshDecision::ReuseDetected
    } else {
        RefreshDecision::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::super::{hash_token, new_family, parse, rotate};
    use super::*;

    const NOW: i64 = 1_700_000_000;
    const DAY: i64 = 24 * 60 * 60;

    /// A family as stored after: login (t0), one rotation (t1). Returns the hashes of the
    /// first (now spent) and second (current) tokens.
    fn family_rotated_once() -> (FamilyState, String, String) {
        let (_, first) = new_family();
        let state = FamilyState::new(&first, NOW);
        let (_, second) = rotate(&first.family_id);
        let state = state.rotated(&second, NOW + DAY);
        (state, first.token_hash, second.token_hash)
    }

    #[test]
    fn presenting_the_current_token_rotates() {
        let (state, _, current) = family_rotated_once();
        assert_eq!(
            decide(&current, Some(&state), NOW + DAY + 1),
            RefreshDecision::Rotate
        );
    }

    #[test]
    fn presenting_a_spent_token_is_reuse() {
        let (state, spent, _) = family_rotated_once();
        // Past the grace window of its rotation (at NOW + DAY).
        assert_eq!(
            decide(&spent, Some(&state), NOW + DAY + DEFAULT_GRACE_SECS),
            RefreshDecision::ReuseDetected
        );
        // Even after the family expired: it still means someone copied a token.
        assert_eq!(
            decide(&spent, Some(&state), NOW + 400 * DAY),
            RefreshDecision::ReuseDetected
        );
    }

    #[test]
    fn after_reuse_even_the_current_token_is_refused() {
        let (state, spent, current) = family_rotated_once();
        assert_eq!(
            decide(&spent, Some(&state), NOW + 2 * DAY),
            RefreshDecision::ReuseDetected
        );
        let state = state.revoked();
        assert_eq!(
            decide(&current, Some(&state), NOW + DAY),
            RefreshDecision::Revoked
        );
        assert_eq!(
            decide(&spent, Some(&state), NOW + DAY),
            RefreshDecision::Revoked
        );
    }

    #[test]
    fn the_current_token_expires_thirty_days_after_the_last_rotation() {
        // Rotated at NOW + DAY, so the family lives until NOW + 31 days, exclusive.
        let (state, _, current) = family_rotated_once();
        assert_eq!(state.expires_at, NOW + 31 * DAY);
        assert_eq!(
            decide(&current, Some(&state), NOW + 31 * DAY - 1),
            RefreshDecision::Rotate
        );
        assert_eq!(
            decide(&current, Some(&state), NOW + 31 * DAY),
            RefreshDecision::Expired
        );
    }

    #[test]
    fn a_device_that_syncs_monthly_stays_logged_in() {
        // The technician's tablet comes online every 29 days for a year.
        let (_, first) = new_family();
        let mut state = FamilyState::new(&first, NOW);
        let mut current = first.token_hash;
        for month in 1..=12 {
            let now = NOW + month * 29 * DAY;
            assert_eq!(
                decide(&current, Some(&state), now),
                RefreshDecision::Rotate,
                "month {month}"
            );
            let (_, next) = rotate(&first.family_id);
            state = state.rotated(&next, now);
            current = next.token_hash;
        }
        assert_eq!(state.spent_hashes.len(), 12);
    }

    #[test]
    fn an_unknown_family_or_hash_is_unknown_and_changes_nothing() {
        let (state, _, _) = family_rotated_once();
        assert_eq!(
            decide(&hash_token("x"), None, NOW),
            RefreshDecision::Unknown
        );
        assert_eq!(
            decide(&hash_token("forged"), Some(&state), NOW + DAY),
            RefreshDecision::Unknown
        );
        assert_eq!(
            decide("", Some(&state), NOW + DAY),
            RefreshDecision::Unknown
        );
    }

    #[test]
    fn a_revoked_family_refuses_even_an_unknown_hash() {
        let (state, _, _) = family_rotated_once();
        assert_eq!(
            decide(&hash_token("forged"), Some(&state.revoked()), NOW),
            RefreshDecision::Revoked
        );
    }

    #[test]
    fn rotation_records_the_old_hash_as_spent_and_slides_expiry() {
        let (_, first) = new_family();
        let state = FamilyState::new(&first, NOW);
        assert_eq!(state.expires_at, NOW + DEFAULT_REFRESH_TTL_SECS);
        assert!(!state.revoked);
        let (_, next) = rotate(&first.family_id);
        let rotated = state.rotated(&next, NOW + 5);
        assert_eq!(rotated.current_hash, next.token_hash);
        assert_eq!(rotated.spent_hashes, vec![first.token_hash]);
        assert_eq!(rotated.expires_at, NOW + 5 + DEFAULT_REFRESH_TTL_SECS);
        assert_eq!(sliding_expiry(i64::MAX), i64::MAX);
    }

    #[test]
    fn the_whole_flow_from_presented_text_to_decision() {
        // Alice's phone logs in, goes offline for a week, refreshes; an attacker who copied
        // the first token then tries it.
        let (first_token, first) = new_family();
        let mut state = FamilyState::new(&first, NOW);

        let presented = parse(first_token.expose()).unwrap();
        assert_eq!(presented.family_id, first.family_id);
        assert_eq!(
            decide(&presented.hash, Some(&state), NOW + 7 * DAY),
            RefreshDecision::Rotate
        );
        let (_, second) = rotate(&presented.family_id);
        state = state.rotated(&second, NOW + 7 * DAY);

        let stolen = parse(first_token.expose()).unwrap();
        assert_eq!(
            decide(&stolen.hash, Some(&state), NOW + 8 * DAY),
            RefreshDecision::ReuseDetected
        );
        state = state.revoked();
        assert_eq!(
            decide(&second.token_hash, Some(&state), NOW + 8 * DAY),
            RefreshDecision::Revoked
        );
    }

    #[test]
    fn a_lost_refresh_response_is_retried_once_within_the_grace_window() {
        // The phone refreshed at NOW + DAY; the answer (the current token) never arrived, so
        // 30 s later it presents the same, now previous, token again.
        let (state, previous, lost) = family_rotated_once();
        let retry_at = NOW + DAY + 30;
        assert_eq!(
            decide(&previous, Some(&state), retry_at),
            RefreshDecision::GraceRetry
        );
        let (_, fresh) = rotate(&new_family().1.family_id);
        let state = state.retried(&fresh, retry_at);
        assert_eq!(state.previous, None, "the grace is used up");
        assert_eq!(state.expires_at, sliding_expiry(retry_at));

        // The fresh token carries the session on.
        assert_eq!(
            decide(&fresh.token_hash, Some(&state), retry_at + 5),
            RefreshDecision::Rotate
        );
        // The lost token was retired: whoever shows it now holds a copy.
        assert_eq!(
            decide(&lost, Some(&state), retry_at + 5),
            RefreshDecision::ReuseDetected
        );
        // And the same old token a third time is reuse, even inside the window.
        assert_eq!(
            decide(&previous, Some(&state), retry_at + 1),
            RefreshDecision::ReuseDetected
        );
    }

    #[test]
    fn the_previous_token_is_reuse_from_the_end_of_the_window_on() {
        let (state, previous, _) = family_rotated_once();
        assert_eq!(
            decide(&previous, Some(&state), NOW + DAY + DEFAULT_GRACE_SECS - 1),
            RefreshDecision::GraceRetry
        );
        assert_eq!(
            decide(&previous, Some(&state), NOW + DAY + DEFAULT_GRACE_SECS),
            RefreshDecision::ReuseDetected
        );
        assert_eq!(
            decide_with_grace(&previous, Some(&state), NOW + DAY + 2, 2),
            RefreshDecision::ReuseDetected,
            "a shorter configured window"
        );
    }

    #[test]
    fn once_the_successor_was_used_the_previous_token_is_reuse_at_once() {
        let (state, first, second) = family_rotated_once();
        let (_, third) = rotate(&new_family().1.family_id);
        // The device did get the answer and refreshed with it 10 s later.
        let state = state.rotated(&third, NOW + DAY + 10);
        assert_eq!(
            state.previous.as_ref().map(|p| p.hash.as_str()),
            Some(second.as_str())
        );
        assert_eq!(
            decide(&first, Some(&state), NOW + DAY + 20),
            RefreshDecision::ReuseDetected
        );
    }

    #[test]
    fn no_grace_in_a_revoked_or_expired_family() {
        let (state, previous, _) = family_rotated_once();
        assert_eq!(
            decide(&previous, Some(&state.revoked()), NOW + DAY + 1),
            RefreshDecision::Revoked
        );
        let expired = FamilyState {
            expires_at: NOW + DAY + 1,
            ..state
        };
        assert_eq!(
            decide(&previous, Some(&expired), NOW + DAY + 2),
            RefreshDecision::ReuseDetected
        );
    }
}
