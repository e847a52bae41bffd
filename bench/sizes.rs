//! The config sizes a config benchmark measures: `TENANTSxSTAFF` arguments (e.g. `100x100`),
//! or its defaults when none is given. Shared by `bench/config.rs` and `bench/reload.rs`.

/// The sizes in `args`, or `default` when there are none.
pub fn sizes(args: &[String], default: &[(usize, usize)]) -> Vec<(usize, usize)> {
    if args.is_empty() {
        return default.to_vec();
    }
    args.iter()
        .map(|s| {
            let (t, m) = s
                .split_once('x')
                .expect("a size is TENANTSxSTAFF, e.g. 100x100");
            (t.parse().expect("tenants"), m.parse().expect("staff"))
        })
        .collect()
}
