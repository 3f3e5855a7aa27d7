//! A signature scheme described as data: where the signature is, how the header splits, what
//! string is signed, which MAC and encoding. Every built-in scheme except the ModelGates
//! reference is a recipe, and a user can write one for a provider hooklens does not know yet,
//! in a small `key = value` file or inline (`key=value;key=value`).
//!
//! ```text
//! header    = X-Signature          # where the signature is
//! split     = pairs                # pairs (t=…,v1=…) | bare | list (v1,<sig> v1,<sig>)
//! separator = comma                # pairs: comma | semicolon (Paddle: ts=…;h1=…)
//! signature = v1                   # pairs: the key holding signatures; list: the version
//! timestamp = t                    # pairs: the key holding the timestamp
//! prefix    = sha256=              # bare: a prefix before the signature
//! timestamp_header = X-Timestamp   # or: the timestamp comes from this header
//! timestamp_field = webhookTimestamp  # or: from this field of the JSON body (a.b for nested)
//! timestamp_unit = seconds         # seconds | milliseconds | rfc3339
//! id_header = webhook-id           # {id} in the template comes from this header
//! brand     = svix                 # each header is read as svix-… first (svix-id, then webhook-id)
//! template  = {t}.{body}           # {t}, {id}, {body} and literal text (\n, \t allowed)
//! algorithm = sha256               # sha256 | sha1 | sha512
//! encoding  = hex                  # hex | base64
//! key       = utf8                 # utf8 | whsec (strip whsec_, base64-decode: Standard Webhooks)
//! tolerance = both                 # both | past (Stripe rejects only old timestamps) | none
//! max_age   = 300                  # the scheme's own tolerance, s (`--tolerance` overrides it)
//! lowercase_only = true            # hex compared as a lowercase string (most SDKs do)
//! strict    = true                 # a signature that is not a MAC of the right size: malformed
//! no_signature = malformed         # a header with no signature entry: malformed | invalid
//! ```
//!
//! With a `brand`, each header is looked for under its branded name first, header by header,
//! as Svix's library reads `svix-id` before `webhook-id`; a signer writes the plain names
//! (or, re-signing a captured request, the names it carried: [`Recipe::sign_like`]).
//!
//! Reading a request's headers by a recipe ([`Recipe::read_headers`]) lives in `read`,
//! checking a request against it ([`Recipe::verify`]) in `check`, signing one
//! ([`Recipe::sign`]) in `sign`.

use std::borrow::Cow;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use super::contract::Fault;
pub use super::contract::Window;
use super::mac;
pub use super::mac::Algorithm;
use crate::model::secret::Secret;
use crate::sanitize::escape_line;

/// How the signature header is laid out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Split {
    /// `t=…,v1=…[,v1=…]` (ModelGates, Stripe).
    Pairs {
        /// Key of the signature values (`v1`).
        signature: String,
        /// Key of the timestamp (`t`), if the header carries it.
        timestamp: Option<String>,
        /// Between the pairs: `,` or `;`.
        separator: char,
    },
    /// One value, optionally after a prefix (`sha256=<hex>`, `v0=<hex>`, bare base64).
    Bare {
        /// Prefix before the signature.
        prefix: String,
    },
    /// Space-separated `version,signature` entries (Standard Webhooks).
    List {
        /// The version to check (`v1`).
        version: String,
    },
}

/// One piece of the signed string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    /// Literal bytes.
    Lit(Vec<u8>),
    /// The timestamp as sent.
    Timestamp,
    /// The message id (from `id_header`).
    Id,
    /// The raw body.
    Body,
}

/// Signature encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// Lowercase hex (uppercase accepted unless `lowercase_only`).
    Hex,
    /// Standard base64.
    Base64,
}

/// How the secret becomes the HMAC key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyMode {
    /// The secret's UTF-8 bytes.
    Utf8,
    /// Strip `whsec_` and base64-decode (Standard Webhooks / Svix).
    Whsec,
}

/// How the timestamp is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeUnit {
    /// Unix seconds.
    Seconds,
    /// Unix milliseconds (Linear's `webhookTimestamp`).
    Milliseconds,
    /// RFC 3339 (Twitch).
    Rfc3339,
}

