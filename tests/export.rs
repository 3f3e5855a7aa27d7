//! `hooklens export --curl`: the printed command, run by a real shell and a real curl against
//! a listener, reproduces the request byte for byte.

mod common;

use std::process::Command;

use hooklens::model::capture::CaptureId;
use hooklens::net::server::ListenConfig;

#[test]
fn curl_command_reproduces_the_request_byte_for_byte() {
    if !common::require_tool("curl") || !common::require_tool("bash") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let source_log = dir.path().join("source.jsonl");
    let rt = tokio::runtime::Runtime::new().unwrap();
    // Two hostile bodies: one with control bytes and invalid UTF-8 (quoted inline), one with
    // NUL bytes (which no shell argument can carry).
    let bodies: [&[u8]; 2] = [
        b"{\"a\":\"\x1b[31m'quoted' \\\\ \xff\xfe\"}\n",
        b"\x00\x01binary\x00\xff",
    ];
    let source = rt.block_on(common::start(ListenConfig::default(), Some(&source_log)));
    for body in bodies {
        rt.block_on(common::post(
            &source.url("/hook?x=1&y=%20"),
            &[
                ("X-ModelGates-Signature", "t=1,v1=abc"),
                ("Content-Type", "application/json"),
                ("X-Empty", ""),
            ],
            body.to_vec(),
        ));
    }
    let source_addr = source.addr.to_string();
    rt.block_on(source.stop());

    let target = rt.block_on(common::start(ListenConfig::default(), None));
    for (n, with_file) in [(1u64, false), (2, false), (1, true)] {
        let mut export = common::hooklens();
        export
            .args(["export", "--curl", &n.to_string(), "--store"])
            .arg(&source_log);
        let body_file = dir.path().join(format!("body-{n}.bin"));
        if with_file {
            export.arg("--body-file").arg(&body_file);
        }
        let out = export.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let cmd = String::from_utf8(out.stdout).unwrap();
        assert!(
            cmd.is_ascii() && !cmd.contains('\x1b'),
            "command is terminal-safe: {cmd}"
        );
        // Point the command at the second listener instead of the first.
        let cmd = cmd.replace(&source_addr, &target.addr.to_string());
        let run = Command::new("bash").arg("-c").arg(&cmd).output().unwrap();
        assert!(
            run.status.success(),
            "{cmd}\n{}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
    let original = hooklens::store::Store::open_readonly(&source_log).unwrap();
    for (replayed, from) in [(1u64, 1u64), (2, 2), (3, 1)] {
        let a = original.load(CaptureId(from)).unwrap().capture;
        let b = target.store.load(CaptureId(replayed)).unwrap().capture;
        assert_eq!(b.body, a.body, "body of #{from}");
        assert_eq!((&b.method, &b.target), (&a.method, &a.target));
        let names = |c: &hooklens::model::capture::Capture| -> Vec<(String, Vec<u8>)> {
            c.headers
                .iter()
                .filter(|h| {
                    !["host", "content-length", "user-agent", "accept"]
                        .contains(&h.name.to_ascii_lowercase().as_str())
                })
                .map(|h| (h.name.to_ascii_lowercase(), h.value.to_vec()))
                .collect()
        };
        assert_eq!(names(&b), names(&a), "headers of #{from}");
    }
    rt.block_on(target.stop());
}

/// Sends one request with `target` as its raw request target (no client parses it first).
async fn post_raw(addr: std::net::SocketAddr, target: &str) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "POST {target} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).await.unwrap();
    assert!(
        answer.starts_with(b"HTTP/1.1 2"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
}

#[test]
fn curl_command_keeps_every_path_exactly() {
    if !common::require_tool("curl") || !common::require_tool("bash") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let source_log = dir.path().join("source.jsonl");
    let rt = tokio::runtime::Runtime::new().unwrap();
    // curl would glob `[1-2]` and `{a,b}` (exit 3, or two requests) and squash `/../`.
    let targets = [
        "/hook/[1-2]/x?ids[]=1&ids[]=2",
        "/hook/{a,b}/{}",
        "/a/../b/./c//d",
        "/%5B%5D%7B%7D?q=%20",
    ];
    let source = rt.block_on(common::start(ListenConfig::default(), Some(&source_log)));
    for t in targets {
        rt.block_on(post_raw(source.addr, t));
    }
    let source_addr = source.addr.to_string();
    rt.block_on(source.stop());

    let target = rt.block_on(common::start(ListenConfig::default(), None));
    for (n, want) in targets.iter().enumerate() {
        let out = common::hooklens()
            .args(["export", "--curl", &(n + 1).to_string(), "--store"])
            .arg(&source_log)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let cmd = String::from_utf8(out.stdout)
            .unwrap()
            .replace(&source_addr, &target.addr.to_string());
        let run = Command::new("bash").arg("-c").arg(&cmd).output().unwrap();
        assert!(
            run.status.success(),
            "{cmd}\n{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let got = target.store.load(CaptureId(n as u64 + 1)).unwrap().capture;
        assert_eq!(&got.target, want, "{cmd}");
    }
    assert_eq!(
        target.store.index().len(),
        targets.len(),
        "one request each"
    );
    rt.block_on(target.stop());
}
