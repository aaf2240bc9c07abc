//! The checker's lane rule: the lane of a partition key under a parallelization factor `n` is its MD5
//! (the `md-5` crate, as kcl-core uses) read as a big-endian 128-bit number, modulo `n` — kcl-core's rule,
//! computed independently here so the checker does not trust the code it checks.

use md5::{Digest, Md5};

/// The lane of `partition_key` among `lanes`.
pub fn lane_of(partition_key: &str, lanes: u8) -> u8 {
    let digest: [u8; 16] = Md5::digest(partition_key.as_bytes()).into();
    let hash = u128::from_be_bytes(digest);
    (hash % u128::from(lanes.max(1))) as u8
}

#[cfg(test)]
mod tests {
    #[test]
    fn lanes_follow_the_digest() {
        // MD5("") = d41d8cd98f00b204e9800998ecf8427e: even, so lane 0 of 2; modulo 3 pins the big-endian
        // reading of the whole digest.
        assert_eq!(super::lane_of("", 2), 0);
        assert_eq!(
            super::lane_of("", 3) as u128,
            0xd41d8cd98f00b204e9800998ecf8427e_u128 % 3
        );
        assert_eq!(super::lane_of("anything", 1), 0);
    }
}