/// A complete scheme description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recipe {
    /// Scheme name in verdicts.
    pub name: String,
    /// Signature header.
    pub header: String,
    /// Header layout.
    pub split: Split,
    /// Header holding the timestamp, when it is not in the signature header.
    pub timestamp_header: Option<String>,
    /// JSON body field holding the timestamp (dotted path).
    pub timestamp_field: Option<String>,
    /// How the timestamp is written.
    pub timestamp_unit: TimeUnit,
    /// Header holding the message id.
    pub id_header: Option<String>,
    /// Each header is read as `<brand>-<rest of its name>` first (`svix`).
    pub brand: Option<String>,
    /// The signed string.
    pub template: Vec<Part>,
    /// MAC.
    pub algorithm: Algorithm,
    /// Signature encoding.
    pub encoding: Encoding,
    /// Key derivation.
    pub key: KeyMode,
    /// Freshness window.
    pub window: Window,
    /// The scheme's own tolerance in seconds (the provider SDK's), unless `--tolerance` is set.
    pub max_age: Option<i64>,
    /// A header without any signature entry is malformed (else: no signature matches).
    pub no_signature_malformed: bool,
    /// Hex must be lowercase (the ModelGates receiver compares strings).
    pub lowercase_only: bool,
    /// A signature that is not well formed (alphabet, length) makes the header malformed
    /// rather than just not matching.
    pub strict: bool,
}

/// Parses a template such as `{t}.{body}`.
pub fn parse_template(text: &str) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut lit = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("{t}") {
            push_lit(&mut parts, &mut lit);
            parts.push(Part::Timestamp);
            rest = after;
        } else if let Some(after) = rest.strip_prefix("{id}") {
            push_lit(&mut parts, &mut lit);
            parts.push(Part::Id);
            rest = after;
        } else if let Some(after) = rest.strip_prefix("{body}") {
            push_lit(&mut parts, &mut lit);
            parts.push(Part::Body);
            rest = after;
        } else if let Some(after) = rest.strip_prefix("\\n") {
            lit.push(b'\n');
            rest = after;
        } else if let Some(after) = rest.strip_prefix("\\t") {
            lit.push(b'\t');
            rest = after;
        } else {
            let c = rest.chars().next().unwrap_or(' ');
            let mut buf = [0u8; 4];
            lit.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            rest = &rest[c.len_utf8()..];
        }
    }
    push_lit(&mut parts, &mut lit);
    if !parts.contains(&Part::Body) {
        return Err(format!("template {text:?} has no {{body}}"));
    }
    Ok(parts)
}

/// One of a few named values, or an error that lists them.
fn pick<T: Copy>(what: &str, value: &str, choices: &[(&str, T)]) -> Result<T, String> {
    choices
        .iter()
        .find(|(name, _)| *name == value)
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
            format!("unknown {what} {value:?} ({})", names.join(", "))
        })
}

fn push_lit(parts: &mut Vec<Part>, lit: &mut Vec<u8>) {
    if !lit.is_empty() {
        parts.push(Part::Lit(std::mem::take(lit)));
    }
}

/// Renders a template back to text (`{t}.{body}`).
pub fn template_text(parts: &[Part]) -> String {
    parts
        .iter()
        .map(|p| match p {
            Part::Lit(b) => String::from_utf8_lossy(b).replace('\n', "\\n"),
            Part::Timestamp => "{t}".into(),
            Part::Id => "{id}".into(),
            Part::Body => "{body}".into(),
        })
        .collect()
}

