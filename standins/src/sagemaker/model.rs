//! The published service model judges every request: botocore's `sagemaker`
//! model (2017-07-24), read at start, gives each served operation's input
//! shape, and a request is held to it as SageMaker does. A member of the wrong
//! JSON type is a `SerializationException`; the constraints (required members,
//! string length, `pattern`, `enum`, integer range, list length) are checked
//! together and all violations reported in one `ValidationException`, in
//! SageMaker's words.
//!
//! Members the model does not know are ignored, as AWS's JSON protocol
//! services do (a newer client may send members an older service does not
//! know yet); the function's SDK is generated from this model, so refusing
//! them would only part from AWS without catching anything.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use fancy_regex::Regex;
use serde::Deserialize;
use serde_json::{Map, Number, Value};

use super::errors::ApiError;

/// Names the model file (`service-2.json` or `service-2.json.gz`) to read.
pub(crate) const MODEL_ENV: &str = "SAGEMAKER_SERVICE_MODEL";

/// Where botocore keeps the model, under a `site-packages`.
const BOTOCORE_DIR: &str = "botocore/data/sagemaker/2017-07-24";

/// Recent botocore ships its models gzipped; older releases as plain JSON.
const FILE_NAMES: [&str; 2] = ["service-2.json.gz", "service-2.json"];

#[derive(Debug, thiserror::Error)]
pub(crate) enum ModelError {
    #[error(
        "the SageMaker service model is not installed (looked for {looked}): run `make tools`, which installs botocore into .venv/, or set {MODEL_ENV} to a botocore sagemaker service-2.json(.gz)"
    )]
    NotFound { looked: String },
    #[error("cannot read the SageMaker service model {}: {source} (run `make tools`, or fix {MODEL_ENV})", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("the SageMaker service model {} is not a botocore model: {source}", path.display())]
    Parse { path: PathBuf, source: serde_json::Error },
    #[error("the SageMaker service model {}: {problem}", path.display())]
    Unusable { path: PathBuf, problem: String },
}

/// The served operations' input shapes, compiled into rules.
pub(crate) struct Model {
    inputs: HashMap<String, ShapeId>,
    rules: Vec<Rule>,
}

/// An index into `Model::rules` (shapes may refer to themselves).
type ShapeId = usize;

enum Rule {
    Structure {
        /// Wire name, shape.
        members: Vec<(String, ShapeId)>,
        required: Vec<String>,
    },
    List {
        member: ShapeId,
        len: Bounds,
    },
    String {
        len: Bounds,
        pattern: Option<Pattern>,
        values: Option<Vec<String>>,
    },
    Integer {
        /// `integer` is 32 bits on the wire, `long` 64.
        wire: (i64, i64),
        range: Bounds,
    },
    Boolean,
}

#[derive(Default)]
struct Bounds {
    min: Option<i64>,
    max: Option<i64>,
}

struct Pattern {
    /// As the model writes it, and as SageMaker's message shows it.
    shown: String,
    re: Regex,
}

impl Model {
    /// The model for `operations`, read once per process: every stand-in in a
    /// test binary shares it, and a model that cannot be read fails each start.
    pub(crate) fn shared(operations: &[&str]) -> Result<&'static Model, &'static ModelError> {
        static MODEL: OnceLock<Result<Model, ModelError>> = OnceLock::new();
        MODEL.get_or_init(|| Model::load(&locate()?, operations)).as_ref()
    }

    fn load(path: &Path, operations: &[&str]) -> Result<Model, ModelError> {
        let read = |e| ModelError::Read {
            path: path.to_owned(),
            source: e,
        };
        let raw = std::fs::read(path).map_err(read)?;
        let json = if path.extension().is_some_and(|e| e == "gz") {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(raw.as_slice())
                .read_to_end(&mut out)
                .map_err(read)?;
            out
        } else {
            raw
        };
        let raw: RawModel = serde_json::from_slice(&json).map_err(|e| ModelError::Parse {
            path: path.to_owned(),
            source: e,
        })?;
        Compiler::new(&raw)
            .compile(operations)
            .map_err(|problem| ModelError::Unusable {
                path: path.to_owned(),
                problem,
            })
    }

    /// Judges the members of an `operation` request against its input shape.
    pub(crate) fn judge(&self, operation: &str, members: &Map<String, Value>) -> Result<(), ApiError> {
        let id = *self
            .inputs
            .get(operation)
            .expect("the model was compiled for every served operation");
        let mut judge = Judge {
            rules: &self.rules,
            violations: Vec::new(),
        };
        judge.members(id, members, "")?;
        if judge.violations.is_empty() {
            Ok(())
        } else {
            Err(ApiError::violations(&judge.violations))
        }
    }
}

