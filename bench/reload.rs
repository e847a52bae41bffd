//! What a hot reload that changes one tenant costs as the config grows (README
//! "Benchmarks"): for generated configs of 1, 10, 100 and 1,000 tenants × 100 staff, one file
//! per tenant, the server's applier (`serve::Applier`, the file watcher's way in, with a sled
//! store on disk) applies the config, then again and again an edit of one tenant's file (its
//! first staff member renamed, then back). The figure is the median of the applies' own times,
//! in total and by phase (read, validate, state, plan, sounds, staff, record, directory); the
//! goal is that it stays what one tenant costs however many tenants there are.
//!
//!   cargo bench --bench reload                      (or bench/reload.sh)
//!   cargo bench --bench reload -- 1x100 1000x100    (sizes: tenants x staff per tenant)
//!   RELOAD_RUNS=21 cargo bench --bench reload

#[path = "sizes.rs"]
mod sizes;

use pbx::serve::applier::{Applier, Outcome, Source};
use pbx::store::Store;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Writes the config of `tenants` x `staff` (one file per tenant) into `dir`; returns the path
/// of the first tenant's file.
fn generate(root: &Path, dir: &Path, tenants: usize, staff: usize) -> PathBuf {
    std::fs::create_dir_all(dir).expect("mkdir");
    let status = Command::new("python3")
        .arg(root.join("bench/gen-config.py"))
        .arg(dir.join("pbx.yaml"))
        .args(["--tenants", &tenants.to_string()])
        .args(["--staff", &staff.to_string()])
        .arg("--split")
        .stderr(Stdio::null())
        .status()
        .expect("python3");
    assert!(status.success(), "gen-config.py");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("tenants"))
        .expect("tenants")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    files.swap_remove(0)
}

/// The tenant file with its first staff member renamed (odd runs) or as generated (even).
fn edit(original: &str, run: usize) -> String {
    if run.is_multiple_of(2) {
        return original.to_string();
    }
    let at = original.find("- name: \"").expect("a staff member") + "- name: \"".len();
    format!("{}Переименованный {}", &original[..at], &original[at..])
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let sizes = sizes::sizes(&args, &[(1, 100), (10, 100), (100, 100), (1000, 100)]);
    let runs: usize = std::env::var("RELOAD_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(11);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let work = std::env::temp_dir().join(format!("pbx-reload-bench-{}", std::process::id()));

    println!(
        "hot reload of a one-tenant edit: median of {runs} applies (serve::Applier, sled on disk), one file per tenant"
    );
    println!();
    let mut names: Vec<&'static str> = Vec::new();
    let mut rows = Vec::new();
    for (tenants, staff) in sizes {
        let dir = work.join(format!("{tenants}x{staff}"));
        let first = generate(&root, &dir.join("config"), tenants, staff);
        let original = std::fs::read_to_string(&first).expect("read");
        let store = Store::open(&dir.join("data")).expect("store");
        let applier = Applier::new(store, &dir.join("config/pbx.yaml"));
        let start = Instant::now();
        let outcome = applier.reload_files(Source::Startup);
        assert!(matches!(outcome, Outcome::Applied { .. }), "{outcome:?}");
        let startup = start.elapsed();
        let mut totals = Vec::new();
        let mut phases: BTreeMap<&'static str, Vec<Duration>> = BTreeMap::new();
        for run in 1..=runs {
            std::fs::write(&first, edit(&original, run)).expect("write");
            let start = Instant::now();
            let outcome = applier.reload_files(Source::Watcher);
            totals.push(start.elapsed());
            let Outcome::Applied { phases: p, .. } = outcome else {
                panic!("run {run}: {outcome:?}");
            };
            for (name, d) in p.each() {
                if !names.contains(&name) {
                    names.push(name);
                }
                phases.entry(name).or_default().push(d);
            }
        }
        rows.push((tenants, staff, startup, median(totals), phases));
        drop(applier);
        let _ = std::fs::remove_dir_all(&dir);
    }
    print!("| tenants × staff | first apply | one-tenant reload |");
    for name in &names {
        print!(" {name} |");
    }
    println!();
    println!("|---|---|---|{}", "---|".repeat(names.len()));
    for (tenants, staff, startup, total, mut phases) in rows {
        print!(
            "| {tenants} × {staff} | {:.0} ms | {:.1} ms |",
            ms(startup),
            ms(total)
        );
        for name in &names {
            let d = phases.remove(name).map_or(Duration::ZERO, median);
            print!(" {:.1} |", ms(d));
        }
        println!();
    }
    let _ = std::fs::remove_dir_all(&work);
}
