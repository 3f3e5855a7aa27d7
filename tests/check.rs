//! `hooklens check`: the real binary grades real receivers on 127.0.0.1:0, written here: the
//! guide's Step 1 receiver (its real code, mistakes included), one that re-serializes the JSON
//! before verifying, one that accepts everything, a correct one for every scheme, a slow one,
//! and no receiver at all.

mod common;

use std::process::Output;
use std::time::Duration;

use common::{Receiver, Response, Seen, Setup, always, hooklens, respond};
use hmac::{Hmac, Mac};
use hooklens::model::capture::Header;
use hooklens::model::secret::Secret;
use hooklens::net::server::ListenConfig;
use hooklens::verify::{Outcome, SchemeChoice, VerifyConfig};
use rstest::rstest;
use serde_json::Value;
use sha2::Sha256;

const SECRET: &str = "dev_secret";
const PATH: &str = "/modelgates/video-webhook";

/// Every case that expects a rejection, for ModelGates.
const NEGATIVE: [&str; 10] = [
    "wrong-secret",
    "tampered-body",
    "stale",
    "future",
    "missing-header",
    "empty-header",
    "no-t",
    "no-v1",
    "non-numeric-t",
    "wrong-unit",
];

fn check(url: &str, extra: &[&str]) -> Output {
    let mut cmd = hooklens();
    cmd.args(["check", url, "--secret", SECRET, "--json"])
        .args(extra);
    cmd.output().unwrap()
}

/// The JSON lines of a run: the case objects and the summary.
fn report(out: &Output) -> (Vec<Value>, Value) {
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    let mut lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let summary = lines.pop().expect("a summary line");
    assert_eq!(summary["kind"], "summary", "{text}");
    assert!(lines.iter().all(|l| l["kind"] == "case"));
    (lines, summary)
}

fn failed(cases: &[Value]) -> Vec<String> {
    cases
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect()
}

