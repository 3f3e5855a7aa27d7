//! The generated local CA and its leaf certificate.
//!
//! Files live in the user's data directory (`$HOOKLENS_DATA_DIR`, else
//! `$XDG_DATA_HOME/hooklens`, else the platform's equivalent): `ca.pem` (0644, the file users
//! trust), `ca-key.pem`, `localhost.pem` (leaf + CA chain) and `localhost-key.pem` (keys 0600).
//! The CA is kept as long as it is valid so trust survives restarts; the leaf is re-issued by the
//! same CA when its names change or it nears expiry. Files are written to a temporary name and
//! renamed, so a crash never leaves half a key behind.

use std::collections::BTreeSet;
use std::io::Write;
use std::net::IpAddr;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::PrivateKeyDer;
use rustls::pki_types::pem::PemObject;

use crate::net::tls::cert::{Identity, date, fingerprint, load_pem, now_secs, read_certs};
use crate::net::tls::der::{self, CertFields};

/// Environment variable that overrides the data directory (tests, portable setups).
pub const DATA_DIR_ENV: &str = "HOOKLENS_DATA_DIR";
/// Names every generated leaf carries.
pub const DEFAULT_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];
const CA_NAME: &str = "hooklens local CA";
const CA_DAYS: i64 = 3650;
/// Apple platforms reject TLS server certificates valid for longer than 825 days.
const LEAF_DAYS: i64 = 825;
/// Re-issue the leaf this long before it expires, so a long-running listener does not cross it.
const RENEW_BEFORE_SECS: i64 = 7 * 86_400;
const DAY: i64 = 86_400;

/// The user's hooklens data directory.
pub fn data_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os(DATA_DIR_ENV).filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("", "", "hooklens")
        .map(|p| p.data_dir().to_path_buf())
        .ok_or_else(|| {
            anyhow!("cannot find a home directory for hooklens' certificates; set {DATA_DIR_ENV}")
        })
}

/// Where the generated files live.
#[derive(Clone, Debug)]
pub struct Paths {
    /// The CA certificate users trust.
    pub ca_cert: PathBuf,
    /// The CA key (0600).
    pub ca_key: PathBuf,
    /// The leaf certificate followed by the CA.
    pub leaf_cert: PathBuf,
    /// The leaf key (0600).
    pub leaf_key: PathBuf,
}

impl Paths {
    /// The file names under `dir`.
    pub fn new(dir: &Path) -> Paths {
        Paths {
            ca_cert: dir.join("ca.pem"),
            ca_key: dir.join("ca-key.pem"),
            leaf_cert: dir.join("localhost.pem"),
            leaf_key: dir.join("localhost-key.pem"),
        }
    }
}

/// What [`ensure`] did, for the start-up message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// Existing CA and leaf reused.
    Reused,
    /// A new CA (and leaf) was created; it must be trusted again.
    NewCa(String),
    /// The CA was kept and a new leaf issued.
    NewLeaf(String),
}

/// The local CA and leaf, loaded and ready.
#[derive(Debug)]
pub struct Local {
    /// File locations.
    pub paths: Paths,
    /// What the CA says.
    pub ca: CertFields,
    /// SHA-256 of the CA certificate, colon hex.
    pub ca_sha256: String,
    /// The leaf chain and key to serve.
    pub identity: Identity,
    /// What was created this time.
    pub change: Change,
}

/// The leaf's names: the defaults plus `extra`, normalized (lowercase DNS, canonical IPs).
pub fn leaf_names(extra: &[String]) -> Result<Vec<String>> {
    let mut names: Vec<String> = DEFAULT_NAMES.iter().map(|s| (*s).to_owned()).collect();
    for name in extra {
        let n = normalize(name)?;
        if !names.contains(&n) {
            names.push(n);
        }
    }
    Ok(names)
}

