//! The db_bench example, run as `tools/native-bench` runs it: every
//! workload in both modes (flushes and compactions inside the writes, and
//! on a background thread), each read finding what the fills wrote.

use std::path::PathBuf;
use std::process::Command;

/// The example's binary, which `cargo test` builds beside the tests.
fn example() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's path");
    exe.parent()
        .and_then(|deps| deps.parent())
        .map(|dir| dir.join("examples").join("db_bench"))
        .expect("target/<profile>/examples")
}

fn run(extra: &[&str]) -> String {
    let out = Command::new(example())
        .args(["--keys", "20000", "--cache-mb", "1", "--sync-num", "50"])
        .args(extra)
        .output()
        .expect("run the db_bench example");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "db_bench {extra:?} failed: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

#[test]
fn every_workload_runs_inline_and_with_a_background_thread() {
    let mut founds = Vec::new();
    for mode in [&[][..], &["--background"][..]] {
        let out = run(mode);
        for w in [
            "fillseq",
            "fillrandom",
            "overwrite",
            "readrandom",
            "readseq",
            "fillsync",
        ] {
            assert!(
                out.lines().any(|l| l.starts_with(w) && l.contains("ops/s")),
                "{mode:?}: no {w} line in\n{out}"
            );
        }
        // fillrandom's and overwrite's keys are random: about 1 - 1/e^2
        // of the key space, the same keys in either mode.
        let found = out
            .lines()
            .find_map(|l| l.strip_prefix("# readrandom: found "))
            .and_then(|l| l.split(' ').next())
            .and_then(|n| n.parse::<u64>().ok())
            .expect("readrandom's count");
        assert!((16_500..18_000).contains(&found), "{mode:?}: found {found}");
        founds.push(found);
    }
    assert_eq!(founds[0], founds[1], "the modes found different keys");
}