fn seen_key(seen: &Seen) -> Option<String> {
    seen.header("X-ModelGates-Idempotency-Key")
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

fn now_secs() -> i64 {
    common::now_secs()
}

/// JavaScript's `Number(string)`: whitespace trimmed, `""` is 0, decimal literals with an
/// optional exponent, `0x`/`0o`/`0b` integers, `Infinity`; anything else is NaN.
fn js_number(s: &str) -> f64 {
    let t = s.trim();
    if t.is_empty() {
        return 0.0;
    }
    for (prefix, radix) in [
        ("0x", 16),
        ("0X", 16),
        ("0o", 8),
        ("0O", 8),
        ("0b", 2),
        ("0B", 2),
    ] {
        if let Some(digits) = t.strip_prefix(prefix) {
            return u64::from_str_radix(digits, radix).map_or(f64::NAN, |v| v as f64);
        }
    }
    match t {
        "Infinity" | "+Infinity" => return f64::INFINITY,
        "-Infinity" => return f64::NEG_INFINITY,
        _ => {}
    }
    if !t.bytes().all(|b| b"0123456789+-.eE".contains(&b)) {
        return f64::NAN;
    }
    t.parse().unwrap_or(f64::NAN)
}

/// The guide's Step 1 receiver (modelgates-video-webhooks.txt), line by line:
///
/// ```ts
/// app.post("/modelgates/video-webhook", express.raw({ type: "application/json" }), (req, res) => {
///   const signature = req.header("X-ModelGates-Signature");
///   if (!signature || !verifyModelGatesSignature(req.body, signature)) return res.sendStatus(401);
///   const event = JSON.parse(req.body.toString("utf8"));
///   …
///   res.sendStatus(204);
/// });
/// ```
///
/// with `verifyModelGatesSignature` splitting the header on `,`, trimming, taking the *first*
/// part starting `t=` and the *first* starting `v1=`, refusing when either is empty, when
/// `Number(t)` is NaN or more than 300 s from `Math.floor(Date.now() / 1000)`, then comparing
/// the hex HMAC-SHA256 of `` `${timestamp},` `` + raw body (lengths first, then
/// `timingSafeEqual`, which throws on a byte-length mismatch). And what Express does around
/// it: `express.raw` reads the body only for a matching media type (parameters such as
/// `charset` ignored) and refuses one over its default `limit: "100kb"` with 413; a thrown
/// error is a 500.
fn guide_receiver(seen: &Seen) -> Response {
    if seen.method != "POST" || seen.uri.path() != PATH {
        return respond(404, "Cannot POST");
    }
    let media_type = seen
        .header("content-type")
        .map(|v| String::from_utf8_lossy(v).to_ascii_lowercase())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_owned());
    let parsed = media_type.as_deref() == Some("application/json");
    if parsed && seen.body.len() > 100 * 1024 {
        return respond(413, "PayloadTooLargeError: request entity too large");
    }
    // Without a match req.body is `{}`, and Buffer.concat throws on it further down.
    let raw_body = parsed.then_some(&seen.body);
    let signature = seen
        .header("X-ModelGates-Signature")
        .map(|v| String::from_utf8_lossy(v).into_owned());
    let Some(signature) = signature.filter(|s| !s.is_empty()) else {
        return respond(401, "Unauthorized");
    };
    let parts: Vec<&str> = signature.split(',').map(str::trim).collect();
    let timestamp = parts.iter().find_map(|p| p.strip_prefix("t="));
    let sig = parts.iter().find_map(|p| p.strip_prefix("v1="));
    let (Some(timestamp), Some(sig)) = (timestamp, sig) else {
        return respond(401, "Unauthorized");
    };
    if timestamp.is_empty() || sig.is_empty() {
        return respond(401, "Unauthorized");
    }
    let age = now_secs() as f64 - js_number(timestamp);
    if age.is_nan() || age.abs() > 300.0 {
        return respond(401, "Unauthorized");
    }
    let Some(raw_body) = raw_body else {
        return respond(500, "TypeError: list argument must be an Array of Buffers");
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{timestamp},").as_bytes());
    mac.update(raw_body);
    let expected = hex::encode(mac.finalize().into_bytes());
    if expected.len() != sig.encode_utf16().count() {
        return respond(401, "Unauthorized");
    }
    if expected.len() != sig.len() {
        return respond(
            500,
            "RangeError: Input buffers must have the same byte length",
        );
    }
    if expected.as_bytes() != sig.as_bytes() {
        return respond(401, "Unauthorized");
    }
    if serde_json::from_slice::<Value>(raw_body).is_err() {
        return respond(500, "SyntaxError: Unexpected token in JSON");
    }
    respond(204, "")
}

/// A receiver that verifies correctly (hooklens' own verifier, the scheme forced).
fn correct(scheme: SchemeChoice, secret: &str, reject: u16, seen: &Seen, body: &[u8]) -> Response {
    let headers: Vec<Header> = seen
        .headers
        .iter()
        .map(|(n, v)| Header::new(n.clone(), v.clone()))
        .collect();
    let cfg = VerifyConfig {
        secrets: vec![Secret::new(secret).unwrap()],
        scheme,
        ..Default::default()
    };
    match hooklens::verify::verify(&headers, body, &cfg, now_secs()).outcome {
        Outcome::Valid => respond(204, ""),
        _ if reject == 403 => respond(403, "Forbidden"),
        _ => respond(401, "Unauthorized"),
    }
}

fn url(r: &Receiver) -> String {
    format!("{}{PATH}", r.url())
}

#[test]
fn the_guides_receiver_fails_rotation_and_the_large_body_only() {
    let r = Receiver::start(guide_receiver);
    let out = check(&url(&r), &[]);
    let (cases, summary) = report(&out);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(failed(&cases), ["rotation", "large-body"]);
    let why = |name: &str| {
        let c = cases.iter().find(|c| c["name"] == name).unwrap();
        c["why"].as_str().unwrap().to_owned()
    };
    assert!(why("rotation").contains("checks only the first one"));
    assert!(why("large-body").contains("body size limit"));
    let large = cases.iter().find(|c| c["name"] == "large-body").unwrap();
    assert_eq!(large["got"]["status"], 413);
    assert_eq!(summary["passed"], 19);
    assert_eq!(summary["total"], 21);
    // Every delivery is recognisable in the receiver's logs: check-<case>-<run>.
    let run = summary["run"].as_str().unwrap();
    let seen = r.seen();
    let keys: Vec<String> = seen.iter().filter_map(seen_key).collect();
    assert!(keys.contains(&format!("check-valid-{run}")), "{keys:?}");
    assert_eq!(
        keys.iter()
            .filter(|k| **k == format!("check-duplicate-{run}"))
            .count(),
        2
    );
    let valid = seen
        .iter()
        .find(|s| seen_key(s).as_deref() == Some(&*format!("check-valid-{run}")))
        .unwrap();
    let body: Value = serde_json::from_slice(&valid.body).unwrap();
    assert_eq!(body["data"]["id"], format!("check-valid-{run}"));
    assert!(seen.iter().all(|s| s.path() == PATH));
    let _ = r.expect(21);
}

#[test]
fn a_receiver_that_re_serializes_before_verifying_fails_exactly_the_byte_exact_case() {
    let r = Receiver::start(|seen: &Seen| {
        // JSON.stringify(JSON.parse(body)), then a correct verification over that.
        match serde_json::from_slice::<Value>(&seen.body) {
            Ok(v) => correct(
                SchemeChoice::Modelgates,
                SECRET,
                401,
                seen,
                &serde_json::to_vec(&v).unwrap(),
            ),
            Err(_) => respond(400, "not JSON"),
        }
    });
    let out = check(&url(&r), &[]);
    let (cases, _) = report(&out);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(failed(&cases), ["byte-exact"]);
    let c = cases.iter().find(|c| c["name"] == "byte-exact").unwrap();
    assert_eq!(
        c["why"],
        "rejected a byte-exact body that the signature covers: the body is probably re-serialized before verification"
    );
    let _ = r.expect(21);
}

#[test]
fn a_receiver_that_accepts_everything_fails_every_negative_case() {
    let r = Receiver::start(always(204, ""));
    let out = check(&url(&r), &[]);
    let (cases, _) = report(&out);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(failed(&cases), NEGATIVE);
    let tampered = cases.iter().find(|c| c["name"] == "tampered-body").unwrap();
    assert_eq!(
        tampered["why"],
        "accepted a tampered body: it does not verify the signature"
    );
    assert_eq!(tampered["expected"], "401");
    assert_eq!(tampered["got"]["status"], 204);
    let _ = r.expect(21);
}

#[rstest]
#[case::modelgates("modelgates", SchemeChoice::Modelgates, 21)]
#[case::standard("standard", SchemeChoice::Standard, 21)]
#[case::stripe("stripe", SchemeChoice::Stripe, 19)]
#[case::github("github", SchemeChoice::Github, 14)]
#[case::slack("slack", SchemeChoice::Slack, 20)]
#[case::shopify("shopify", SchemeChoice::Shopify, 13)]
#[case::paddle("paddle", SchemeChoice::Paddle, 19)]
#[case::linear("linear", SchemeChoice::Linear, 18)]
#[case::twitch("twitch", SchemeChoice::Twitch, 19)]
#[case::zoom("zoom", SchemeChoice::Zoom, 16)]
#[case::vercel("vercel", SchemeChoice::Vercel, 13)]
#[case::woocommerce("woocommerce", SchemeChoice::Woocommerce, 13)]
#[case::intercom("intercom", SchemeChoice::Intercom, 14)]
fn a_correct_receiver_passes_every_case_of_its_scheme(
    #[case] name: &str,
    #[case] scheme: SchemeChoice,
    #[case] cases: u64,
) {
    const KEY: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let r = Receiver::start(move |seen: &Seen| correct(scheme, KEY, 401, seen, &seen.body));
    let mut cmd = hooklens();
    cmd.args([
        "check",
        &r.url(),
        "--secret",
        KEY,
        "--json",
        "--scheme",
        name,
    ]);
    let out = cmd.output().unwrap();
    let (lines, summary) = report(&out);
    assert_eq!(failed(&lines), Vec::<String>::new());
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        (summary["total"].as_u64(), summary["scheme"].as_str()),
        (Some(cases), Some(name))
    );
    // No path in the URL: every delivery goes to `/`.
    assert!(r.seen().iter().all(|s| s.path() == "/"));
    if name == "github" {
        let names: Vec<&str> = lines.iter().map(|l| l["name"].as_str().unwrap()).collect();
        assert!(
            !names
                .iter()
                .any(|n| n.contains("stale") || n.contains("future"))
        );
    }
    let _ = r.expect(cases as usize);
}

