//! Receipt handles: signed tokens naming one delivery of one record by one queue incarnation.
//!
//! Payload (big-endian): kind, side, queue id, source index, shard index, record counter, delivery
//! generation. Signed with the emulator's token key (`token.rs`), so a handle made up by hand, altered,
//! or issued by another emulator or another incarnation of the queue is recognised and refused.

use super::delivery::Side;
use crate::state::Inner;
use crate::token::Reader;

/// Token kind byte of receipt handles (other token kinds are small integers).
const KIND: u8 = 0x51;

/// What a receipt handle names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Handle {
    pub(crate) queue: u64,
    pub(crate) side: Side,
    /// Index into the queue's sources (streams).
    pub(crate) source: u32,
    pub(crate) shard: u32,
    pub(crate) counter: u64,
    /// Which delivery of the record: only the newest is accepted.
    pub(crate) generation: u32,
}

pub(crate) fn encode(inner: &Inner, h: Handle) -> String {
    let mut p = Vec::with_capacity(30);
    p.push(KIND);
    p.push(match h.side {
        Side::Main => 0,
        Side::Dead => 1,
    });
    p.extend_from_slice(&h.queue.to_be_bytes());
    p.extend_from_slice(&h.source.to_be_bytes());
    p.extend_from_slice(&h.shard.to_be_bytes());
    p.extend_from_slice(&h.counter.to_be_bytes());
    p.extend_from_slice(&h.generation.to_be_bytes());
    inner.tokens.sign(&p)
}

/// The handle's contents, if this emulator signed it as a receipt handle.
pub(crate) fn decode(inner: &Inner, handle: &str) -> Option<Handle> {
    let payload = inner.tokens.verify(handle)?;
    let mut r = Reader::new(&payload);
    if r.u8()? != KIND {
        return None;
    }
    let side = match r.u8()? {
        0 => Side::Main,
        1 => Side::Dead,
        _ => return None,
    };
    let h = Handle {
        side,
        queue: r.u64()?,
        source: r.u32()?,
        shard: r.u32()?,
        counter: r.u64()?,
        generation: r.u32()?,
    };
    r.is_empty().then_some(h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::EmulatorConfig;

    #[test]
    fn round_trip_and_tamper() {
        let inner = Inner::new(EmulatorConfig::default(), 7);
        let h = Handle {
            queue: 3,
            side: Side::Dead,
            source: 1,
            shard: 4,
            counter: 99,
            generation: 2,
        };
        let token = encode(&inner, h);
        assert!(token.len() <= 1024);
        assert_eq!(decode(&inner, &token), Some(h));
        let other = Inner::new(EmulatorConfig::default(), 8);
        assert_eq!(decode(&other, &token), None);
        assert_eq!(decode(&inner, "not a handle"), None);
        let mut bytes = token.into_bytes();
        bytes[3] = if bytes[3] == b'A' { b'B' } else { b'A' };
        assert_eq!(decode(&inner, &String::from_utf8(bytes).unwrap()), None);
    }
}
