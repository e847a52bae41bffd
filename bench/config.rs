//! The config's speed against its parser (README "Benchmarks"): for generated configs of
//! several sizes, the time and peak memory of `pbx validate` and `pbx plan --against` next to
//! the time the same YAML files take to parse into a generic value with the same parser
//! (serde-saphyr into `serde_json::Value`), measured in the same run, and the ratios.
//!
//!   cargo bench --bench config                      (or bench/config.sh)
//!   cargo bench --bench config -- 10x100 100x100    (sizes: tenants x staff per tenant)
//!   CONFIG_RUNS=5 CONFIG_SINGLE=1 cargo bench --bench config
//!
//! Each config is written by `bench/gen-config.py --split` (one file per tenant, included by
//! the main file: a file may be at most 16 MiB and 1,000 x 100 is ~19 MB); with
//! `CONFIG_SINGLE=1` a single file instead. The plan's config is a copy where every "Иван" is
//! renamed (~2 % of staff). Every command is a process of its own (this bench re-runs itself
//! with `parse FILES...` for the baseline, so it pays the same start-up and file reading as
//! `pbx`); each is run `CONFIG_RUNS` times (default 5) after one warm-up, the figure is the
//! median wall time and the largest peak RSS (`wait4`'s `ru_maxrss`). The plan's baseline is
//! parsing both configs it reads.

#[path = "sizes.rs"]
mod sizes;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Parses every file given into a generic value: the baseline.
fn parse(files: &[String]) {
    let mut nodes = 0usize;
    for file in files {
        let text = std::fs::read_to_string(file).expect("read");
        let value: serde_json::Value = serde_saphyr::from_str(&text).expect("parse");
        nodes += count(&value);
        // As `pbx validate` does: the process ends right after, nothing is freed piece by piece.
        std::mem::forget(value);
    }
    println!("{nodes} nodes");
}

fn count(v: &serde_json::Value) -> usize {
    match v {
        serde_json::Value::Array(a) => 1 + a.iter().map(count).sum::<usize>(),
        serde_json::Value::Object(o) => 1 + o.values().map(count).sum::<usize>(),
        _ => 1,
    }
}

/// One run of a command: its wall time and peak resident memory.
struct Run {
    wall: Duration,
    max_rss_kib: u64,
}

/// Runs `program args` to the end, output discarded; panics unless it exits with one of `ok`.
// Reaped by `wait4`, which also gives the peak memory `Child::wait` does not.
#[allow(clippy::zombie_processes)]
fn run_once(program: &Path, args: &[String], ok: &[i32]) -> Run {
    let start = Instant::now();
    let child = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for the child just spawned; `status` and `usage` are valid for writing.
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    assert_eq!(pid, child.id() as libc::pid_t, "wait4");
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    assert!(
        ok.contains(&code),
        "{} {} exited {code}",
        program.display(),
        args.join(" ")
    );
    Run {
        wall,
        max_rss_kib: usage.ru_maxrss as u64,
    }
}

/// The median wall time and largest peak RSS of `runs` runs after one warm-up.
fn measure(program: &Path, args: &[String], ok: &[i32], runs: usize) -> (Duration, u64) {
    run_once(program, args, ok);
    let mut all: Vec<Run> = (0..runs).map(|_| run_once(program, args, ok)).collect();
    all.sort_by_key(|r| r.wall);
    let rss = all.iter().map(|r| r.max_rss_kib).max().unwrap_or(0);
    (all[all.len() / 2].wall, rss)
}

/// The YAML files of a generated config: the main file and its tenant files.
fn files_of(dir: &Path) -> Vec<String> {
    let mut files = vec![dir.join("pbx.yaml").display().to_string()];
    if let Ok(entries) = std::fs::read_dir(dir.join("tenants")) {
        let mut tenants: Vec<String> = entries
            .map(|e| e.expect("dir entry").path().display().to_string())
            .collect();
        tenants.sort();
        files.extend(tenants);
    }
    files
}

fn bytes_of(files: &[String]) -> u64 {
    files
        .iter()
        .map(|f| std::fs::metadata(f).expect("metadata").len())
        .sum()
}

