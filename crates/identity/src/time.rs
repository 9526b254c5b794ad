//! Time bounds shared by verification and minting, so no field can overflow arithmetic.

/// Clock skew tolerated on `exp`, `nbf` and `iat`.
pub const LEEWAY_SECS: u64 = 30;
/// The longest lifetime a minted token may ask for (`ttlSecs`): 30 days.
pub const MAX_TTL_SECS: i64 = 30 * 24 * 3600;
/// The latest instant a time claim may name: 9999-12-31T23:59:59Z.
pub const MAX_TIME: i64 = 253_402_300_799;

/// Seconds since the Unix epoch.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `ttlSecs` in range, or the sentence that says why not.
pub fn check_ttl(ttl_secs: i64) -> Result<(), String> {
    if (1..=MAX_TTL_SECS).contains(&ttl_secs) {
        Ok(())
    } else {
        Err(format!(
            "`ttlSecs` must be between 1 and {MAX_TTL_SECS} seconds (30 days), not {ttl_secs}"
        ))
    }
}
