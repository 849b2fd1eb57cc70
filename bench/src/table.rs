//! The one table `make bench` prints: each figure for Rust and Python and
//! their ratio.

use std::time::Duration;

use crate::calls;
use crate::overhead::KINDS;
use crate::{Figures, Plan};

struct Row {
    figure: String,
    rust: String,
    python: String,
    ratio: String,
}

pub struct Table {
    rows: Vec<Row>,
}

impl Table {
    pub fn new(rust: &Figures, python: &Figures, build_seconds: Option<f64>) -> Table {
        let mut t = Table { rows: Vec::new() };
        t.time(
            "cold start: spawn → first Runtime API poll (median)",
            |f| f.cold_start.median,
            rust,
            python,
        );
        t.memory(
            "memory after init (VmRSS)",
            |f| f.overhead.after_init.rss_kib,
            rust,
            python,
        );
        t.memory(
            "memory peak over the first half of the invocations (VmHWM)",
            |f| f.overhead.at_half.hwm_kib,
            rust,
            python,
        );
        t.memory(
            "memory peak over all the invocations (VmHWM)",
            |f| f.overhead.after_all.hwm_kib,
            rust,
            python,
        );
        for (i, kind) in KINDS.iter().enumerate() {
            t.time(
                &format!("{kind}: invoke → response, median"),
                |f| f.overhead.kinds[i].median,
                rust,
                python,
            );
            t.time(
                &format!("{kind}: invoke → response, p99"),
                |f| f.overhead.kinds[i].p99,
                rust,
                python,
            );
        }
        for (i, kind) in KINDS.iter().enumerate() {
            t.time(
                &format!("{kind}: invoke → first SageMaker call, median"),
                |f| f.overhead.kinds[i].to_first_call,
                rust,
                python,
            );
            t.time(
                &format!("{kind}: last SageMaker call → response, median"),
                |f| f.overhead.kinds[i].after_last_call,
                rust,
                python,
            );
        }
        t.time(
            "first event after start: invoke → first SageMaker call",
            |f| f.overhead.first_event_to_first_call,
            rust,
            python,
        );
        t.time(
            "answer latency: CREATED → PUT (median)",
            |f| f.latency.median,
            rust,
            python,
        );
        t.count(
            "DescribeImageVersion calls while waiting",
            |f| f.latency.describes,
            rust,
            python,
        );
        for (i, name) in calls::REQUESTS.iter().enumerate() {
            let (r, p) = (&rust.calls.requests[i], &python.calls.requests[i]);
            t.push(
                &format!("SageMaker calls per {name}"),
                calls::summary(r),
                calls::summary(p),
                ratio(r.len() as f64, p.len() as f64),
            );
        }
        t.bytes("code: stripped binary / handler.py", |f| f.sizes.code, rust, python);
        t.bytes("deployment zip", |f| f.sizes.zip, rust, python);
        t.rows.push(Row {
            figure: "boto3 + botocore installed (provided by the runtime)".into(),
            rust: "-".into(),
            python: python.sizes.runtime_libraries.map_or("-".into(), bytes),
            ratio: "-".into(),
        });
        t.rows.push(Row {
            figure: "clean release build".into(),
            rust: build_seconds.map_or("not run (BUILD=1)".into(), |s| format!("{s:.0} s")),
            python: "-".into(),
            ratio: "-".into(),
        });
        t
    }

    fn time(&mut self, figure: &str, get: impl Fn(&Figures) -> Duration, rust: &Figures, python: &Figures) {
        let (r, p) = (get(rust), get(python));
        self.push(
            figure,
            duration(r),
            duration(p),
            ratio(r.as_secs_f64(), p.as_secs_f64()),
        );
    }

    fn memory(&mut self, figure: &str, get: impl Fn(&Figures) -> u64, rust: &Figures, python: &Figures) {
        let (r, p) = (get(rust), get(python));
        self.push(figure, bytes(r * 1024), bytes(p * 1024), ratio(r as f64, p as f64));
    }

