//! The one table `make bench` prints: each figure for Rust and Python and
//! their ratio.

use std::time::Duration;

use crate::calls;
use crate::overhead::{KINDS, KindFigures};
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

/// One subject's figure, as a cell shows it.
#[derive(Clone, Copy)]
enum Amount {
    Time(Duration),
    /// Memory as `/proc/PID/status` gives it, in KiB.
    KiB(u64),
    Bytes(u64),
    Count(usize),
    /// One figure of a subject over another of the same subject.
    Times(f64),
}

use Amount::{Bytes, Count, KiB, Time, Times};

impl Amount {
    fn cell(self) -> String {
        match self {
            Time(d) => duration(d),
            KiB(k) => bytes(k * 1024),
            Bytes(b) => bytes(b),
            Count(n) => n.to_string(),
            Times(x) => format!("{x:.1}×"),
        }
    }

    /// What the ratio divides.
    fn value(self) -> f64 {
        match self {
            Time(d) => d.as_secs_f64(),
            KiB(n) | Bytes(n) => n as f64,
            Count(n) => n as f64,
            Times(x) => x,
        }
    }
}

/// A row read alike from both subjects: its figure, and where to read it.
type Read = (&'static str, fn(&Figures) -> Amount);

/// The rows before the per-kind ones.
const START_UP: [Read; 4] = [
    ("cold start: spawn → first Runtime API poll (median)", |f| {
        Time(f.cold_start.median)
    }),
    ("memory after init (VmRSS)", |f| KiB(f.overhead.after_init.rss_kib)),
    ("memory peak over the first half of the invocations (VmHWM)", |f| {
        KiB(f.overhead.at_half.hwm_kib)
    }),
    ("memory peak over all the invocations (VmHWM)", |f| {
        KiB(f.overhead.after_all.hwm_kib)
    }),
];

/// A row read alike from each kind of both subjects.
type ReadKind = (&'static str, fn(&KindFigures) -> Duration);

/// The per-kind rows: each group for every kind in [`KINDS`] in turn.
const PER_KIND: [[ReadKind; 2]; 2] = [
    [
        ("invoke → response, median", |k| k.median),
        ("invoke → response, p99", |k| k.p99),
    ],
    [
        ("invoke → first SageMaker call, median", |k| k.to_first_call),
        ("last SageMaker call → response, median", |k| k.after_last_call),
    ],
];

/// The rows between the per-kind ones and the SageMaker calls.
const WAITING: [Read; 5] = [
    ("first event after start: invoke → first SageMaker call", |f| {
        Time(f.overhead.first_event_to_first_call)
    }),
    (
        "first event after start ÷ a later Create (invoke → first SageMaker call)",
        |f| {
            // KINDS[0] is Create, the kind of the first event.
            let later = f.overhead.kinds[0].to_first_call.as_secs_f64();
            Times(f.overhead.first_event_to_first_call.as_secs_f64() / later)
        },
    ),
    (
        "cold start (median) + first event: spawn → its first SageMaker call",
        |f| Time(f.cold_start.median + f.overhead.first_event_to_first_call),
    ),
    ("answer latency: CREATED → PUT (median)", |f| Time(f.latency.median)),
    ("DescribeImageVersion calls while waiting", |f| {
        Count(f.latency.describes)
    }),
];

const SIZES: [Read; 2] = [
    ("code: stripped binary / handler.py", |f| Bytes(f.sizes.code)),
    ("deployment zip", |f| Bytes(f.sizes.zip)),
];

impl Table {
    pub fn new(rust: &Figures, python: &Figures, build_seconds: Option<f64>) -> Table {
        let mut t = Table { rows: Vec::new() };
        for (figure, get) in START_UP {
            t.read(figure, get(rust), get(python));
        }
        for group in PER_KIND {
            for (i, kind) in KINDS.iter().enumerate() {
                for (figure, get) in group {
                    let get = |f: &Figures| Time(get(&f.overhead.kinds[i]));
                    t.read(&format!("{kind}: {figure}"), get(rust), get(python));
                }
            }
        }
        for (figure, get) in WAITING {
            t.read(figure, get(rust), get(python));
        }
        for (i, name) in calls::REQUESTS.iter().enumerate() {
            let (r, p) = (&rust.calls.requests[i], &python.calls.requests[i]);
            t.push(
                &format!("SageMaker calls per {name}"),
                calls::summary(r),
                calls::summary(p),
                ratio(r.len() as f64, p.len() as f64),
            );
        }
        for (figure, get) in SIZES {
            t.read(figure, get(rust), get(python));
        }
        t.push(
            "boto3 + botocore installed (provided by the runtime)",
            "-".into(),
            python.sizes.runtime_libraries.map_or("-".into(), bytes),
            "-".into(),
        );
        t.push(
            "clean release build",
            build_seconds.map_or("not run (BUILD=1)".into(), |s| format!("{s:.0} s")),
            "-".into(),
            "-".into(),
        );
        t
    }

    /// A row of the two subjects' `rust` and `python` and their ratio.
    fn read(&mut self, figure: &str, rust: Amount, python: Amount) {
        self.push(figure, rust.cell(), python.cell(), ratio(rust.value(), python.value()));
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
