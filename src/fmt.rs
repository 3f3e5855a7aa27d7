//! Formatting for humans, shared by every front end and export: clock and RFC 3339 times,
//! sizes, skew, an error with its causes. Pure: no
//! terminal, no store.

/// `HH:MM:SS` (UTC) of a unix-ms time.
pub fn clock(ms: i64) -> String {
    let secs = ms.div_euclid(1000).rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// RFC 3339 UTC time with milliseconds.
pub fn rfc3339(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.format(&fmt).unwrap_or_default()
}

/// Body size for humans: `312 B`, `4.1 KiB`, `10.0 MiB`.
pub fn size(bytes: u64) -> String {
    match bytes {
        b if b < 1024 => format!("{b} B"),
        b if b < 1024 * 1024 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0)),
    }
}

/// Signed skew for humans: `-3s`, `+400s`, `0s`.
pub fn skew(skew: Option<i64>) -> String {
    match skew {
        Some(s) if s > 0 => format!("+{s}s"),
        Some(s) => format!("{s}s"),
        None => "-".into(),
    }
}

/// An error and its causes, `: `-separated; a cause whose text the message already holds is
/// not repeated.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}
