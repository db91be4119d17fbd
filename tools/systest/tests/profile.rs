//! tools/insn-profile: QEMU counts every guest instruction of a
//! redis-benchmark test or a BENCH workload (a TCG plugin,
//! tools/shim/insn-count.c), and the report names the kernel's functions
//! and crates that ran them.

use std::process::Command;
use systest::workspace_root;

/// Runs tools/insn-profile with `args` and `env`, checks that it succeeded,
/// and returns its report and the instructions per `unit` it gives.
fn profile(args: &[&str], env: &[(&str, &str)], unit: &str) -> (String, f64) {
    let out = Command::new(workspace_root().join("tools/insn-profile"))
        .args(args)
        .envs(env.iter().copied())
        .env("TOP", "60")
        .output()
        .expect("tools/insn-profile runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let suffix = format!(" guest instructions per {unit}");
    let per: f64 = text
        .lines()
        .find_map(|l| l.strip_suffix(suffix.as_str()))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no total in:\n{text}"));
    (text, per)
}

#[test]
fn insn_profile_counts_a_benchmarks_instructions_by_function() {
    let (text, per_request) = profile(&["ping_mbulk", "-c", "2"], &[("NREQ", "3000")], "request");
    assert!(text.contains("requests per second"), "{text}");
    // A PING is parsed, looked up, run and answered through smoltcp: some
    // hundreds of instructions at least, and nothing like a spin.
    assert!((300.0..100_000.0).contains(&per_request), "{text}");
    for part in ["resp::", "cmd::", "smoltcp::", "heap (talc)", "alloc\n"] {
        assert!(text.contains(part), "{part:?} missing from:\n{text}");
    }
}

#[test]
fn insn_profile_counts_a_bench_workloads_instructions_per_operation() {
    let (text, per_op) = profile(
        &["bench", "readseq"],
        &[("NREQ", "3000"), ("PRE", "fillseq")],
        "operation",
    );
    assert!(text.contains("ops:3000 "), "{text}");
    // An entry of a scan: the store cursor's step (the merge is inlined
    // into it) and the workload's check, and nothing like the cost of a
    // request over the network.
    assert!((50.0..20_000.0).contains(&per_op), "{text}");
    for part in ["lsm::db::iter::", "workload::"] {
        assert!(text.contains(part), "{part:?} missing from:\n{text}");
    }
}