/// `$SAGEMAKER_SERVICE_MODEL`, else the model in the workspace's `.venv/`
/// (what `make tools` installs).
fn locate() -> Result<PathBuf, ModelError> {
    if let Some(path) = std::env::var_os(MODEL_ENV) {
        return Ok(PathBuf::from(path));
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("standins/ sits in the workspace");
    let lib = workspace.join(".venv/lib");
    let mut pythons: Vec<PathBuf> = std::fs::read_dir(&lib)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("python3"))
        .map(|e| e.path().join("site-packages").join(BOTOCORE_DIR))
        .collect();
    pythons.sort();
    pythons
        .iter()
        .flat_map(|dir| FILE_NAMES.map(|f| dir.join(f)))
        .find(|p| p.is_file())
        .ok_or_else(|| ModelError::NotFound {
            looked: format!(
                "{}/python3*/site-packages/{BOTOCORE_DIR}/{}",
                lib.display(),
                FILE_NAMES[0]
            ),
        })
}

#[derive(Deserialize)]
struct RawModel {
    operations: HashMap<String, RawOperation>,
    shapes: HashMap<String, RawShape>,
}

#[derive(Deserialize)]
struct RawOperation {
    input: Option<RawRef>,
}

#[derive(Deserialize)]
struct RawRef {
    shape: String,
}

#[derive(Deserialize)]
struct RawShape {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    members: BTreeMap<String, RawRef>,
    #[serde(default)]
    required: Vec<String>,
    member: Option<RawRef>,
    min: Option<Number>,
    max: Option<Number>,
    pattern: Option<String>,
    #[serde(rename = "enum")]
    values: Option<Vec<String>>,
}

struct Compiler<'a> {
    raw: &'a RawModel,
    ids: HashMap<&'a str, ShapeId>,
    rules: Vec<Rule>,
}

impl<'a> Compiler<'a> {
    fn new(raw: &'a RawModel) -> Compiler<'a> {
        Compiler {
            raw,
            ids: HashMap::new(),
            rules: Vec::new(),
        }
    }

    fn compile(mut self, operations: &[&str]) -> Result<Model, String> {
        let mut inputs = HashMap::new();
        for &op in operations {
            let input = self
                .raw
                .operations
                .get(op)
                .ok_or_else(|| format!("no operation {op}"))?
                .input
                .as_ref()
                .ok_or_else(|| format!("operation {op} has no input shape"))?;
            inputs.insert(op.to_string(), self.shape(&input.shape)?);
        }
        Ok(Model {
            inputs,
            rules: self.rules,
        })
    }

    fn shape(&mut self, name: &'a str) -> Result<ShapeId, String> {
        if let Some(&id) = self.ids.get(name) {
            return Ok(id);
        }
        let s = self.raw.shapes.get(name).ok_or_else(|| format!("no shape {name}"))?;
        // Taken before the members are compiled, so that a shape may refer to itself.
        let id = self.rules.len();
        self.ids.insert(name, id);
        self.rules.push(Rule::Boolean);
        let bound = |n: &Option<Number>| {
            n.as_ref()
                .map(|n| {
                    n.as_i64()
                        .ok_or_else(|| format!("shape {name}: bound {n} is not an integer"))
                })
                .transpose()
        };
        let len = Bounds {
            min: bound(&s.min)?,
            max: bound(&s.max)?,
        };
        let rule = match s.kind.as_str() {
            "structure" => Rule::Structure {
                members: s
                    .members
                    .iter()
                    .map(|(m, r)| Ok((m.clone(), self.shape(&r.shape)?)))
                    .collect::<Result<_, String>>()?,
                required: s.required.clone(),
            },
            "list" => {
                let member = s.member.as_ref().ok_or_else(|| format!("list {name} has no member"))?;
                Rule::List {
                    member: self.shape(&member.shape)?,
                    len,
                }
            }
            "string" => Rule::String {
                len,
                pattern: s
                    .pattern
                    .as_ref()
                    .map(|p| {
                        let re =
                            Regex::new(&java_full_match(p)).map_err(|e| format!("shape {name}: pattern {p}: {e}"))?;
                        Ok::<_, String>(Pattern { shown: p.clone(), re })
                    })
                    .transpose()?,
                values: s.values.clone(),
            },
            "integer" => Rule::Integer {
                wire: (i32::MIN.into(), i32::MAX.into()),
                range: len,
            },
            "long" => Rule::Integer {
                wire: (i64::MIN, i64::MAX),
                range: len,
            },
            "boolean" => Rule::Boolean,
            other => return Err(format!("shape {name} is a {other}, which the stand-in cannot judge")),
        };
        self.rules[id] = rule;
        Ok(id)
    }
}

/// A Java pattern, as the model's are, for `fancy_regex`, matched the way the
/// service's `Matcher.matches()` does: against the whole value, `.` not matching
/// a line terminator, and `\d`, `\w`, `\s` ASCII only.
fn java_full_match(pattern: &str) -> String {
    const DOT: &str = r"[^\n\r\x{85}\x{2028}\x{2029}]";
    let mut out = String::from(r"\A(?:");
    let mut chars = pattern.chars();
    let mut in_class = 0;
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('d') => out.push_str("[0-9]"),
                Some('D') => out.push_str("[^0-9]"),
                Some('w') => out.push_str("[a-zA-Z0-9_]"),
                Some('W') => out.push_str("[^a-zA-Z0-9_]"),
                Some('s') => out.push_str(r"[ \t\n\x0B\f\r]"),
                Some('S') => out.push_str(r"[^ \t\n\x0B\f\r]"),
                Some(e) => {
                    out.push('\\');
                    out.push(e);
                }
                None => out.push('\\'),
            },
            '[' => {
                in_class += 1;
                out.push(c);
            }
            ']' if in_class > 0 => {
                in_class -= 1;
                out.push(c);
            }
            '.' if in_class == 0 => out.push_str(DOT),
            _ => out.push(c),
        }
    }
    out.push_str(r")\z");
    out
}