/// `hooklens listen --scheme S --secret K` (the real listener, in this process, answering by
/// verdict) is a correct receiver: every case of the scheme passes, with the scheme's own
/// window and timestamp form (Paddle 5 s in `ts=`, Linear ±60 s in the body's
/// `webhookTimestamp` in ms, Twitch 600 s in RFC 3339).
#[rstest]
#[case::paddle("paddle", SchemeChoice::Paddle, 19, "5 s, old only")]
#[case::linear("linear", SchemeChoice::Linear, 18, "60 s either way")]
#[case::twitch("twitch", SchemeChoice::Twitch, 19, "600 s, old only")]
fn hooklens_listen_passes_every_case_of_its_scheme(
    #[case] name: &str,
    #[case] scheme: SchemeChoice,
    #[case] cases: u64,
    #[case] window: &str,
) {
    const KEY: &str = "a-receiver-secret";
    let rt = tokio::runtime::Runtime::new().unwrap();
    let config = ListenConfig {
        verify: VerifyConfig {
            secrets: vec![Secret::new(KEY).unwrap()],
            scheme,
            ..Default::default()
        },
        ..Default::default()
    };
    let l = rt.block_on(common::start(config, None));
    let run = |json: bool| {
        let mut cmd = hooklens();
        cmd.args(["check", &l.url(PATH), "--secret", KEY, "--scheme", name]);
        if json {
            cmd.arg("--json");
        }
        cmd.output().unwrap()
    };
    let out = run(true);
    let (lines, summary) = report(&out);
    assert_eq!(failed(&lines), Vec::<String>::new());
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(summary["total"].as_u64(), Some(cases));
    let names: Vec<&str> = lines.iter().map(|l| l["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"fresh") && names.contains(&"stale"));
    // The report card names the window it graded against.
    let out = run(false);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.lines()
            .next()
            .unwrap()
            .contains(&format!("scheme {name} (timestamps {window})")),
        "{text}"
    );
    assert_eq!(out.status.code(), Some(0), "{text}");
    rt.block_on(l.stop());
}

#[test]
fn an_answer_slower_than_the_provider_timeout_is_flagged_as_retried() {
    let r = Receiver::start_with(
        Setup {
            delay: Duration::from_secs(1),
            ..Setup::default()
        },
        guide_receiver,
    );
    let mut cmd = hooklens();
    cmd.args(["check", &url(&r), "--secret", SECRET]).args([
        "--only",
        "valid,slow",
        "--provider-timeout",
        "300ms",
    ]);
    let out = cmd.output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[1].starts_with("✓ valid") && lines[1].contains("got 204"),
        "{text}"
    );
    assert!(
        lines[1].ends_with("⏱ over the 0.3 s provider timeout: a provider would retry"),
        "{text}"
    );
    assert!(
        lines[2].starts_with("✗ slow            expected under 0.3 s"),
        "{text}"
    );
    assert!(
        lines[3].contains("1 of 1 answers took longer than the provider's 0.3 s timeout, so a provider would have retried them: valid ("),
        "{text}"
    );
    assert_eq!(lines[4], "1/2 passed");
    let _ = r.expect(1);
}

