//! Opaque, tamper-evident tokens: shard iterators and pagination tokens.
//!
//! A token is `base64(payload || HMAC-SHA256(key, payload)[..16])` with a random key per emulator, so a
//! token forged by hand, altered, or issued by another emulator is recognised and rejected.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{ErrorCode, KinesisError};

const MAC_LEN: usize = 16;

/// How long a pagination token (the `NextToken` of every listing) stays valid.
pub(crate) const NEXT_TOKEN_TTL_MS: i64 = 300_000;

/// Signs and verifies tokens with one emulator's key (replaceable, so a restored snapshot keeps
/// accepting the iterators issued before it was taken).
pub(crate) struct TokenKey(parking_lot::RwLock<[u8; 32]>);

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(..)")
    }
}

impl TokenKey {
    pub(crate) fn new(key: [u8; 32]) -> Self {
        Self(parking_lot::RwLock::new(key))
    }

    /// The key bytes (for snapshots).
    pub(crate) fn bytes(&self) -> [u8; 32] {
        *self.0.read()
    }

    /// Replaces the key (when restoring a snapshot).
    pub(crate) fn set(&self, key: [u8; 32]) {
        *self.0.write() = key;
    }

    fn mac(&self, payload: &[u8]) -> [u8; MAC_LEN] {
        let mut out = [0u8; MAC_LEN];
        // HMAC accepts keys of any length, so this never fails.
        if let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.bytes()) {
            mac.update(payload);
            let full = mac.finalize().into_bytes();
            out.copy_from_slice(&full[..MAC_LEN]);
        }
        out
    }

    /// The token for `payload`.
    pub(crate) fn sign(&self, payload: &[u8]) -> String {
        let mut buf = Vec::with_capacity(payload.len() + MAC_LEN);
        buf.extend_from_slice(payload);
        buf.extend_from_slice(&self.mac(payload));
        base64::engine::general_purpose::STANDARD.encode(buf)
    }

    /// The payload of a token this key signed; `None` for anything else.
    pub(crate) fn verify(&self, token: &str) -> Option<Vec<u8>> {
        if token.len() > 4096 {
            return None;
        }
        let mut buf = base64::engine::general_purpose::STANDARD.decode(token).ok()?;
        if buf.len() < MAC_LEN {
            return None;
        }
        let tag = buf.split_off(buf.len() - MAC_LEN);
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.bytes()).ok()?;
        mac.update(&buf);
        mac.verify_truncated_left(&tag).ok()?;
        Some(buf)
    }
}

/// The error for a `NextToken` issued at `issued_ms` that is older than [`NEXT_TOKEN_TTL_MS`] at `now_ms`
/// (`ExpiredNextTokenException`, as AWS answers every listing).
pub(crate) fn check_fresh(token: &str, issued_ms: i64, now_ms: i64) -> Result<(), KinesisError> {
    if now_ms.saturating_sub(issued_ms) > NEXT_TOKEN_TTL_MS {
        return Err(KinesisError::new(
            ErrorCode::ExpiredNextTokenException,
            format!("The timestamp of the NextToken has expired: {token}"),
        ));
    }
    Ok(())
}

/// The `InvalidArgumentException` for a `NextToken` this emulator did not issue for this listing.
pub(crate) fn invalid_next_token(token: &str) -> KinesisError {
    KinesisError::invalid(format!("Invalid NextToken: {token}"))
}

impl TokenKey {
    /// A `NextToken` that resumes a listing in name order after `name` (ListStreams, ListQueues,
    /// ListChannels): `kind` tells the listings apart, and the token expires like every `NextToken`.
    pub(crate) fn sign_name_after(&self, kind: u8, now_ms: i64, name: &str) -> String {
        let mut payload = Vec::with_capacity(9 + name.len());
        payload.push(kind);
        payload.extend_from_slice(&now_ms.to_be_bytes());
        payload.extend_from_slice(name.as_bytes());
        self.sign(&payload)
    }

    /// The name a [`TokenKey::sign_name_after`] token of `kind` resumes after: `InvalidArgumentException` for
    /// a token of another kind, emulator or listing, `ExpiredNextTokenException` for an old one.
    pub(crate) fn verify_name_after(
        &self,
        kind: u8,
        token: &str,
        now_ms: i64,
    ) -> Result<String, KinesisError> {
        let payload = self.verify(token).ok_or_else(|| invalid_next_token(token))?;
        let mut r = Reader::new(&payload);
        let (issued, name) = match (r.u8(), r.i64()) {
            (Some(k), Some(issued)) if k == kind => (issued, r.rest_str()),
            _ => return Err(invalid_next_token(token)),
        };
        let name = name.ok_or_else(|| invalid_next_token(token))?.to_owned();
        check_fresh(token, issued, now_ms)?;
        Ok(name)
    }
}

/// Reads fixed-width big-endian fields from a token payload.
pub(crate) struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self(buf)
    }

    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, tail) = self.0.split_first_chunk::<N>()?;
        self.0 = tail;
        Some(*head)
    }

    pub(crate) fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|b| b[0])
    }

    pub(crate) fn u32(&mut self) -> Option<u32> {
        self.take::<4>().map(u32::from_be_bytes)
    }

    pub(crate) fn u64(&mut self) -> Option<u64> {
        self.take::<8>().map(u64::from_be_bytes)
    }

    pub(crate) fn i64(&mut self) -> Option<i64> {
        self.take::<8>().map(i64::from_be_bytes)
    }

    /// The remaining bytes as UTF-8.
    pub(crate) fn rest_str(self) -> Option<&'a str> {
        std::str::from_utf8(self.0).ok()
    }

    /// Whether every byte was read.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_and_reject_tampering() {
        let k = TokenKey::new([7; 32]);
        let t = k.sign(b"hello");
        assert_eq!(k.verify(&t).as_deref(), Some(&b"hello"[..]));
        assert!(TokenKey::new([8; 32]).verify(&t).is_none());
        let mut raw = base64::engine::general_purpose::STANDARD
            .decode(&t)
            .expect("base64");
        raw[0] ^= 1;
        let forged = base64::engine::general_purpose::STANDARD.encode(raw);
        assert!(k.verify(&forged).is_none());
        assert!(k.verify("not base64!").is_none());
        assert!(k.verify("").is_none());
    }
}
