//! How a [`Recipe`] reads a request: each header under its branded name first, then as
//! written ([`Lookup`], compared with the received names without building them); the
//! signature header split into timestamp, id and candidates, borrowed from the request; a
//! timestamp from a body field. What is absent is `Missing`, what cannot be read `Malformed`
//! (the contract in `contract`).

use std::borrow::Cow;
use std::fmt;

use super::contract::{Fault, HeaderName, first_of};
use super::recipe::{Part, Recipe, Split};
use crate::model::capture::{Header, header_value};
use crate::sanitize::escape_line;

/// What was read from the request's headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parsed {
    /// Timestamp text as sent.
    pub timestamp: Option<String>,
    /// Message id.
    pub id: Option<String>,
    /// Signature candidates as sent (encoded).
    pub signatures: Vec<String>,
    /// Which header names were read, when the recipe allows several.
    pub notes: Vec<String>,
}

/// [`Parsed`] still borrowed from the request, as verification reads it (a timestamp from
/// the body is the one owned piece).
pub(crate) struct Read<'h> {
    pub timestamp: Option<Cow<'h, str>>,
    pub id: Option<&'h str>,
    pub signatures: Vec<&'h str>,
    pub notes: Vec<String>,
}

impl Read<'_> {
    fn into_owned(self) -> Parsed {
        Parsed {
            timestamp: self.timestamp.map(Cow::into_owned),
            id: self.id.map(str::to_owned),
            signatures: self.signatures.into_iter().map(str::to_owned).collect(),
            notes: self.notes,
        }
    }
}

/// A name a recipe looks a header up under ([`Recipe::lookups`]), compared with the received
/// names without being built: `brand-rest`, or the name as written.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Lookup<'r> {
    /// `<brand>-<rest of the name>`.
    Branded(&'r str, &'r str),
    /// The name itself.
    Plain(&'r str),
}

impl HeaderName for Lookup<'_> {
    fn is(self, received: &str) -> bool {
        match self {
            Lookup::Plain(name) => name.is(received),
            Lookup::Branded(brand, rest) => {
                let (r, b) = (received.as_bytes(), brand.len());
                r.len() == b + 1 + rest.len()
                    && r[..b].eq_ignore_ascii_case(brand.as_bytes())
                    && r[b] == b'-'
                    && r[b + 1..].eq_ignore_ascii_case(rest.as_bytes())
            }
        }
    }
}

impl fmt::Display for Lookup<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Lookup::Plain(name) => f.write_str(name),
            Lookup::Branded(brand, rest) => write!(f, "{brand}-{rest}"),
        }
    }
}

impl<'r> Lookup<'r> {
    /// The name as text (built only for a branded name).
    fn text(self) -> Cow<'r, str> {
        match self {
            Lookup::Plain(name) => Cow::Borrowed(name),
            branded => Cow::Owned(branded.to_string()),
        }
    }
}

/// A field of a JSON body by dotted path: absent (or not JSON) is `Ok(None)`; a value that is
/// not a string or number is an error.
pub fn body_field(body: &[u8], path: &str) -> Result<Option<String>, Fault> {
    let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Ok(None);
    };
    for key in path.split('.') {
        match value.get_mut(key) {
            Some(v) => value = v.take(),
            None => return Ok(None),
        }
    }
    match value {
        serde_json::Value::Number(n) => Ok(Some(n.to_string())),
        serde_json::Value::String(s) => Ok(Some(s)),
        serde_json::Value::Null => Ok(None),
        _ => Err(Fault::Malformed(format!(
            "body field {path} is not a timestamp"
        ))),
    }
}

impl Recipe {
    /// Whether one of this recipe's signature headers is present.
    pub fn detect(&self, headers: &[Header]) -> bool {
        self.lookup(&self.header)
            .any(|n| headers.iter().any(|h| n.is(&h.name)))
    }

    /// The names a header is looked for under, in order: branded first, with a `brand`.
    pub fn lookups(&self, name: &str) -> Vec<String> {
        self.lookup(name).map(|n| n.to_string()).collect()
    }

    /// [`Recipe::lookups`] without building the names.
    pub(crate) fn lookup<'r>(&'r self, name: &'r str) -> impl Iterator<Item = Lookup<'r>> + Clone {
        let branded = match (&self.brand, name.split_once('-')) {
            (Some(brand), Some((_, rest))) => Some(Lookup::Branded(brand, rest)),
            _ => None,
        };
        branded.into_iter().chain([Lookup::Plain(name)])
    }