#[test]
fn an_unreachable_receiver_exits_2_with_one_line() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = check(&format!("http://127.0.0.1:{port}/hook"), &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "hooklens: error: cannot reach the receiver at http://127.0.0.1:{port}/hook:"
        )),
        "{stderr}"
    );
    assert!(String::from_utf8(out.stdout).unwrap().is_empty());
}

#[test]
fn reject_status_names_the_statuses_a_rejection_may_have() {
    let r = Receiver::start(|seen: &Seen| {
        correct(SchemeChoice::Modelgates, SECRET, 403, seen, &seen.body)
    });
    let only = ["--only", "valid,wrong-secret,tampered-body"];
    let out = check(&url(&r), &only);
    let (cases, _) = report(&out);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(failed(&cases), ["wrong-secret", "tampered-body"]);
    assert_eq!(
        cases[1]["why"],
        "answered 403, not 401: if 403 is on purpose, pass --reject-status 403"
    );
    let out = check(
        &url(&r),
        &[&only[..], &["--reject-status", "401,403"]].concat(),
    );
    let (cases, summary) = report(&out);
    assert_eq!(out.status.code(), Some(0), "{cases:?}");
    assert_eq!(cases[1]["expected"], "401|403");
    assert_eq!(summary["passed"], 3);
    let _ = r.expect(6);
}