/// One request's walk through the rules.
struct Judge<'m> {
    rules: &'m [Rule],
    violations: Vec<String>,
}

impl Judge<'_> {
    fn violation(&mut self, value: &Value, path: &str, must: String) {
        self.violations.push(format!(
            "Value {} at '{path}' failed to satisfy constraint: Member must {must}",
            shown(value)
        ));
    }

    fn members(&mut self, id: ShapeId, members: &Map<String, Value>, path: &str) -> Result<(), ApiError> {
        let Rule::Structure {
            members: known,
            required,
        } = &self.rules[id]
        else {
            unreachable!("members() is called on structures");
        };
        // JSON null is an absent member, as in AWS's JSON protocols.
        let given = |name: &str| members.get(name).filter(|v| !v.is_null());
        for name in required {
            if given(name).is_none() {
                self.violation(&Value::Null, &member_path(path, name), "not be null".into());
            }
        }
        for (name, shape) in known {
            if let Some(v) = given(name) {
                self.value(*shape, v, &member_path(path, name))?;
            }
        }
        Ok(())
    }

    fn value(&mut self, id: ShapeId, v: &Value, path: &str) -> Result<(), ApiError> {
        let rules = self.rules;
        match &rules[id] {
            Rule::Structure { .. } => {
                let members = v.as_object().ok_or_else(|| ApiError::wrong_type(path, "a structure"))?;
                self.members(id, members, path)?;
            }
            Rule::List { member, len } => {
                let items = v.as_array().ok_or_else(|| ApiError::wrong_type(path, "a list"))?;
                self.length(v, path, items.len(), len);
                for (i, item) in items.iter().enumerate() {
                    let item_path = format!("{path}.{}.member", i + 1);
                    if item.is_null() {
                        self.violation(item, &item_path, "not be null".into());
                    } else {
                        self.value(*member, item, &item_path)?;
                    }
                }
            }
            Rule::String { len, pattern, values } => {
                let s = v.as_str().ok_or_else(|| ApiError::wrong_type(path, "a string"))?;
                self.length(v, path, s.chars().count(), len);
                if let Some(values) = values
                    && !values.iter().any(|allowed| allowed == s)
                {
                    self.violation(v, path, format!("satisfy enum value set: [{}]", values.join(", ")));
                }
                // A match past the backtrack limit counts as no match: refused, never let through.
                if let Some(p) = pattern
                    && !p.re.is_match(s).unwrap_or(false)
                {
                    self.violation(v, path, format!("satisfy regular expression pattern: {}", p.shown));
                }
            }
            Rule::Integer { wire, range } => {
                let n = v
                    .as_i64()
                    .filter(|n| (wire.0..=wire.1).contains(n))
                    .ok_or_else(|| ApiError::wrong_type(path, "an integer"))?;
                if let Some(min) = range.min.filter(|&min| n < min) {
                    self.violation(v, path, format!("have value greater than or equal to {min}"));
                }
                if let Some(max) = range.max.filter(|&max| n > max) {
                    self.violation(v, path, format!("have value less than or equal to {max}"));
                }
            }
            Rule::Boolean => {
                if !v.is_boolean() {
                    return Err(ApiError::wrong_type(path, "a boolean"));
                }
            }
        }
        Ok(())
    }

    fn length(&mut self, v: &Value, path: &str, n: usize, len: &Bounds) {
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        if let Some(min) = len.min.filter(|&min| n < min) {
            self.violation(v, path, format!("have length greater than or equal to {min}"));
        }
        if let Some(max) = len.max.filter(|&max| n > max) {
            self.violation(v, path, format!("have length less than or equal to {max}"));
        }
    }
}