    /// A header by [`Recipe::lookups`]: the name found and its value, as `contract::required`.
    fn read<'r, 'h>(
        &'r self,
        headers: &'h [Header],
        name: &'r str,
    ) -> Result<(Lookup<'r>, &'h str), Fault> {
        first_of(headers, self.lookup(name))
    }

    /// The message id as verification reads it (branded name first).
    pub fn read_id(&self, headers: &[Header]) -> Option<String> {
        let h = self.id_header.as_deref()?;
        self.read(headers, h).ok().map(|(_, v)| v.to_string())
    }

    /// Reads timestamp, id and signature candidates from the request, by the contract: a
    /// needed header absent or empty is [`Fault::Missing`], one that cannot be parsed
    /// [`Fault::Malformed`].
    pub fn parse_headers(&self, headers: &[Header], body: &[u8]) -> Result<Parsed, Fault> {
        self.read_headers(headers, body).map(Read::into_owned)
    }

    /// [`Recipe::parse_headers`], borrowing from the request.
    pub(crate) fn read_headers<'h>(
        &self,
        headers: &'h [Header],
        body: &[u8],
    ) -> Result<Read<'h>, Fault> {
        let (found, text) = self.read(headers, &self.header)?;
        let used = found.text();
        let used = used.as_ref();
        let bad = |why: String| Fault::Malformed(format!("{used}: {why}"));
        let mut parsed = Read {
            timestamp: None,
            id: None,
            signatures: Vec::new(),
            notes: Vec::new(),
        };
        if self.brand.is_some() && self.header.contains('-') {
            let header_names = self.lookups(&self.header);
            let others: Vec<&str> = header_names
                .iter()
                .map(String::as_str)
                .filter(|n| *n != used && header_value(headers, n).is_some())
                .collect();
            if used != header_names[header_names.len() - 1].as_str() || !others.is_empty() {
                let mut note = format!("read {used}");
                if !others.is_empty() {
                    note.push_str(&format!(
                        " ({} present too; {used} is checked first, as the provider's library does)",
                        others.join(", ")
                    ));
                }
                parsed.notes.push(note);
            }
        }
        let mut no_signature = None;
        match &self.split {
            Split::Pairs {
                signature,
                timestamp,
                separator,
            } => {
                for part in text
                    .split(*separator)
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                {
                    let Some((k, v)) = part.split_once('=') else {
                        return Err(bad(format!(
                            "part {:?} is not key=value",
                            escape_line(part.as_bytes())
                        )));
                    };
                    if Some(k) == timestamp.as_deref() {
                        if parsed.timestamp.is_some() {
                            return Err(bad(format!("more than one {k}= part")));
                        }
                        parsed.timestamp = Some(Cow::Borrowed(v));
                    } else if k == signature {
                        parsed.signatures.push(v);
                    }
                }
                if let Some(tk) = timestamp
                    && parsed.timestamp.is_none()
                {
                    return Err(bad(format!("no {tk}= part")));
                }
                if parsed.signatures.is_empty() {
                    no_signature = Some(format!("no {signature}= part"));
                }
            }
            Split::Bare { prefix } => {
                let sig = text
                    .strip_prefix(prefix.as_str())
                    .ok_or_else(|| bad(format!("value does not start with {prefix:?}")))?;
                if sig.is_empty() {
                    return Err(bad("empty signature".into()));
                }
                parsed.signatures.push(sig);
            }
            Split::List { version } => {
                for entry in text.split(' ').filter(|e| !e.is_empty()) {
                    let Some((v, sig)) = entry.split_once(',') else {
                        return Err(bad(format!(
                            "entry {:?} is not <version>,<signature>",
                            escape_line(entry.as_bytes())
                        )));
                    };
                    if v == version {
                        parsed.signatures.push(sig);
                    }
                }
                if parsed.signatures.is_empty() {
                    no_signature = Some(format!("no {version},<signature> entry"));
                }
            }
        }
        if let Some(why) = no_signature {
            if self.no_signature_malformed {
                return Err(bad(why));
            }
            parsed.notes.push(why);
        }
        if let Some(list) = &self.timestamp_header {
            parsed.timestamp = Some(Cow::Borrowed(self.read(headers, list)?.1));
        }
        if let Some(field) = &self.timestamp_field {
            parsed.timestamp = body_field(body, field)?.map(Cow::Owned);
            if parsed.timestamp.is_none() {
                parsed
                    .notes
                    .push(format!("no {field} in the body: freshness not checked"));
            }
        }
        if let Some(list) = &self.id_header {
            parsed.id = Some(self.read(headers, list)?.1);
        }
        if self.template.contains(&Part::Timestamp) && parsed.timestamp.is_none() {
            return Err(Fault::Missing("no timestamp".into()));
        }
        Ok(parsed)
    }
}
