//! `hooklens cert` and the HTTPS flags of `hooklens listen`: choosing the certificate, and the
//! start-up lines that tell the user how to trust it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use tokio_rustls::TlsAcceptor;

use crate::cmd::args::{Exit, environment, usage};
use crate::net::tls::{self, local};

/// HTTPS flags of `hooklens listen`.
#[derive(Debug, Args, Clone, Default)]
pub struct TlsFlags {
    /// Serve HTTPS on the listen port (a local CA and certificate are generated unless --cert/--key).
    #[arg(long, conflicts_with = "tls_port")]
    pub tls: bool,
    /// Also serve HTTPS on this port while the listen port stays HTTP (0 picks a free port).
    #[arg(long, value_name = "PORT")]
    pub tls_port: Option<u16>,
    /// Your own PEM certificate chain (leaf first) instead of the generated one.
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,
    /// The PEM private key for --cert (PKCS#8, RSA or EC).
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    /// Extra name or IP for the generated certificate (repeatable), e.g. myapp.test.
    #[arg(long = "tls-name", value_name = "NAME", conflicts_with = "cert")]
    pub tls_names: Vec<String>,
}

impl TlsFlags {
    /// True when some port serves HTTPS.
    pub fn enabled(&self) -> bool {
        self.tls || self.tls_port.is_some()
    }
}

/// `hooklens cert` flags. Without --renew or --regenerate it only shows: nothing is created,
/// re-issued or changed.
#[derive(Debug, Args)]
pub struct CertArgs {
    /// Write the CA certificate (PEM) to DIR/hooklens-ca.pem, e.g. to import it elsewhere.
    #[arg(long, value_name = "DIR")]
    pub export: Option<PathBuf>,
    /// Create what is missing and re-issue the server certificate when it expires soon or
    /// lacks a --tls-name (it keeps every name it had); the CA is kept.
    #[arg(long)]
    pub renew: bool,
    /// Create a new CA and certificate (the old CA must then be trusted again).
    #[arg(long)]
    pub regenerate: bool,
    /// With --renew or --regenerate: an extra name or IP for the certificate (repeatable),
    /// as with `listen --tls-name`.
    #[arg(long = "tls-name", value_name = "NAME")]
    pub tls_names: Vec<String>,
}

/// A TLS acceptor for the listener plus the lines to print once it is listening.
pub struct TlsSetup {
    /// The acceptor shared by every HTTPS connection.
    pub acceptor: TlsAcceptor,
    /// Lines for stderr: what was created, which certificate, warnings.
    pub notes: Vec<String>,
    /// The CA file to trust and its SHA-256, when the certificate is generated.
    pub ca: Option<(PathBuf, String)>,
}

impl TlsSetup {
    /// Everything to print once the HTTPS port is known.
    pub fn banner(&self, port: u16) -> Vec<String> {
        let mut lines = self.notes.clone();
        if let Some((path, sha256)) = &self.ca {
            lines.extend(trust_lines(path, sha256, Some(port)));
        }
        lines
    }
}

/// Builds the HTTPS side of `listen` from its flags; `None` when HTTPS is off.
pub fn listen_setup(flags: &TlsFlags) -> Result<Option<TlsSetup>> {
    if !flags.enabled() {
        if flags.cert.is_some() || !flags.tls_names.is_empty() {
            return Err(usage(
                "listen",
                "--cert/--key and --tls-name need --tls (HTTPS on the listen port) or --tls-port N",
            ));
        }
        return Ok(None);
    }
    if let (Some(cert), Some(key)) = (&flags.cert, &flags.key) {
        let identity = tls::load_pem(cert, key)?;
        let mut notes = vec![format!(
            "hooklens: HTTPS certificate {} ({}; valid until {}; SHA-256 {})",
            cert.display(),
            names_text(&identity.leaf),
            tls::date(identity.leaf.not_after),
            identity.leaf_sha256
        )];
        notes.extend(
            identity
                .warnings
                .iter()
                .map(|w| format!("hooklens: warning: {w}")),
        );
        return Ok(Some(TlsSetup {
            acceptor: tls::acceptor(&identity)?,
            notes,
            ca: None,
        }));
    }
    let names = local::leaf_names(&flags.tls_names).map_err(|e| usage("listen", e))?;
    let dir = local::data_dir()?;
    let local = local::ensure(&dir, &names, false)?;
    let mut notes = Vec::new();
    match &local.change {
        local::Change::Reused => {}
        local::Change::NewCa(why) => notes.push(format!(
            "hooklens: created a local CA ({why}); trust it once with one of the lines below"
        )),
        local::Change::NewLeaf(why) => notes.push(format!(
            "hooklens: issued a new certificate ({why}); the CA is unchanged, so existing trust still works"
        )),
    }
    notes.push(format!(
        "hooklens: HTTPS certificate for {} signed by the hooklens local CA",
        names.join(", ")
    ));
    Ok(Some(TlsSetup {
        acceptor: tls::acceptor(&local.identity)?,
        notes,
        ca: Some((local.paths.ca_cert.clone(), local.ca_sha256.clone())),
    }))
}