#[test]
fn only_and_skip_choose_the_cases_and_the_url_is_the_endpoint() {
    let r = Receiver::start(guide_receiver);
    let out = check(&format!("{}?tenant=7", url(&r)), &["--only", "valid"]);
    let (cases, summary) = report(&out);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(cases.len(), 1);
    assert_eq!(summary["failed"], serde_json::json!([]));
    let out = check(
        &url(&r),
        &["--skip", "large-body,rotation", "--skip", "slow"],
    );
    let (cases, _) = report(&out);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(cases.len(), 18);
    let paths: Vec<String> = r.seen().iter().map(|s| s.path().to_owned()).collect();
    assert_eq!(paths[0], format!("{PATH}?tenant=7"));
    // 18 cases, the duplicate sends twice.
    let _ = r.expect(1 + 19);
}

#[rstest]
#[case::unknown(&["--only", "valid,nope"], "--only \"nope\": no such case (cases: valid, failed")]
#[case::not_for_the_scheme(&["--only", "stale-301s", "--scheme", "github"], "stale does not apply to github: it signs no timestamp")]
#[case::future_for_paddle(&["--only", "future", "--scheme", "paddle"], "future does not apply to paddle: its receivers refuse only old timestamps")]
#[case::no_t_for_linear(&["--only", "no-t", "--scheme", "linear"], "no-t does not apply to linear: a body without webhookTimestamp is not checked")]
#[case::mailgun(&["--scheme", "mailgun"], "--scheme mailgun is not supported: Mailgun signs inside the body")]
#[case::both(&["--only", "valid", "--skip", "slow"], "cannot be used with")]
#[case::no_scheme_in_url_never_sends(&[], "the URL must start with http:// or https://")]
fn usage_errors_exit_2_and_send_nothing(#[case] extra: &[&str], #[case] says: &str) {
    let target = if extra.is_empty() {
        "ftp://127.0.0.1/hook"
    } else {
        "http://127.0.0.1:9/hook"
    };
    let out = check(target, extra);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains(says), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn no_secret_is_a_usage_error() {
    let out = hooklens()
        .args(["check", "http://127.0.0.1:9/"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("check needs --secret")
    );
}
