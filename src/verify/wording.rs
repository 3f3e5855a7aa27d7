//! How a timestamp's skew is worded, in verdict reasons and front ends alike. (The verdict
//! itself is worded by `contract::judge`.)

/// `12 s old`, `5 s in the future`, `current`.
pub fn describe_skew(skew: i64) -> String {
    match skew {
        0 => "current".into(),
        s if s < 0 => format!("{} s old", s.unsigned_abs()),
        s => format!("{s} s in the future"),
    }
}
