//! The source tree keeps its architecture: which room may import which, no import circles
//! between files, no `process::exit` outside `main.rs`, no file over 800 lines.
//!
//! The rooms, bottom up (see `src/lib.rs`): `model` imports nothing of the crate; the pure
//! rooms (`model`, `verify`, `envelope`, `sanitize`, `fmt`, `export`, `filter`) import only
//! pure rooms; `store` imports only pure rooms; `net` imports `store` and pure rooms; `front`
//! imports `store`, pure rooms and (the inspector's replay) `net`; `cmd` sits on top.
//!
//! Imports are read from the source text: every `crate::…`, `super::…` and `self::…` path,
//! and the paths of `use` items relative to a module's own children, resolved to the file
//! that defines the module.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const PURE: &[&str] = &[
    "model", "verify", "envelope", "sanitize", "fmt", "export", "filter",
];
const MAX_LINES: usize = 800;

/// Module path (e.g. `["store", "index"]`) → file.
fn modules(src: &Path) -> BTreeMap<Vec<String>, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src).unwrap();
            let mut parts: Vec<String> = rel
                .iter()
                .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
                .collect();
            if parts.last().is_some_and(|l| l == "mod" || l == "lib") {
                parts.pop();
            }
            if parts == ["main"] {
                continue;
            }
            out.insert(parts, path);
        }
    }
    out
}

/// The source without comments and string literals (so examples in docs are not imports).
fn code_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            i += 2;
            while i < b.len() && !b[i..].starts_with(b"*/") {
                i += 1;
            }
            i += 2;
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if b[i] == b'\'' && i + 2 < b.len() && (b[i + 2] == b'\'' || b[i + 1] == b'\\') {
            // A char literal such as '"' or '\''; lifetimes ('a) are left alone.
            if b[i + 1] == b'\\' {
                let mut j = i + 3;
                while j < b.len() && b[j] != b'\'' {
                    j += 1;
                }
                i = j + 1;
            } else {
                i += 3;
            }
            out.push_str("' '");
        } else {
            let ch = text[i..].chars().next().unwrap();
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// Paths (as segment lists) that a file refers to, each starting from the crate root.
fn referenced_paths(
    module: &[String],
    code: &str,
    children: &BTreeSet<String>,
) -> Vec<Vec<String>> {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = Vec::new();
    // Expand `use a::{b, c::{d}}` groups into single paths first.
    let mut flat = String::new();
    for stmt in code.split(';') {
        let t = stmt.trim_start();
        let t = t
            .strip_prefix("pub(crate) ")
            .or(t.strip_prefix("pub "))
            .unwrap_or(t);
        if let Some(rest) = t.strip_prefix("use ") {
            for p in expand_use(rest.trim()) {
                flat.push_str(&p);
                flat.push('\n');
            }
        } else {
            flat.push_str(stmt);
            flat.push('\n');
        }
    }
    let chars: Vec<char> = flat.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if !is_ident(chars[i]) || (i > 0 && (is_ident(chars[i - 1]) || chars[i - 1] == ':')) {
            i += 1;
            continue;
        }
        // Read a path a::b::c starting here.
        let mut segs = Vec::new();
        let mut j = i;
        loop {
            let start = j;
            while j < chars.len() && is_ident(chars[j]) {
                j += 1;
            }
            segs.push(chars[start..j].iter().collect::<String>());
            if j + 2 < chars.len()
                && chars[j] == ':'
                && chars[j + 1] == ':'
                && is_ident(chars[j + 2])
            {
                j += 2;
            } else {
                break;
            }
        }
        i = j.max(i + 1);
        if segs.len() < 2 {
            continue;
        }
        let resolved = match segs[0].as_str() {
            "crate" => segs[1..].to_vec(),
            "self" => [module.to_vec(), segs[1..].to_vec()].concat(),
            "super" => {
                let mut base = module.to_vec();
                let mut k = 0;
                while k < segs.len() && segs[k] == "super" {
                    base.pop();
                    k += 1;
                }
                [base, segs[k..].to_vec()].concat()
            }
            first if children.contains(first) => [module.to_vec(), segs.clone()].concat(),
            _ => continue,
        };
        out.push(resolved);
    }
    out
}

/// `a::{b, c::{d, e}}` → `a::b`, `a::c::d`, `a::c::e`.
fn expand_use(text: &str) -> Vec<String> {
    let text: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(open) = text.find('{') else {
        return vec![text];
    };
    let prefix = &text[..open];
    let inner = &text[open + 1..text.rfind('}').unwrap_or(text.len())];
    let mut parts = Vec::new();
    let mut depth = 0;
    let mut cur = String::new();
    for c in inner.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    parts.push(cur);
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .flat_map(|p| expand_use(&format!("{prefix}{p}")))
        .collect()
}

/// The module a crate path lands in: its longest prefix that is a module.
fn owner(path: &[String], mods: &BTreeMap<Vec<String>, PathBuf>) -> Option<Vec<String>> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|p| mods.contains_key(p))
}