/// Writes the config of `tenants` x `staff` into `dir` (and its edited copy into `edited`).
fn generate(root: &Path, dir: &Path, edited: &Path, tenants: usize, staff: usize, split: bool) {
    std::fs::create_dir_all(dir).expect("mkdir");
    let mut gen = Command::new("python3");
    gen.arg(root.join("bench/gen-config.py"))
        .arg(dir.join("pbx.yaml"))
        .args([
            "--tenants",
            &tenants.to_string(),
            "--staff",
            &staff.to_string(),
        ])
        .stderr(Stdio::null());
    if split {
        gen.arg("--split");
    }
    assert!(gen.status().expect("python3").success(), "gen-config.py");
    for file in files_of(dir) {
        let rel = Path::new(&file).strip_prefix(dir).expect("inside");
        let to = edited.join(rel);
        std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        let text = std::fs::read_to_string(&file).expect("read");
        std::fs::write(to, text.replace("name: \"Иван ", "name: \"Иоанн ")).expect("write");
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if args.first().map(String::as_str) == Some("parse") {
        parse(&args[1..]);
        return;
    }
    let sizes = sizes::sizes(&args, &[(10, 100), (100, 100), (1000, 100)]);
    let runs: usize = std::env::var("CONFIG_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let split = std::env::var("CONFIG_SINGLE").map_or(true, |v| v != "1");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let pbx = PathBuf::from(env!("CARGO_BIN_EXE_pbx"));
    let me = std::env::current_exe().expect("current_exe");
    let work = std::env::temp_dir().join(format!("pbx-config-bench-{}", std::process::id()));

    println!(
        "config speed: {} runs each (median wall, largest peak RSS), {}; baseline: serde-saphyr -> serde_json::Value",
        runs,
        if split { "one file per tenant (include)" } else { "a single file" }
    );
    println!();
    println!("| tenants × staff | staff | YAML | parse | validate | ratio | plan parse (2 configs) | plan | ratio | parse RSS | validate RSS | plan RSS |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (tenants, staff) in sizes {
        let dir = work.join(format!("{tenants}x{staff}"));
        let edited = work.join(format!("{tenants}x{staff}-edited"));
        generate(&root, &dir, &edited, tenants, staff, split);
        let before = files_of(&dir);
        let after = files_of(&edited);
        let parse_args: Vec<String> = std::iter::once("parse".to_string())
            .chain(before.iter().cloned())
            .collect();
        let both_args: Vec<String> = parse_args
            .iter()
            .cloned()
            .chain(after.iter().cloned())
            .collect();
        let main = dir.join("pbx.yaml").display().to_string();
        let edited_main = edited.join("pbx.yaml").display().to_string();
        let (parse_t, parse_rss) = measure(&me, &parse_args, &[0], runs);
        let (validate_t, validate_rss) =
            measure(&pbx, &["validate".into(), main.clone()], &[0], runs);
        let (both_t, _) = measure(&me, &both_args, &[0], runs);
        let plan_args = vec![
            "plan".into(),
            "--config".into(),
            edited_main,
            "--against".into(),
            main,
        ];
        let (plan_t, plan_rss) = measure(&pbx, &plan_args, &[0], runs);
        println!(
            "| {tenants} × {staff} | {} | {:.1} MB | {:.0} ms | {:.0} ms | **{:.2}×** | {:.0} ms | {:.0} ms | **{:.2}×** | {:.0} MiB | {:.0} MiB | {:.0} MiB |",
            tenants * staff,
            bytes_of(&before) as f64 / 1e6,
            ms(parse_t),
            ms(validate_t),
            ms(validate_t) / ms(parse_t),
            ms(both_t),
            ms(plan_t),
            ms(plan_t) / ms(both_t),
            mib(parse_rss),
            mib(validate_rss),
            mib(plan_rss),
        );
        std::fs::remove_dir_all(&dir).ok();
        std::fs::remove_dir_all(&edited).ok();
    }
    std::fs::remove_dir_all(&work).ok();
}