impl Recipe {
    /// Reads a recipe from `key = value` lines (a file) or `key=value;key=value` (a flag).
    pub fn parse(text: &str) -> Result<Recipe, String> {
        let mut r = Recipe {
            name: "custom".into(),
            header: String::new(),
            split: Split::Bare {
                prefix: String::new(),
            },
            timestamp_header: None,
            timestamp_field: None,
            timestamp_unit: TimeUnit::Seconds,
            id_header: None,
            brand: None,
            template: vec![Part::Body],
            algorithm: Algorithm::Sha256,
            encoding: Encoding::Hex,
            key: KeyMode::Utf8,
            window: Window::Both,
            max_age: None,
            no_signature_malformed: true,
            lowercase_only: false,
            strict: false,
        };
        let (mut split, mut signature, mut timestamp, mut prefix, mut pair_sep) =
            ("bare".to_string(), None, None, String::new(), ',');
        let separator = if text.contains('\n') { '\n' } else { ';' };
        for raw in text.split(separator) {
            let line = raw.split(" #").next().unwrap_or("").trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (k, v) = line
                .split_once('=')
                .ok_or_else(|| format!("recipe line {line:?} is not key = value"))?;
            let (k, v) = (k.trim(), v.trim().to_string());
            match k {
                "name" => r.name = v,
                "header" => r.header = v,
                "split" => split = v,
                "signature" => signature = Some(v),
                "timestamp" => timestamp = Some(v),
                "prefix" => prefix = v,
                "separator" => {
                    pair_sep = pick("separator", &v, &[("comma", ','), ("semicolon", ';')])?
                }
                "timestamp_header" => r.timestamp_header = Some(v),
                "timestamp_field" => r.timestamp_field = Some(v),
                "timestamp_unit" => {
                    r.timestamp_unit = pick(
                        "timestamp unit",
                        &v,
                        &[
                            ("seconds", TimeUnit::Seconds),
                            ("milliseconds", TimeUnit::Milliseconds),
                            ("rfc3339", TimeUnit::Rfc3339),
                        ],
                    )?
                }
                "max_age" => {
                    r.max_age = Some(
                        v.parse::<u32>()
                            .map_err(|_| format!("max_age {v:?} is not a number of seconds"))?
                            .into(),
                    )
                }
                "no_signature" => {
                    r.no_signature_malformed = pick(
                        "no_signature",
                        &v,
                        &[("malformed", true), ("invalid", false)],
                    )?
                }
                "id_header" => r.id_header = Some(v),
                "brand" => r.brand = Some(v),
                "template" => r.template = parse_template(&v)?,
                "algorithm" => {
                    r.algorithm = pick(
                        "algorithm",
                        &v.to_ascii_lowercase(),
                        &[
                            ("sha256", Algorithm::Sha256),
                            ("sha1", Algorithm::Sha1),
                            ("sha512", Algorithm::Sha512),
                        ],
                    )?
                }
                "encoding" => {
                    r.encoding = pick(
                        "encoding",
                        &v,
                        &[("hex", Encoding::Hex), ("base64", Encoding::Base64)],
                    )?
                }
                "key" => {
                    r.key = pick(
                        "key mode",
                        &v,
                        &[("utf8", KeyMode::Utf8), ("whsec", KeyMode::Whsec)],
                    )?
                }
                "tolerance" => {
                    r.window = pick(
                        "tolerance",
                        &v,
                        &[
                            ("both", Window::Both),
                            ("past", Window::Past),
                            ("none", Window::None),
                        ],
                    )?
                }
                "lowercase_only" => r.lowercase_only = v == "true",
                "strict" => r.strict = v == "true",
                _ => return Err(format!("unknown recipe key {k:?}")),
            }
        }
        if r.header.is_empty() {
            return Err("recipe needs header = <signature header name>".into());
        }
        r.split = match split.as_str() {
            "pairs" => Split::Pairs {
                signature: signature.unwrap_or_else(|| "v1".into()),
                timestamp,
                separator: pair_sep,
            },
            "bare" => Split::Bare { prefix },
            "list" => Split::List {
                version: signature.unwrap_or_else(|| "v1".into()),
            },
            _ => return Err(format!("unknown split {split:?} (pairs, bare, list)")),
        };
        let needs_t = r.template.contains(&Part::Timestamp);
        let has_t = r.timestamp_header.is_some()
            || r.timestamp_field.is_some()
            || matches!(
                &r.split,
                Split::Pairs {
                    timestamp: Some(_),
                    ..
                }
            );
        if needs_t && !has_t {
            return Err(
                "template uses {t} but no timestamp source (timestamp = key, timestamp_header or timestamp_field)"
                    .into(),
            );
        }
        if r.template.contains(&Part::Id) && r.id_header.is_none() {
            return Err("template uses {id} but no id_header".into());
        }
        Ok(r)
    }