struct Graph {
    mods: BTreeMap<Vec<String>, PathBuf>,
    /// File module → the modules it imports (other than itself).
    edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
}

fn graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mods = modules(&src);
    let mut edges = BTreeMap::new();
    for (module, file) in &mods {
        let code = code_only(&std::fs::read_to_string(file).unwrap());
        let children: BTreeSet<String> = mods
            .keys()
            .filter(|k| k.len() == module.len() + 1 && k.starts_with(module))
            .map(|k| k.last().unwrap().clone())
            .collect();
        let mut to = BTreeSet::new();
        for path in referenced_paths(module, &code, &children) {
            if let Some(target) = owner(&path, &mods)
                && &target != module
                && !target.is_empty()
            {
                // `pub mod x;` names no path, so declaring a child is not an import; using
                // `x::f` is, and so is a child reaching `super::`.
                to.insert(target);
            }
        }
        edges.insert(module.clone(), to);
    }
    Graph { mods, edges }
}

fn room(module: &[String]) -> &str {
    module.first().map_or("", String::as_str)
}

fn allowed(from: &str, to: &str) -> bool {
    if from == to {
        return true;
    }
    let pure = |r: &str| PURE.contains(&r);
    match from {
        "model" => false,
        r if pure(r) => pure(to) && to != from,
        "store" => pure(to),
        "net" => pure(to) || to == "store",
        "front" => pure(to) || to == "store" || to == "net",
        "cmd" => true,
        _ => false,
    }
}

#[test]
fn every_import_goes_down_the_rooms() {
    let g = graph();
    let mut wrong = Vec::new();
    for (from, tos) in &g.edges {
        for to in tos {
            if !allowed(room(from), room(to)) {
                wrong.push(format!("{} imports {}", from.join("::"), to.join("::")));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layout:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_model_imports_nothing_of_the_crate() {
    let g = graph();
    for (from, tos) in &g.edges {
        if room(from) == "model" {
            let outside: Vec<_> = tos.iter().filter(|t| room(t) != "model").collect();
            assert!(
                outside.is_empty(),
                "{} imports {outside:?}",
                from.join("::")
            );
        }
    }
}

#[test]
fn there_are_no_import_circles_between_files() {
    let g = graph();
    // A depth-first walk; every back edge is a circle.
    fn visit(
        n: &Vec<String>,
        g: &Graph,
        state: &mut BTreeMap<Vec<String>, u8>,
        stack: &mut Vec<Vec<String>>,
        cycles: &mut Vec<String>,
    ) {
        state.insert(n.clone(), 1);
        stack.push(n.clone());
        for m in g.edges.get(n).into_iter().flatten() {
            match state.get(m).copied().unwrap_or(0) {
                0 => visit(m, g, state, stack, cycles),
                1 => {
                    let at = stack.iter().position(|s| s == m).unwrap();
                    let names: Vec<String> = stack[at..].iter().map(|s| s.join("::")).collect();
                    cycles.push(format!("{} -> {}", names.join(" -> "), m.join("::")));
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(n.clone(), 2);
    }
    let mut state = BTreeMap::new();
    let mut cycles = Vec::new();
    for n in g.mods.keys() {
        if state.get(n).copied().unwrap_or(0) == 0 {
            visit(n, &g, &mut state, &mut Vec::new(), &mut cycles);
        }
    }
    assert!(cycles.is_empty(), "import circles:\n{}", cycles.join("\n"));
}

#[test]
fn only_main_exits_the_process() {
    let g = graph();
    let offenders: Vec<String> = g
        .mods
        .values()
        .filter(|f| code_only(&std::fs::read_to_string(f).unwrap()).contains("process::exit"))
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        offenders.is_empty(),
        "process::exit outside main.rs: {offenders:?}"
    );
}

#[test]
fn no_source_file_is_over_800_lines() {
    let g = graph();
    let long: Vec<String> = g
        .mods
        .values()
        .filter_map(|f| {
            let n = std::fs::read_to_string(f).unwrap().lines().count();
            (n > MAX_LINES).then(|| format!("{} ({n} lines)", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "files over {MAX_LINES} lines: {long:?}");
}

#[test]
fn the_checker_sees_a_forbidden_import() {
    // The rules above would be worthless if the reader missed imports: feed it one.
    let module = vec!["model".to_string(), "capture".to_string()];
    let code = code_only(
        "use crate::store::{Store, tail::Waiter};\n// use crate::net::client;\nfn f() { let s = \"crate::front::x\"; crate::verify::verify(); }",
    );
    let paths = referenced_paths(&module, &code, &BTreeSet::new());
    let rooms: BTreeSet<&str> = paths.iter().map(|p| p[0].as_str()).collect();
    assert_eq!(rooms, BTreeSet::from(["store", "verify"]));
    assert!(!allowed("model", "store"));
    assert!(!allowed("store", "net"));
    assert!(!allowed("net", "front"));
    assert!(!allowed("verify", "store"));
    assert!(allowed("cmd", "front"));
}
