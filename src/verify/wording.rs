//! How a timestamp's skew is worded, in verdict reasons and front ends alike. (The verdict
//! itself is worded by `contract::judge`, which writes [`Skew`] straight into its reason.)

use std::fmt;

/// `12 s old`, `5 s in the future`, `current`.
pub fn describe_skew(skew: i64) -> String {
    Skew(skew).to_string()
}

/// A skew in words, written where it is needed (no string of its own).
#[derive(Clone, Copy)]
pub struct Skew(pub i64);

impl fmt::Display for Skew {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            0 => f.write_str("current"),
            s if s < 0 => write!(f, "{} s old", s.unsigned_abs()),
            s => write!(f, "{s} s in the future"),
        }
    }
}