    fn bytes(&mut self, figure: &str, get: impl Fn(&Figures) -> u64, rust: &Figures, python: &Figures) {
        let (r, p) = (get(rust), get(python));
        self.push(figure, bytes(r), bytes(p), ratio(r as f64, p as f64));
    }

    fn count(&mut self, figure: &str, get: impl Fn(&Figures) -> usize, rust: &Figures, python: &Figures) {
        let (r, p) = (get(rust), get(python));
        self.push(figure, r.to_string(), p.to_string(), ratio(r as f64, p as f64));
    }

    fn push(&mut self, figure: &str, rust: String, python: String, ratio: String) {
        self.rows.push(Row {
            figure: figure.to_owned(),
            rust,
            python,
            ratio,
        });
    }

    /// The table in Markdown.
    pub fn render(&self, plan: Plan, short: bool) -> String {
        let header = Row {
            figure: format!(
                "{} ({} cold starts, {} invocations, create delay {} s + 0-1 s)",
                if short { "BENCH_SHORT" } else { "figure" },
                plan.cold_starts,
                plan.invocations,
                plan.create_delay_secs
            ),
            rust: "Rust".into(),
            python: "Python".into(),
            ratio: "Rust/Python".into(),
        };
        let rows = [&header]
            .into_iter()
            .chain(&self.rows)
            .map(|r| vec![r.figure.clone(), r.rust.clone(), r.python.clone(), r.ratio.clone()]);
        markdown(&rows.collect::<Vec<_>>())
    }
}

/// A Markdown table, the first row its header, each column padded to its
/// widest cell (readable as it is, pasted into BENCHMARKS.md as it is).
pub fn markdown(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| {
        let padded: Vec<String> = widths
            .iter()
            .enumerate()
            .map(|(c, w)| {
                let cell = cells.get(c).map_or("", String::as_str);
                format!("{cell}{}", " ".repeat(w - cell.chars().count()))
            })
            .collect();
        format!("| {} |\n", padded.join(" | "))
    };
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        out.push_str(&line(row));
        if i == 0 {
            out.push_str(&line(&widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>()));
        }
    }
    out
}

pub fn duration(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    match ms {
        m if m >= 10_000.0 => format!("{:.1} s", m / 1000.0),
        m if m >= 1000.0 => format!("{:.2} s", m / 1000.0),
        m if m >= 100.0 => format!("{m:.0} ms"),
        m if m >= 10.0 => format!("{m:.1} ms"),
        m => format!("{m:.2} ms"),
    }
}

fn bytes(b: u64) -> String {
    let b = b as f64;
    if b >= 1024.0 * 1024.0 {
        format!("{:.1} MiB", b / (1024.0 * 1024.0))
    } else if b >= 1024.0 {
        format!("{:.1} KiB", b / 1024.0)
    } else {
        format!("{b:.0} B")
    }
}

/// `rust / python` to two significant digits; `-` when Python's is zero.
pub fn ratio(rust: f64, python: f64) -> String {
    if python == 0.0 {
        return "-".into();
    }
    let r = rust / python;
    let decimals = if r == 0.0 {
        0
    } else {
        (1 - r.log10().floor() as i32).max(0) as usize
    };
    format!("{r:.decimals$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(ratio(1.0, 4.0), "0.25");
        assert_eq!(ratio(3.0, 1000.0), "0.0030");
        assert_eq!(ratio(26.0, 2.0), "13");
        assert_eq!(ratio(1.0, 0.0), "-");
        assert_eq!(duration(Duration::from_micros(1500)), "1.50 ms");
        assert_eq!(duration(Duration::from_millis(3500)), "3.50 s");
        assert_eq!(bytes(3 * 1024 * 1024), "3.0 MiB");
    }

    #[test]
    fn markdown_pads_each_column_to_its_widest_cell() {
        let rows = [["a", "bb"], ["ccc", "d"]].map(|r| r.map(String::from).to_vec());
        assert_eq!(markdown(&rows), "| a   | bb |\n| --- | -- |\n| ccc | d  |\n");
    }
}
