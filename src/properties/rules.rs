//! The rules a value must follow, full-match as SageMaker's patterns are.
//! Each is a few lines of byte checks rather than a regex: the patterns are
//! small and fixed, and the `regex` crate would add to the cold start and the
//! package for nothing. Each returns, on failure, what is allowed.

use super::table::Kind;

/// Checks a scalar of `kind`; `Err` says what is allowed.
pub(super) fn check(kind: Kind, value: &str) -> Result<(), String> {
    match kind {
        Kind::ImageName => check_image_name(value),
        Kind::Text { max } => check_length(value, 1, max).and_then(|()| check_one_line(value)),
        Kind::NameAndVersion => check_name_and_version(value),
        Kind::Region => check_region(value),
        Kind::OneOf(values) => check_enum(value, values()),
        Kind::AliasList => check_alias(value),
        Kind::VersionNumber => check_version_number(value),
        Kind::Seconds { max } => check_seconds(value, max),
        Kind::Boolean | Kind::Any => Ok(()),
    }
}

fn check_length(value: &str, min: usize, max: usize) -> Result<(), String> {
    let chars = value.chars().count();
    if (min..=max).contains(&chars) {
        Ok(())
    } else {
        Err(format!("{min} to {max} characters (got {chars})"))
    }
}

/// SageMaker's `.*`, full match: Java's `.` matches no line terminator.
fn check_one_line(value: &str) -> Result<(), String> {
    if value.contains(['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}']) {
        Err("one line: no line breaks".to_owned())
    } else {
        Ok(())
    }
}

/// Whole seconds from 1 to `max`, as a string or a JSON number.
pub(super) fn check_seconds(value: &str, max: u64) -> Result<(), String> {
    match value.parse::<u64>() {
        Ok(n) if (1..=max).contains(&n) && value.bytes().all(|b| b.is_ascii_digit()) => Ok(()),
        _ => Err(format!("whole seconds from 1 to {max}")),
    }
}

fn check_enum(value: &str, allowed: &[&str]) -> Result<(), String> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(format!("one of {}", allowed.join(", ")))
    }
}

/// `[a-zA-Z0-9]([-.]?[a-zA-Z0-9]){0,62}`, full match.
fn check_image_name(value: &str) -> Result<(), String> {
    const RULE: &str = "1 to 63 letters, digits, '-' or '.', starting and ending with a letter or digit, \
         with no two '-'/'.' in a row ([a-zA-Z0-9]([-.]?[a-zA-Z0-9]){0,62})";
    let bytes = value.as_bytes();
    let separator = |b: &u8| *b == b'-' || *b == b'.';
    let valid = (1..=63).contains(&bytes.len())
        && bytes.iter().all(|b| b.is_ascii_alphanumeric() || separator(b))
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
        && !bytes.windows(2).any(|w| separator(&w[0]) && separator(&w[1]));
    if valid { Ok(()) } else { Err(RULE.to_owned()) }
}

/// `(?!^[.-])^([a-zA-Z0-9-_.]+)`, full match, 1-128 characters.
fn check_alias(value: &str) -> Result<(), String> {
    const RULE: &str = "1 to 128 letters, digits, '-', '_' or '.', not starting with '-' or '.'";
    let bytes = value.as_bytes();
    let valid = (1..=128).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && !matches!(bytes.first(), Some(b'-' | b'.'));
    if valid { Ok(()) } else { Err(RULE.to_owned()) }
}

/// `[a-zA-Z]+ ?\d+\.\d+(\.\d+)?`, full match, 1-128 characters.
fn check_name_and_version(value: &str) -> Result<(), String> {
    const RULE: &str = "a name and a version such as \"PyTorch 2.3\" or \"Python3.11.9\" \
         ([a-zA-Z]+ ?\\d+\\.\\d+(\\.\\d+)?, at most 128 characters)";
    fn digits(s: &str) -> (usize, &str) {
        let n = s.bytes().take_while(u8::is_ascii_digit).count();
        (n, &s[n..])
    }
    let matches = || {
        let letters = value.bytes().take_while(u8::is_ascii_alphabetic).count();
        if letters == 0 {
            return false;
        }
        let rest = &value[letters..];
        let rest = rest.strip_prefix(' ').unwrap_or(rest);
        let (major, rest) = digits(rest);
        let Some(rest) = rest.strip_prefix('.').filter(|_| major > 0) else {
            return false;
        };
        let (minor, rest) = digits(rest);
        if minor == 0 {
            return false;
        }
        match rest.strip_prefix('.') {
            None => rest.is_empty(),
            Some(patch) => {
                let (n, rest) = digits(patch);
                n > 0 && rest.is_empty()
            }
        }
    };
    if value.len() <= 128 && matches() {
        Ok(())
    } else {
        Err(RULE.to_owned())
    }
}

/// A whole number from 1, as a string or a JSON number.
fn check_version_number(value: &str) -> Result<(), String> {
    match value.parse::<i32>() {
        Ok(n) if n >= 1 && value.bytes().all(|b| b.is_ascii_digit()) => Ok(()),
        _ => Err("a version number: a whole number from 1, such as 3".to_owned()),
    }
}

/// An AWS region name such as `us-east-1` or `us-gov-west-1`.
fn check_region(value: &str) -> Result<(), String> {
    const RULE: &str = "an AWS region name such as us-east-1 (lower-case letters and dashes, then a number)";
    let mut parts = value.split('-');
    let head = parts.next().unwrap_or_default();
    let rest: Vec<&str> = parts.collect();
    let valid = head.len() == 2
        && head.bytes().all(|b| b.is_ascii_lowercase())
        && rest.len() >= 2
        && rest[..rest.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && rest
            .last()
            .is_some_and(|n| (1..=2).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()));
    if valid { Ok(()) } else { Err(RULE.to_owned()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framework_and_language_follow_the_version_pattern() {
        for good in ["PyTorch 2.3", "Python3.11", "TF 2.13.1"] {
            assert_eq!(check_name_and_version(good), Ok(()), "{good}");
        }
        for bad in [
            "PyTorch",
            "2.3",
            "PyTorch 2",
            "PyTorch  2.3",
            "PyTorch 2.3.",
            "PyTorch 2.3.1.4",
            "Py-Torch 2.3",
        ] {
            assert!(check_name_and_version(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_region_is_lowercase_parts_and_a_number() {
        for good in ["us-east-1", "ap-southeast-2", "us-gov-west-1", "eu-central-12"] {
            assert_eq!(check_region(good), Ok(()), "{good}");
        }
        for bad in [
            "us--1",
            "us-EAST-1",
            "US-east-1",
            "us-east",
            "us-east-123",
            "useast-1",
            "us-east-a",
        ] {
            assert!(check_region(bad).is_err(), "{bad}");
        }
    }
}
