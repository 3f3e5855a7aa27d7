//! Just enough X.509 DER reading to describe a certificate: subject CN, alternative names and
//! validity. It reads certificates the user hands us (or that we generated); it never decides
//! trust (rustls and webpki do that), so a field it cannot read is reported, not guessed.

use std::net::IpAddr;

/// What hooklens shows and checks about one certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertFields {
    /// Subject common name, when present and text.
    pub common_name: Option<String>,
    /// DNS names and IP addresses from subjectAltName, in certificate order.
    pub names: Vec<String>,
    /// Start of validity, unix seconds.
    pub not_before: i64,
    /// End of validity, unix seconds.
    pub not_after: i64,
}

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;
const OCTET_STRING: u8 = 0x04;
const BOOLEAN: u8 = 0x01;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;
const VERSION_TAG: u8 = 0xa0;
const EXTENSIONS_TAG: u8 = 0xa3;
const SAN_DNS: u8 = 0x82;
const SAN_IP: u8 = 0x87;
/// 2.5.4.3 commonName
const OID_CN: &[u8] = &[0x55, 0x04, 0x03];
/// 2.5.29.17 subjectAltName
const OID_SAN: &[u8] = &[0x55, 0x1d, 0x11];

/// Splits one TLV off the front: (tag, contents, rest).
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        // DER lengths above 4 bytes would be larger than any certificate we accept.
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

fn expect(input: &[u8], want: u8) -> Option<(&[u8], &[u8])> {
    match tlv(input)? {
        (tag, body, rest) if tag == want => Some((body, rest)),
        _ => None,
    }
}

fn digits(s: &[u8]) -> Option<i64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// `YYMMDDHHMMSSZ` (UTCTime) or `YYYYMMDDHHMMSSZ` (GeneralizedTime) to unix seconds.
fn time_of(tag: u8, body: &[u8]) -> Option<i64> {
    let (year, rest) = match tag {
        UTC_TIME if body.len() == 13 => {
            let yy = digits(&body[..2])?;
            // RFC 5280 4.1.2.5.1: 50..99 are 19xx, 00..49 are 20xx.
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &body[2..])
        }
        GENERALIZED_TIME if body.len() == 15 => (digits(&body[..4])?, &body[4..]),
        _ => return None,
    };
    if rest.last() != Some(&b'Z') {
        return None;
    }
    let part = |i: usize| digits(&rest[i..i + 2]);
    let month = time::Month::try_from(u8::try_from(part(0)?).ok()?).ok()?;
    let date = time::Date::from_calendar_date(
        i32::try_from(year).ok()?,
        month,
        u8::try_from(part(2)?).ok()?,
    )
    .ok()?;
    let clock = time::Time::from_hms(
        u8::try_from(part(4)?).ok()?,
        u8::try_from(part(6)?).ok()?,
        u8::try_from(part(8)?).ok()?,
    )
    .ok()?;
    Some(
        time::PrimitiveDateTime::new(date, clock)
            .assume_utc()
            .unix_timestamp(),
    )
}

fn common_name(mut name: &[u8]) -> Option<String> {
    while !name.is_empty() {
        let (set, rest) = expect(name, SET)?;
        name = rest;
        let mut attrs = set;
        while !attrs.is_empty() {
            let (attr, more) = expect(attrs, SEQUENCE)?;
            attrs = more;
            let (oid, value) = expect(attr, OID)?;
            if oid == OID_CN {
                let (_, text, _) = tlv(value)?;
                return std::str::from_utf8(text).ok().map(str::to_owned);
            }
        }
    }
    None
}

fn alt_names(mut exts: &[u8]) -> Option<Vec<String>> {
    let mut names = Vec::new();
    while !exts.is_empty() {
        let (ext, rest) = expect(exts, SEQUENCE)?;
        exts = rest;
        let (oid, mut body) = expect(ext, OID)?;
        if oid != OID_SAN {
            continue;
        }
        if let Some((_, after)) = expect(body, BOOLEAN) {
            body = after;
        }
        let (value, _) = expect(body, OCTET_STRING)?;
        let (mut general, _) = expect(value, SEQUENCE)?;
        while !general.is_empty() {
            let (tag, data, more) = tlv(general)?;
            general = more;
            match tag {
                SAN_DNS => names.push(String::from_utf8_lossy(data).into_owned()),
                SAN_IP => {
                    if let Ok(v4) = <[u8; 4]>::try_from(data) {
                        names.push(IpAddr::from(v4).to_string());
                    } else if let Ok(v6) = <[u8; 16]>::try_from(data) {
                        names.push(IpAddr::from(v6).to_string());
                    }
                }
                _ => {}
            }
        }
    }
    Some(names)
}

/// Reads the fields hooklens reports from a DER certificate; `None` when it is not one.
pub fn parse(cert: &[u8]) -> Option<CertFields> {
    let (certificate, _) = expect(cert, SEQUENCE)?;
    let (mut tbs, _) = expect(certificate, SEQUENCE)?;
    if let Some((_, rest)) = expect(tbs, VERSION_TAG) {
        tbs = rest;
    }
    let (_serial, _, rest) = tlv(tbs)?;
    let (_sig_alg, rest) = expect(rest, SEQUENCE)?;
    let (_issuer, rest) = expect(rest, SEQUENCE)?;
    let (validity, rest) = expect(rest, SEQUENCE)?;
    let (subject, mut rest) = expect(rest, SEQUENCE)?;

    let (t1, b1, after) = tlv(validity)?;
    let (t2, b2, _) = tlv(after)?;
    let not_before = time_of(t1, b1)?;
    let not_after = time_of(t2, b2)?;

    let mut names = Vec::new();
    // Skip subjectPublicKeyInfo and the optional unique ids until the [3] extensions wrapper.
    while !rest.is_empty() {
        let (tag, body, more) = tlv(rest)?;
        rest = more;
        if tag == EXTENSIONS_TAG {
            let (exts, _) = expect(body, SEQUENCE)?;
            names = alt_names(exts)?;
        }
    }
    Some(CertFields {
        common_name: common_name(subject),
        names,
        not_before,
        not_after,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_rcgen_wrote() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
            "::1".to_string(),
            "hooks.test".to_string(),
        ])
        .unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "hooklens test");
        params.not_before = time::macros::datetime!(2024-01-02 03:04:05 UTC);
        params.not_after = time::macros::datetime!(2051-06-07 08:09:10 UTC);
        let cert = params.self_signed(&key).unwrap();
        let fields = parse(cert.der()).unwrap();
        assert_eq!(fields.common_name.as_deref(), Some("hooklens test"));
        assert_eq!(
            fields.names,
            ["localhost", "127.0.0.1", "::1", "hooks.test"]
        );
        assert_eq!(fields.not_before, 1_704_164_645);
        assert_eq!(fields.not_after, 2_569_738_150);
    }

    #[test]
    fn garbage_is_none_not_a_panic() {
        assert_eq!(parse(b""), None);
        assert_eq!(parse(b"\x30\x84\xff\xff\xff\xff"), None);
        assert_eq!(parse(b"not a certificate at all"), None);
        for n in 0..64u8 {
            let bytes: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37) ^ 0x30).collect();
            let _ = parse(&bytes);
        }
    }

    #[test]
    fn two_digit_years_follow_rfc5280() {
        assert_eq!(time_of(UTC_TIME, b"500101000000Z"), Some(-631_152_000));
        assert_eq!(time_of(UTC_TIME, b"490101000000Z"), Some(2_493_072_000));
        assert_eq!(time_of(UTC_TIME, b"49010100000"), None);
    }
}
