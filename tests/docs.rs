//! The documentation holds: every relative link in the README, CONTRIBUTING,
//! BENCHMARKS and `docs/` resolves (the file exists, the anchor is one of its
//! headings), and every test the guarantees table of `docs/testing.md` names
//! exists.

use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn documents() -> Vec<PathBuf> {
    let mut docs: Vec<PathBuf> = ["README.md", "CONTRIBUTING.md", "BENCHMARKS.md"]
        .iter()
        .map(|name| Path::new(ROOT).join(name))
        .collect();
    let dir = std::fs::read_dir(Path::new(ROOT).join("docs")).expect("docs/");
    docs.extend(
        dir.map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "md")),
    );
    docs
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The lines of `text` outside fenced code blocks.
fn prose(text: &str) -> impl Iterator<Item = &str> {
    let mut fenced = false;
    text.lines().filter(move |line| {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            return false;
        }
        !fenced
    })
}

/// The targets of the `[text](target)` links of `text`, outside code.
fn links(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in prose(text) {
        let outside_code: String = line.split('`').step_by(2).collect::<Vec<_>>().join(" ");
        let mut rest = outside_code.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let Some(end) = after.find(')') else { break };
            found.push(after[..end].to_owned());
            rest = &after[end..];
        }
    }
    found
}

/// GitHub's anchor of a heading: lower case, punctuation dropped, spaces as '-'.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors(text: &str) -> Vec<String> {
    prose(text)
        .filter_map(|line| line.strip_prefix('#'))
        .map(|heading| slug(heading.trim_start_matches('#')))
        .collect()
}

#[test]
fn every_relative_link_in_the_docs_resolves() {
    let mut broken = Vec::new();
    for doc in documents() {
        let text = read(&doc);
        for link in links(&text) {
            if link.starts_with("http://") || link.starts_with("https://") || link.starts_with("mailto:") {
                continue;
            }
            let (file, anchor) = link.split_once('#').unwrap_or((&link, ""));
            let target = match file {
                "" => doc.clone(),
                file => doc.parent().unwrap().join(file),
            };
            if !target.exists() {
                broken.push(format!("{}: {link}: no such file", doc.display()));
            } else if !anchor.is_empty() && !anchors(&read(&target)).iter().any(|a| a == anchor) {
                broken.push(format!("{}: {link}: no such heading", doc.display()));
            }
        }
    }
    assert!(broken.is_empty(), "{broken:#?}");
}

/// Whether `name` matches `pattern`, in which `*`, `...` and `<word>` stand
/// for any run of characters and `{a,b}` for one of its alternatives.
fn matches(pattern: &str, name: &str) -> bool {
    if let Some(open) = pattern.find('{') {
        let close = open + pattern[open..].find('}').expect("a closed {");
        return pattern[open + 1..close].split(',').any(|alternative| {
            matches(
                &format!("{}{alternative}{}", &pattern[..open], &pattern[close + 1..]),
                name,
            )
        });
    }
    let mut glob = pattern.replace("...", "*");
    while let (Some(open), Some(close)) = (glob.find('<'), glob.find('>')) {
        glob.replace_range(open..=close, "*");
    }
    let parts: Vec<&str> = glob.split('*').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if parts.len() == 1 {
        return name == first;
    }
    if !name.starts_with(first) || !name.ends_with(last) || name.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

/// The source files a test path's suite or module may be in: the contract
/// suite of that name, or the crate's module file.
fn suite_files(segments: &[&str]) -> Vec<PathBuf> {
    let contract = Path::new(ROOT)
        .join("tests/contract")
        .join(format!("{}.rs", segments[0]));
    if contract.exists() {
        return vec![contract];
    }
    let mut files = Vec::new();
    let mut dir = Path::new(ROOT).join("src");
    for segment in &segments[..segments.len() - 1] {
        for file in [dir.join(format!("{segment}.rs")), dir.join(segment).join("mod.rs")] {
            if file.exists() {
                files.push(file);
            }
        }
        dir = dir.join(segment);
    }
    files
}

fn test_functions(file: &Path) -> Vec<String> {
    read(file)
        .lines()
        .filter_map(|line| line.trim_start().split("fn ").nth(1))
        .map(|rest| rest.split(['(', '<', ' ']).next().unwrap_or_default().to_owned())
        .collect()
}

/// What the Test column of the guarantees table names, in order.
fn named_tests() -> Vec<String> {
    let testing = read(&Path::new(ROOT).join("docs/testing.md"));
    let table = testing
        .split("## Guarantees and the tests that hold them")
        .nth(1)
        .expect("the guarantees table");
    let mut names = Vec::new();
    for row in table.lines().skip_while(|l| !l.starts_with('|')).skip(2) {
        if !row.starts_with('|') {
            break;
        }
        let cells: Vec<&str> = row.split('|').collect();
        let test_cell = cells[cells.len() - 2];
        names.extend(test_cell.split('`').skip(1).step_by(2).map(str::to_owned));
    }
    names
}

#[test]
fn every_test_the_guarantees_table_names_exists() {
    let mut suite = String::new();
    let mut missing = Vec::new();
    for name in named_tests() {
        if let Some(target) = name.strip_prefix("make ") {
            let makefile = read(&Path::new(ROOT).join("Makefile"));
            if !makefile.lines().any(|l| l.starts_with(&format!("{target}:"))) {
                missing.push(name);
            }
            continue;
        }
        if name.contains('/') {
            if !Path::new(ROOT).join(&name).exists() {
                missing.push(name);
            }
            continue;
        }
        // A name without a suite continues the one before it in the cell.
        let path = match name.rsplit_once("::") {
            Some((prefix, _)) => {
                suite = prefix.to_owned();
                name.clone()
            }
            None => format!("{suite}::{name}"),
        };
        let segments: Vec<&str> = path.split("::").collect();
        let pattern = segments[segments.len() - 1];
        let found = suite_files(&segments)
            .iter()
            .any(|file| test_functions(file).iter().any(|f| matches(pattern, f)));
        if !found {
            missing.push(path);
        }
    }
    assert!(
        missing.is_empty(),
        "named in docs/testing.md but not found: {missing:#?}"
    );
}

#[test]
fn the_name_patterns_mean_what_the_table_means() {
    assert!(matches("a_4xx_..._is_logged", "a_4xx_from_the_url_is_logged"));
    assert!(matches("{throttle,http_500}_is_retried", "http_500_is_retried"));
    assert!(matches("*", "anything"));
    assert!(!matches("ids_too_long_*", "ids_short"));
    assert!(!matches("exact", "exact_not"));
}
