//! The workspace's code flows one way: no module uses one that uses it,
//! directly or around a loop. Read from the source as text: a module is a
//! file, and it uses every module a `crate::` or `super::` path in its code
//! (not its comments, not its tests) names.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const CRATES: [&str; 3] = ["src", "standins/src", "bench/src"];

type Module = Vec<String>;

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// `a/b.rs` and `a/b/mod.rs` are `a::b`; `lib.rs` and `main.rs` the root.
fn module_of(root: &Path, file: &Path) -> Module {
    let relative = file.strip_prefix(root).unwrap().with_extension("");
    let mut parts: Module = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
        parts.pop();
    }
    parts
}

/// The code of a file, without comments and without its `mod tests`.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]\nmod tests {").next().unwrap_or_default();
    text.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Where a path that starts so points from `here`: `crate`, `super`,
/// `self`, or a child module of `here` (`use table::Kind` in a mod.rs).
fn resolve(first: &str, rest: &[&str], here: &Module) -> Module {
    let mut base = match first {
        "crate" => Module::new(),
        "super" => {
            let mut parent = here.clone();
            parent.pop();
            parent
        }
        "self" => here.clone(),
        child => {
            let mut module = here.clone();
            module.push(child.to_owned());
            module
        }
    };
    base.extend(rest.iter().map(|p| p.to_string()));
    base
}

/// `a::{b, c::{d, e}}` as `a::b`, `a::c::d`, `a::c::e`.
fn expand(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        return vec![tree.split(" as ").next().unwrap_or_default().trim().to_owned()];
    };
    let prefix = &tree[..open];
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let (mut parts, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.trim().is_empty())
        .flat_map(|p| expand(p).into_iter().map(move |e| format!("{prefix}{e}")))
        .collect()
}

/// The module paths `code` names: its `use` trees, and every `crate::…`
/// and `super::…` path in its body.
fn paths(code: &str, here: &Module) -> Vec<Module> {
    let mut named: Vec<String> = Vec::new();
    for statement in code.split(';') {
        if let Some(tree) = statement.trim_start().strip_prefix("use ").or_else(|| {
            statement
                .trim_start()
                .strip_prefix("pub(crate) use ")
                .or_else(|| statement.trim_start().strip_prefix("pub use "))
        }) {
            named.extend(expand(tree));
        }
    }
    for (at, _) in code.match_indices("crate::").chain(code.match_indices("super::")) {
        if code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_') {
            continue;
        }
        named.push(
            code[at..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect(),
        );
    }
    named
        .iter()
        .filter_map(|path| {
            let parts: Vec<&str> = path.split("::").filter(|p| !p.is_empty()).collect();
            let (first, rest) = parts.split_first()?;
            Some(resolve(first, rest, here))
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

fn uses(root: &Path) -> BTreeMap<Module, BTreeSet<Module>> {
    let mut files = Vec::new();
    rust_files(root, &mut files);
    let modules: BTreeMap<Module, PathBuf> = files.iter().map(|f| (module_of(root, f), f.clone())).collect();
    let mut graph = BTreeMap::new();
    for (module, file) in &modules {
        if module.last().is_some_and(|m| m.ends_with("tests")) {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        let mut targets = BTreeSet::new();
        for path in paths(&code(&text), module) {
            // The longest prefix that is a module; an item of an ancestor
            // (its own declarations) does not count as a use.
            if let Some(target) = (1..=path.len())
                .rev()
                .map(|n| path[..n].to_vec())
                .find(|p| modules.contains_key(p))
                && target != *module
                && !module.starts_with(&target)
            {
                targets.insert(target);
            }
        }
        graph.insert(module.clone(), targets);
    }
    graph
}

/// A loop through `start`, if any: the modules along it.
fn loop_through(graph: &BTreeMap<Module, BTreeSet<Module>>, start: &Module) -> Option<Vec<Module>> {
    let mut stack = vec![vec![start.clone()]];
    let mut seen = BTreeSet::new();
    while let Some(path) = stack.pop() {
        for next in graph.get(path.last().unwrap()).into_iter().flatten() {
            if next == start {
                return Some(path);
            }
            if seen.insert(next.clone()) {
                let mut longer = path.clone();
                longer.push(next.clone());
                stack.push(longer);
            }
        }
    }
    None
}

#[test]
fn no_module_uses_one_that_uses_it() {
    let mut loops = Vec::new();
    for krate in CRATES {
        let graph = uses(&Path::new(env!("CARGO_MANIFEST_DIR")).join(krate));
        for module in graph.keys() {
            if let Some(found) = loop_through(&graph, module) {
                let names: Vec<String> = found.iter().map(|m| m.join("::")).collect();
                loops.push(format!("{krate}: {}", names.join(" -> ")));
            }
        }
    }
    assert!(loops.is_empty(), "import loops: {loops:#?}");
}

#[test]
fn the_reader_sees_a_loop_where_there_is_one() {
    let a: Module = vec!["a".into()];
    let b: Module = vec!["b".into()];
    let graph = BTreeMap::from([
        (a.clone(), BTreeSet::from([b.clone()])),
        (b.clone(), BTreeSet::from([a.clone()])),
    ]);
    assert_eq!(loop_through(&graph, &a), Some(vec![a, b.clone()]));
    let here: Module = vec!["x".into(), "y".into()];
    assert_eq!(
        paths("use super::z::Item;", &here),
        vec![vec!["x".to_owned(), "z".into(), "Item".into()]]
    );
    assert_eq!(
        paths(&code("// crate::q\nlet v = my_crate::q;"), &here),
        Vec::<Module>::new()
    );
}