fn normalize(name: &str) -> Result<String> {
    let t = name.trim();
    let t = t
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(t);
    if let Ok(ip) = t.parse::<IpAddr>() {
        return Ok(ip.to_string());
    }
    let ok = !t.is_empty()
        && t.len() <= 253
        && t.split('.').enumerate().all(|(i, label)| {
            (i == 0 && label == "*")
                || (!label.is_empty()
                    && label.len() <= 63
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        });
    if !ok {
        bail!(
            "--tls-name {name:?} is not a host name or IP address (e.g. myapp.test, 192.168.1.20, *.dev.test)"
        );
    }
    Ok(t.to_ascii_lowercase())
}

/// The names of `wanted` that `have` lacks (both normalized).
fn missing_names(have: &[String], wanted: &[String]) -> Vec<String> {
    let norm = |v: &[String]| -> BTreeSet<String> {
        v.iter()
            .map(|n| normalize(n).unwrap_or_else(|_| n.clone()))
            .collect()
    };
    let have = norm(have);
    wanted
        .iter()
        .filter(|n| !have.contains(&normalize(n).unwrap_or_else(|_| (*n).clone())))
        .cloned()
        .collect()
}

/// `names` plus the names the current leaf already carries (an earlier `--tls-name`), so a
/// re-issue never drops one.
fn keeping_names(paths: &Paths, names: &[String]) -> Vec<String> {
    let mut all = names.to_vec();
    let earlier = read_certs(&paths.leaf_cert)
        .ok()
        .and_then(|chain| chain.first().and_then(|c| der::parse(c)))
        .map(|f| f.names)
        .unwrap_or_default();
    for name in missing_names(&all.clone(), &earlier) {
        if let Ok(n) = normalize(&name) {
            all.push(n);
        }
    }
    all
}

/// Writes `bytes` to `path` atomically (temp file + rename) with `mode`.
fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        std::process::id()
    ));
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))?;
    Ok(())
}

fn ca_params() -> Result<CertificateParams> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    // The issuer name is rebuilt from here whenever a leaf is re-issued, so it must not vary.
    params
        .distinguished_name
        .push(DnType::OrganizationName, "hooklens");
    params.distinguished_name.push(DnType::CommonName, CA_NAME);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    Ok(params)
}

fn window(now: i64, days: i64) -> Result<(time::OffsetDateTime, time::OffsetDateTime)> {
    // Start a day early so clients with a slightly slow clock accept it at once.
    let start = time::OffsetDateTime::from_unix_timestamp(now - DAY)?;
    let end = time::OffsetDateTime::from_unix_timestamp(now + days * DAY)?;
    Ok((start, end))
}

fn new_ca(paths: &Paths, now: i64) -> Result<()> {
    let key = KeyPair::generate().context("generating the CA key")?;
    let mut params = ca_params()?;
    (params.not_before, params.not_after) = window(now, CA_DAYS)?;
    let cert = params.self_signed(&key).context("signing the CA")?;
    // Key first: a CA certificate without its key on disk would be useless.
    write_file(&paths.ca_key, key.serialize_pem().as_bytes(), 0o600)?;
    write_file(&paths.ca_cert, cert.pem().as_bytes(), 0o644)?;
    Ok(())
}

fn new_leaf(paths: &Paths, names: &[String], now: i64) -> Result<()> {
    let ca_pem = std::fs::read_to_string(&paths.ca_key)
        .with_context(|| format!("reading {}", paths.ca_key.display()))?;
    let ca_key = KeyPair::from_pem(&ca_pem)
        .with_context(|| format!("{} is not a usable key", paths.ca_key.display()))?;
    // Re-signing the stored CA's subject with its own key yields an issuer identical (name and
    // key id) to the CA file on disk, so the new leaf chains to the certificate users trust.
    let issuer = ca_params()?.self_signed(&ca_key)?;
    let ca_der = std::fs::read(&paths.ca_cert)
        .with_context(|| format!("reading {}", paths.ca_cert.display()))?;

    let key = KeyPair::generate().context("generating the certificate key")?;
    let mut params = CertificateParams::new(names.to_vec())
        .with_context(|| format!("building a certificate for {}", names.join(", ")))?;
    params
        .distinguished_name
        .push(DnType::CommonName, "hooklens localhost");
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    (params.not_before, params.not_after) = window(now, LEAF_DAYS)?;
    let leaf = params
        .signed_by(&key, &issuer, &ca_key)
        .context("signing the certificate")?;
    let mut chain = leaf.pem();
    chain.push_str(&String::from_utf8_lossy(&ca_der));
    write_file(&paths.leaf_key, key.serialize_pem().as_bytes(), 0o600)?;
    write_file(&paths.leaf_cert, chain.as_bytes(), 0o644)?;
    Ok(())
}