/// The CA path, fingerprint and one-line ways to trust it (for `port` when known).
pub fn trust_lines(ca: &Path, sha256: &str, port: Option<u16>) -> Vec<String> {
    let ca = crate::sanitize::shell_word(&ca.display().to_string());
    let port = port.map_or_else(|| "PORT".to_owned(), |p| p.to_string());
    vec![
        format!("  CA       {ca}"),
        format!("  SHA-256  {sha256}"),
        format!("  curl     curl --cacert {ca} https://localhost:{port}/"),
        format!("  Node     NODE_EXTRA_CA_CERTS={ca} node app.js"),
        format!(
            "  Python   REQUESTS_CA_BUNDLE={ca} python app.py (requests; urllib: SSL_CERT_FILE)"
        ),
        format!(
            "  OpenSSL-based tools (Ruby, Go, Python urllib, …): SSL_CERT_FILE={ca} … (replaces the system bundle for that command)"
        ),
    ]
}

fn names_text(fields: &tls::CertFields) -> String {
    if fields.names.is_empty() {
        fields
            .common_name
            .clone()
            .unwrap_or_else(|| "no names".into())
    } else {
        fields.names.join(", ")
    }
}

/// `hooklens cert`: shows, renews, regenerates or exports the local certificate.
pub fn run(args: CertArgs) -> Result<Exit> {
    let names = local::leaf_names(&args.tls_names).map_err(|e| usage("cert", e))?;
    let dir = local::data_dir()?;
    let changing = args.renew || args.regenerate;
    if !changing && !args.tls_names.is_empty() {
        return Err(usage(
            "cert",
            "--tls-name changes the certificate: add --renew (keeps the CA) or --regenerate",
        ));
    }
    let local = if changing {
        local::ensure(&dir, &names, args.regenerate)?
    } else {
        let problems = local::problems(&dir);
        let loaded = local::load(&dir).map_err(|e| {
            environment(format!(
                "no usable local certificate in {} ({}): `hooklens cert --renew` or `hooklens listen --tls` creates one",
                dir.display(),
                problems.first().cloned().unwrap_or_else(|| format!("{e:#}"))
            ))
        })?;
        for p in problems {
            eprintln!(
                "hooklens: warning: {p}; `hooklens cert --renew` or the next `hooklens listen --tls` renews it"
            );
        }
        loaded
    };
    let mut out = String::new();
    match &local.change {
        local::Change::Reused => {}
        local::Change::NewCa(why) => {
            let _ = writeln!(
                out,
                "Created a new local CA ({why}). Tools that trusted an earlier one must trust this one.\n"
            );
        }
        local::Change::NewLeaf(why) => {
            let _ = writeln!(
                out,
                "Issued a new certificate ({why}); the CA is unchanged.\n"
            );
        }
    }
    let _ = writeln!(out, "Directory  {}", dir.display());
    let _ = writeln!(out, "\nCA certificate (trust this one)");
    let _ = writeln!(out, "  file     {}", local.paths.ca_cert.display());
    let _ = writeln!(out, "  key      {} (0600)", local.paths.ca_key.display());
    let _ = writeln!(
        out,
        "  subject  {}",
        local.ca.common_name.as_deref().unwrap_or("-")
    );
    let _ = writeln!(
        out,
        "  valid    {} to {}",
        tls::date(local.ca.not_before),
        tls::date(local.ca.not_after)
    );
    let _ = writeln!(out, "  SHA-256  {}", local.ca_sha256);
    let leaf = &local.identity.leaf;
    let _ = writeln!(out, "\nServer certificate");
    let _ = writeln!(out, "  file     {}", local.paths.leaf_cert.display());
    let _ = writeln!(out, "  key      {} (0600)", local.paths.leaf_key.display());
    let _ = writeln!(out, "  names    {}", names_text(leaf));
    let _ = writeln!(
        out,
        "  valid    {} to {}",
        tls::date(leaf.not_before),
        tls::date(leaf.not_after)
    );
    let _ = writeln!(out, "  SHA-256  {}", local.identity.leaf_sha256);
    let _ = writeln!(out, "\nTrust it");
    for l in trust_lines(&local.paths.ca_cert, &local.ca_sha256, None)
        .iter()
        .skip(2)
    {
        let _ = writeln!(out, "{l}");
    }
    if let Some(to) = &args.export {
        let path = local::export_ca(&local.paths, to)
            .with_context(|| format!("exporting the CA to {}", to.display()))?;
        let _ = writeln!(out, "\nExported the CA certificate to {}", path.display());
    }
    print!("{out}");
    Ok(Exit::Success)
}