    /// The timestamp as unix seconds, or why it is not one in this recipe's unit.
    pub fn unix_seconds(&self, t: &str) -> Result<i64, Fault> {
        let digits = !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        let shown = || escape_line(t.as_bytes());
        match self.timestamp_unit {
            TimeUnit::Seconds | TimeUnit::Milliseconds if !digits => Err(Fault::Malformed(
                format!("timestamp {:?} is not unix {}", shown(), self.unit_name()),
            )),
            TimeUnit::Seconds => t
                .parse::<i64>()
                .map_err(|_| Fault::Malformed(format!("timestamp {:?} is out of range", shown()))),
            TimeUnit::Milliseconds => t
                .parse::<i64>()
                .map(|ms| ms.div_euclid(1000))
                .map_err(|_| Fault::Malformed(format!("timestamp {:?} is out of range", shown()))),
            TimeUnit::Rfc3339 => {
                time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                    .map(|d| d.unix_timestamp())
                    .map_err(|_| {
                        Fault::Malformed(format!("timestamp {:?} is not RFC 3339", shown()))
                    })
            }
        }
    }

    fn unit_name(&self) -> &'static str {
        match self.timestamp_unit {
            TimeUnit::Seconds => "seconds",
            TimeUnit::Milliseconds => "milliseconds",
            TimeUnit::Rfc3339 => "RFC 3339",
        }
    }

    /// The timestamp text a signer writes for unix seconds `t`.
    pub fn timestamp_text(&self, t: i64) -> String {
        match self.timestamp_unit {
            TimeUnit::Seconds => t.to_string(),
            TimeUnit::Milliseconds => (t * 1000).to_string(),
            TimeUnit::Rfc3339 => crate::fmt::rfc3339(t * 1000),
        }
    }

    /// The HMAC key for a secret, or why it cannot be used.
    pub fn key_bytes(&self, secret: &Secret) -> Result<Vec<u8>, String> {
        self.key_of(secret).map(Cow::into_owned)
    }

    /// [`Recipe::key_bytes`], borrowing the secret's own bytes when they are the key.
    pub(crate) fn key_of<'s>(&self, secret: &'s Secret) -> Result<Cow<'s, [u8]>, String> {
        match self.key {
            KeyMode::Utf8 => Ok(Cow::Borrowed(secret.expose())),
            KeyMode::Whsec => {
                let s = secret.expose_str();
                let b64 = s.strip_prefix("whsec_").unwrap_or(s);
                B64.decode(b64.trim())
                    .map_err(|_| "secret is not whsec_<base64>".to_string())
                    .and_then(|k| {
                        if k.is_empty() {
                            Err("secret decodes to an empty key".into())
                        } else {
                            Ok(Cow::Owned(k))
                        }
                    })
            }
        }
    }

    /// The bytes this recipe signs.
    pub fn signed_bytes(&self, template: &[Part], t: &str, id: &str, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(body.len() + 64);
        for part in signed_parts(template, t, id, body) {
            out.extend_from_slice(part);
        }
        out
    }

    /// Raw MAC of `data` under `key`.
    pub fn mac(&self, key: &[u8], data: &[u8]) -> Vec<u8> {
        mac::compute(self.algorithm, key, &[data])
    }

    /// Encodes a MAC as the sender would.
    pub fn encode(&self, mac: &[u8]) -> String {
        match self.encoding {
            Encoding::Hex => hex::encode(mac),
            Encoding::Base64 => B64.encode(mac),
        }
    }

    /// Decodes a candidate signature; `None` if it is not valid in this encoding.
    pub fn decode(&self, candidate: &str) -> Option<Vec<u8>> {
        match self.encoding {
            Encoding::Hex => {
                if self.lowercase_only && candidate.bytes().any(|b| b.is_ascii_uppercase()) {
                    return None;
                }
                hex::decode(candidate).ok()
            }
            Encoding::Base64 => B64.decode(candidate).ok(),
        }
    }

    /// [`Recipe::decode`] onto the stack, for a candidate that could be a MAC: one that
    /// decodes to more than [`MAX_DECODED`] bytes, longer than any MAC, is `None` too.
    pub(crate) fn decode_small(&self, candidate: &str) -> Option<Decoded> {
        let mut d = Decoded {
            bytes: [0; MAX_DECODED],
            len: 0,
        };
        d.len = match self.encoding {
            Encoding::Hex => {
                if self.lowercase_only && candidate.bytes().any(|b| b.is_ascii_uppercase()) {
                    return None;
                }
                let len = candidate.len() / 2;
                if !candidate.len().is_multiple_of(2) || len > MAX_DECODED {
                    return None;
                }
                hex::decode_to_slice(candidate, &mut d.bytes[..len]).ok()?;
                len
            }
            Encoding::Base64 => B64.decode_slice(candidate, &mut d.bytes).ok()?,
        };
        Some(d)
    }

    /// [`Recipe::matches`] for one secret and the key this recipe makes of it: a secret whose
    /// bytes are the key checks from its keyed state ([`mac::secret_matches_any`]). Err: the
    /// secret makes no key (a `whsec_` one that is not base64).
    pub(crate) fn secret_matches<'p>(
        &self,
        secret: &Secret,
        signed: impl IntoIterator<Item = &'p [u8]>,
        candidates: &[impl AsRef<str>],
    ) -> Result<bool, String> {
        let decoded = candidates
            .iter()
            .filter_map(|c| self.decode_small(c.as_ref()));
        Ok(match self.key {
            KeyMode::Utf8 => mac::secret_matches_any(self.algorithm, secret, signed, decoded),
            KeyMode::Whsec => {
                mac::matches_any(self.algorithm, &self.key_of(secret)?, signed, decoded)
            }
        })
    }

    /// Constant-time check of the candidates against one key and the parts of the signed
    /// string (decoded on the stack, nothing copied).
    pub fn matches<'p>(
        &self,
        key: &[u8],
        signed: impl IntoIterator<Item = &'p [u8]>,
        candidates: &[impl AsRef<str>],
    ) -> bool {
        mac::matches_any(
            self.algorithm,
            key,
            signed,
            candidates
                .iter()
                .filter_map(|c| self.decode_small(c.as_ref())),
        )
    }
}