/// SageMaker names a member by its path, each name with a lower-case first
/// letter (`releaseNotes`, `aliases.1.member`).
fn member_path(parent: &str, name: &str) -> String {
    let mut chars = name.chars();
    let lower: String = chars
        .next()
        .map(|c| c.to_lowercase().chain(chars).collect())
        .unwrap_or_default();
    if parent.is_empty() {
        lower
    } else {
        format!("{parent}.{lower}")
    }
}

/// A value as Java's `toString` shows it, quoted: `'x'`, `'3'`, `'[a, b]'`, or `null`.
fn shown(v: &Value) -> String {
    fn bare(v: &Value) -> String {
        match v {
            Value::String(s) => s.clone(),
            Value::Array(items) => format!("[{}]", items.iter().map(bare).collect::<Vec<_>>().join(", ")),
            other => other.to_string(),
        }
    }
    match v {
        Value::Null => "null".into(),
        v => format!("'{}'", bare(v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full_match(pattern: &str, value: &str) -> bool {
        Regex::new(&java_full_match(pattern)).unwrap().is_match(value).unwrap()
    }

    #[test]
    fn a_pattern_must_match_the_whole_value() {
        assert!(full_match("[a-zA-Z0-9-]+", "tok-1"));
        assert!(!full_match("[a-zA-Z0-9-]+", "tok_1"));
        assert!(!full_match("a", "ab"));
        assert!(!full_match("b", "ab"));
    }

    #[test]
    fn a_dot_does_not_match_a_line_terminator() {
        for terminator in ["\n", "\r", "\u{85}", "\u{2028}", "\u{2029}"] {
            assert!(!full_match(".*", &format!("a{terminator}b")), "{terminator:?}");
        }
        assert!(full_match(".*", "tabs\tand ünïcode"));
        assert!(full_match("[.]", "."));
        assert!(!full_match("[.]", "x"));
    }

    #[test]
    fn digit_word_and_space_classes_are_ascii_only() {
        assert!(full_match(r"[a-zA-Z]+ ?\d+\.\d+(\.\d+)?", "PyTorch 2.3"));
        assert!(!full_match(r"\d+", "٢"));
        assert!(!full_match(r"\w+", "é"));
        assert!(!full_match(r"\s", "\u{a0}"));
        assert!(full_match(r"[\d\s]+", "1 2"));
        assert!(full_match(r"\S+", "x"));
    }

    #[test]
    fn a_lookahead_works_as_in_java() {
        let alias = "(?!^[.-])^([a-zA-Z0-9-_.]+)";
        assert!(full_match(alias, "v1.0_rc-2"));
        assert!(full_match(alias, "_x"));
        assert!(!full_match(alias, ".x"));
        assert!(!full_match(alias, "-x"));
        assert!(!full_match(alias, "a b"));
    }

    #[test]
    fn a_model_that_is_not_there_fails_naming_make_tools() {
        let err = Model::load(Path::new("/nonexistent/service-2.json.gz"), &[])
            .err()
            .expect("no model there");
        assert!(err.to_string().contains("make tools"), "{err}");
        let err = ModelError::NotFound { looked: "x".into() };
        assert!(err.to_string().contains("run `make tools`"), "{err}");
    }

    #[test]
    fn members_are_named_by_their_lower_camel_path() {
        assert_eq!(member_path("", "ReleaseNotes"), "releaseNotes");
        assert_eq!(member_path("aliases.1.member", "Key"), "aliases.1.member.key");
        assert_eq!(shown(&serde_json::json!(["a", "b"])), "'[a, b]'");
        assert_eq!(shown(&serde_json::json!(3)), "'3'");
    }
}
