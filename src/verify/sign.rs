//! A request signed as a [`Recipe`] says: the headers a sender attaches ([`Recipe::sign`]),
//! a body that carries its own timestamp ([`Recipe::stamp`]), and a captured request re-signed
//! under the names it carried ([`Recipe::sign_like`]).

use super::read::body_field;
use super::recipe::{Recipe, Split, TimeUnit};
use crate::model::capture::{Header, header_value};
use crate::model::secret::Secret;

impl Recipe {
    /// The headers a sender using this recipe would attach.
    pub fn sign(
        &self,
        secret: &Secret,
        timestamp: i64,
        id: &str,
        body: &[u8],
    ) -> Result<Vec<Header>, String> {
        self.sign_literal(secret, &self.timestamp_text(timestamp), id, body)
    }

    /// The body a sender of this recipe would send at unix seconds `t`: with the timestamp
    /// field set when the timestamp travels in the body (Linear's `webhookTimestamp`), added
    /// as the first member of a JSON object that lacks it. Other bodies are kept as they are.
    pub fn stamp(&self, body: Vec<u8>, t: i64) -> Vec<u8> {
        let Some(field) = self.timestamp_field.as_deref() else {
            return body;
        };
        if field.contains('.') || body_field(&body, field).is_ok_and(|v| v.is_some()) {
            return body;
        }
        let Some(rest) = body.strip_prefix(b"{") else {
            return body;
        };
        let value = match self.timestamp_unit {
            TimeUnit::Rfc3339 => format!("\"{}\"", self.timestamp_text(t)),
            _ => self.timestamp_text(t),
        };
        let empty = rest.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'}');
        let mut out = format!("{{\"{field}\":{value}{}", if empty { "" } else { "," }).into_bytes();
        out.extend_from_slice(rest);
        out
    }

    /// [`Recipe::sign`] with the timestamp written as `t`, exactly (milliseconds, text, or
    /// nothing): what `hooklens check` sends to see whether a receiver refuses it.
    pub fn sign_literal(
        &self,
        secret: &Secret,
        t: &str,
        id: &str,
        body: &[u8],
    ) -> Result<Vec<Header>, String> {
        let key = self.key_bytes(secret)?;
        let t = t.to_string();
        let sig = self.encode(&self.mac(&key, &self.signed_bytes(&self.template, &t, id, body)));
        let sep = |s: char| s.to_string();
        let value = match &self.split {
            Split::Pairs {
                signature,
                timestamp: Some(tk),
                separator,
            } => format!("{tk}={t}{}{signature}={sig}", sep(*separator)),
            Split::Pairs {
                signature,
                timestamp: None,
                ..
            } => format!("{signature}={sig}"),
            Split::Bare { prefix } => format!("{prefix}{sig}"),
            Split::List { version } => format!("{version},{sig}"),
        };
        let mut headers = vec![Header::new(self.header.clone(), value)];
        if let Some(h) = &self.timestamp_header {
            headers.push(Header::new(h.clone(), t));
        }
        if let Some(h) = &self.id_header {
            headers.push(Header::new(h.clone(), id.to_string()));
        }
        Ok(headers)
    }

    /// Re-signs a captured request at unix seconds `t`: its own id, and each header written
    /// under the name the capture carried (a branded `svix-*` capture stays branded).
    pub fn sign_like(
        &self,
        secret: &Secret,
        t: i64,
        body: &[u8],
        like: &[Header],
    ) -> Result<Vec<Header>, String> {
        let id = self.read_id(like).unwrap_or_default();
        let mut headers = self.sign(secret, t, &id, body)?;
        for h in &mut headers {
            if let Some(name) = self
                .lookups(&h.name)
                .into_iter()
                .find(|n| header_value(like, n).is_some())
            {
                h.name = name.into();
            }
        }
        Ok(headers)
    }
}