/// The pieces of the signed string, in order (what [`Recipe::signed_bytes`] concatenates).
pub fn signed_parts<'a>(
    template: &'a [Part],
    t: &'a str,
    id: &'a str,
    body: &'a [u8],
) -> impl Iterator<Item = &'a [u8]> + Clone {
    template.iter().map(move |part| match part {
        Part::Lit(b) => b.as_slice(),
        Part::Timestamp => t.as_bytes(),
        Part::Id => id.as_bytes(),
        Part::Body => body,
    })
}

/// Room for a decoded candidate: more than the longest MAC (SHA-512's 64 bytes), so a
/// candidate of any MAC's size fits and one too long to match is refused by size.
const MAX_DECODED: usize = 96;

/// A candidate signature decoded on the stack.
pub(crate) struct Decoded {
    bytes: [u8; MAX_DECODED],
    len: usize,
}

impl AsRef<[u8]> for Decoded {
    fn as_ref(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[test]
    fn parses_a_recipe_file_and_an_inline_recipe_the_same() {
        let file = "# my provider\nname = acme\nheader = X-Acme-Sig\nsplit = pairs\nsignature = s\ntimestamp = ts\ntemplate = {t}:{body}\nalgorithm = sha512\nencoding = base64\n";
        let inline = "name=acme;header=X-Acme-Sig;split=pairs;signature=s;timestamp=ts;template={t}:{body};algorithm=sha512;encoding=base64";
        assert_eq!(Recipe::parse(file).unwrap(), Recipe::parse(inline).unwrap());
        let r = Recipe::parse(inline).unwrap();
        assert_eq!(template_text(&r.template), "{t}:{body}");
    }

    #[rstest]
    #[case::no_header("split=pairs", "header")]
    #[case::no_timestamp_source("header=X;template={t}.{body}", "timestamp source")]
    #[case::unknown_algorithm("header=X;algorithm=md5", "md5")]
    #[case::no_body("header=X;template={t}", "{body}")]
    fn bad_recipes_say_why(#[case] text: &str, #[case] says: &str) {
        let why = Recipe::parse(text).unwrap_err();
        assert!(why.contains(says), "{why}");
    }
}