/// Why the stored CA cannot be used, if it cannot.
fn ca_problem(paths: &Paths, now: i64) -> Option<String> {
    if !paths.ca_cert.exists() || !paths.ca_key.exists() {
        return Some("no local CA yet".into());
    }
    let Ok(certs) = read_certs(&paths.ca_cert) else {
        return Some(format!("{} is unreadable", paths.ca_cert.display()));
    };
    let Some(fields) = certs.first().and_then(|c| der::parse(c)) else {
        return Some(format!("{} is unreadable", paths.ca_cert.display()));
    };
    if fields.not_after <= now + RENEW_BEFORE_SECS {
        return Some(format!("the CA expires on {}", date(fields.not_after)));
    }
    let key_ok = std::fs::read_to_string(&paths.ca_key)
        .ok()
        .and_then(|pem| KeyPair::from_pem(&pem).ok())
        .is_some_and(|k| k.public_key_der() == spki_of(&certs[0]));
    if !key_ok {
        return Some(format!(
            "{} does not belong to {}",
            paths.ca_key.display(),
            paths.ca_cert.display()
        ));
    }
    None
}

fn spki_of(cert: &[u8]) -> Vec<u8> {
    let der = rustls::pki_types::CertificateDer::from(cert.to_vec());
    rustls::server::ParsedCertificate::try_from(&der)
        .map(|p| p.subject_public_key_info().as_ref().to_vec())
        .unwrap_or_default()
}

/// Why the stored leaf must be re-issued, if it must.
fn leaf_problem(paths: &Paths, names: &[String], ca_der: &[u8], now: i64) -> Option<String> {
    let Ok(chain) = read_certs(&paths.leaf_cert) else {
        return Some("no certificate yet".into());
    };
    if PrivateKeyDer::from_pem_file(&paths.leaf_key).is_err() {
        return Some("its key is missing".into());
    }
    // A leaf from an earlier CA would not chain to the trusted one.
    if chain.get(1).map(|c| c.as_ref()) != Some(ca_der) {
        return Some("the CA changed".into());
    }
    let Some(fields) = der::parse(&chain[0]) else {
        return Some("the certificate is unreadable".into());
    };
    if fields.not_after <= now + RENEW_BEFORE_SECS {
        return Some(format!(
            "the certificate expires on {}",
            date(fields.not_after)
        ));
    }
    let added = missing_names(&fields.names, names);
    if !added.is_empty() {
        return Some(format!("new names: {}", added.join(", ")));
    }
    None
}

/// What is wrong with the local CA and leaf in `dir` as they are (missing, unreadable,
/// expiring, not chained to the CA), without changing anything; empty when both are fine.
/// `hooklens cert` shows this and leaves renewal to `listen --tls` and `cert --renew`.
pub fn problems(dir: &Path) -> Vec<String> {
    let paths = Paths::new(dir);
    let now = now_secs();
    if let Some(ca) = ca_problem(&paths, now) {
        return vec![ca];
    }
    let ca_der = match ca_der(&paths) {
        Ok(der) => der,
        Err(e) => return vec![format!("{e:#}")],
    };
    leaf_problem(&paths, &[], &ca_der, now)
        .into_iter()
        .collect()
}

/// Loads the local CA and leaf for `names` (see [`leaf_names`]), creating or re-issuing what is
/// missing, expiring or lacks one of `names`. A re-issued leaf keeps every name the old one
/// had. `regenerate_ca` starts over with a new CA.
pub fn ensure(dir: &Path, names: &[String], regenerate_ca: bool) -> Result<Local> {
    ensure_at(dir, names, regenerate_ca, now_secs())
}

/// [`ensure`] with the clock passed in.
pub fn ensure_at(dir: &Path, names: &[String], regenerate_ca: bool, now: i64) -> Result<Local> {
    create_dir(dir)?;
    // Two hooklens processes starting at once must not each make a CA and overwrite the other's.
    // Best effort: a read-only directory with valid files still works without the lock.
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(dir.join(".lock"))
        .ok();
    if let Some(file) = &lock {
        file.lock()
            .with_context(|| format!("locking {}", dir.display()))?;
    }
    let paths = Paths::new(dir);
    let mut change = Change::Reused;
    let ca_reason = if regenerate_ca {
        Some("--regenerate".to_owned())
    } else {
        ca_problem(&paths, now)
    };
    if let Some(reason) = ca_reason {
        new_ca(&paths, now)?;
        change = Change::NewCa(reason);
    }
    let ca_der = ca_der(&paths)?;
    if let Some(reason) = leaf_problem(&paths, names, &ca_der, now) {
        new_leaf(&paths, &keeping_names(&paths, names), now)?;
        if change == Change::Reused {
            change = Change::NewLeaf(reason);
        }
    }
    let mut local = load(dir)?;
    local.change = change;
    drop(lock);
    Ok(local)
}

