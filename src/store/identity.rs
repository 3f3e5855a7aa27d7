//! Which log a file beside it was built from: the log's device and inode, a hash of its first
//! bytes (its `log` header holds its creation time), and the hashes the files beside the log
//! (`sidecar`'s offset index, `snapshot`'s index snapshot) check themselves with. One copy, so
//! both judge "the same log" the same way.

use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt};

/// How many first bytes of the log name it.
pub(super) const IDENTITY_BYTES: usize = 256;

/// A log file as the files beside it remember it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct LogIdentity {
    pub(super) dev: u64,
    pub(super) ino: u64,
    /// [`fnv`] of the first [`IDENTITY_BYTES`] bytes (or of all, when shorter).
    pub(super) first: u64,
}

impl LogIdentity {
    /// The identity of the open log `file`, and its length now. The first bytes hashed are
    /// those before `upto` (at most [`IDENTITY_BYTES`]; `None`: the whole length now).
    pub(super) fn of(file: &File, upto: Option<u64>) -> std::io::Result<(LogIdentity, u64)> {
        let meta = file.metadata()?;
        let len = meta.len();
        let want = upto.unwrap_or(len).min(len).min(IDENTITY_BYTES as u64) as usize;
        let mut first = vec![0u8; want];
        let n = read_full_at(file, &mut first, 0)?;
        Ok((
            LogIdentity {
                dev: meta.dev(),
                ino: meta.ino(),
                first: fnv(&first[..n]),
            },
            len,
        ))
    }
}

/// Reads into `buf` at `offset` until it is full or the file ends; how many bytes were read.
pub(super) fn read_full_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read_at(&mut buf[n..], offset + n as u64) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// FNV-1a: a stable hash of a few bytes (headers, keys, the log's first bytes).
pub(super) fn fnv(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// A stable checksum of many bytes (a whole snapshot), eight at a time: it catches a damaged
/// or cut file, not an adversary. FNV-1a byte by byte would take about 8 times as long.
pub(super) fn checksum(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h: u64 = (bytes.len() as u64).wrapping_mul(K);
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        let w = u64::from_le_bytes(w.try_into().unwrap_or([0; 8]));
        h = (h ^ w).wrapping_mul(K).rotate_left(29);
    }
    let rest = words.remainder();
    let mut last = [0u8; 8];
    last[..rest.len()].copy_from_slice(rest);
    h = (h ^ u64::from_le_bytes(last)).wrapping_mul(K);
    h ^ (h >> 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checksum_sees_any_changed_byte_and_any_cut() {
        let bytes: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 251) as u8).collect();
        let sum = checksum(&bytes);
        for i in [0, 7, 8, 500, 999] {
            let mut changed = bytes.clone();
            changed[i] ^= 1;
            assert_ne!(checksum(&changed), sum, "byte {i}");
        }
        assert_ne!(checksum(&bytes[..999]), sum);
        assert_ne!(checksum(&[0u8; 16]), checksum(&[0u8; 17]));
    }
}