/// The CA certificate's DER.
fn ca_der(paths: &Paths) -> Result<Vec<u8>> {
    let chain = read_certs(&paths.ca_cert)?;
    chain
        .first()
        .map(|c| c.as_ref().to_vec())
        .with_context(|| format!("{} holds no certificate", paths.ca_cert.display()))
}

/// The local CA and leaf in `dir` as they are, changing nothing (`change` is
/// [`Change::Reused`]); an error when either is missing or unreadable.
pub fn load(dir: &Path) -> Result<Local> {
    let paths = Paths::new(dir);
    let ca_der = ca_der(&paths)?;
    let mut identity = load_pem(&paths.leaf_cert, &paths.leaf_key)
        .with_context(|| format!("loading the generated certificate in {}", dir.display()))?;
    identity.warnings.clear();
    let ca = der::parse(&ca_der)
        .with_context(|| format!("{} is unreadable", paths.ca_cert.display()))?;
    Ok(Local {
        paths,
        ca,
        ca_sha256: fingerprint(&ca_der),
        identity,
        change: Change::Reused,
    })
}

fn create_dir(dir: &Path) -> Result<()> {
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("creating {}", dir.display()))?;
    }
    Ok(())
}

/// Copies the CA certificate to `dir/hooklens-ca.pem` (0644) and returns the new path.
pub fn export_ca(paths: &Paths, dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let to = dir.join("hooklens-ca.pem");
    let pem = std::fs::read(&paths.ca_cert)
        .with_context(|| format!("reading {}", paths.ca_cert.display()))?;
    write_file(&to, &pem, 0o644)?;
    // Survive a restrictive umask: the whole point is that other tools can read it.
    let _ = std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o644));
    Ok(to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalized_and_checked() {
        let names = leaf_names(&["MyApp.Test".into(), "[::1]".into(), "10.0.0.1".into()]).unwrap();
        assert_eq!(
            names,
            ["localhost", "127.0.0.1", "::1", "myapp.test", "10.0.0.1"]
        );
        assert!(leaf_names(&["bad name".into()]).is_err());
        assert!(leaf_names(&["ünïcode.test".into()]).is_err());
        assert!(leaf_names(&["*.dev.test".into()]).is_ok());
    }

    #[test]
    fn a_leaf_near_expiry_is_reissued_by_the_same_ca() {
        let dir = tempfile::tempdir().unwrap();
        let names = leaf_names(&[]).unwrap();
        let now = now_secs();
        let first = ensure_at(dir.path(), &names, false, now).unwrap();
        assert!(matches!(first.change, Change::NewCa(_)));
        let later = now + (LEAF_DAYS - 3) * DAY;
        let second = ensure_at(dir.path(), &names, false, later).unwrap();
        assert!(matches!(second.change, Change::NewLeaf(ref r) if r.contains("expires")));
        assert_eq!(first.ca_sha256, second.ca_sha256);
        assert_ne!(first.identity.leaf_sha256, second.identity.leaf_sha256);
    }

    #[test]
    fn concurrent_starts_agree_on_one_ca() {
        let dir = tempfile::tempdir().unwrap();
        let names = leaf_names(&[]).unwrap();
        let fingerprints: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| s.spawn(|| ensure(dir.path(), &names, false).unwrap().ca_sha256))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(
            fingerprints.iter().all(|f| *f == fingerprints[0]),
            "{fingerprints:?}"
        );
    }

    #[test]
    fn an_expiring_ca_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let names = leaf_names(&[]).unwrap();
        let now = now_secs();
        let first = ensure_at(dir.path(), &names, false, now).unwrap();
        let second = ensure_at(dir.path(), &names, false, now + CA_DAYS * DAY).unwrap();
        assert!(matches!(second.change, Change::NewCa(ref r) if r.contains("expires")));
        assert_ne!(first.ca_sha256, second.ca_sha256);
    }
}
