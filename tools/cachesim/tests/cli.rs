//! The binary's command line: output lines, errors, the sized-trace note.

use std::process::Command;

fn cachesim(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cachesim"))
        .args(args)
        .output()
        .expect("run cachesim");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_plain_sized_trace_prints_one_line_per_policy_and_size() {
    let dir = std::env::temp_dir().join(format!("cachesim-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let trace = dir.join("t.txt");
    let mut text = String::new();
    for round in 0..4 {
        for k in 0..6 {
            text.push_str(&format!("key{k} {}\n", 100 + 10 * ((k + round) % 2)));
        }
    }
    std::fs::write(&trace, text).unwrap();
    let svg = dir.join("p.svg");
    let (ok, stdout, stderr) = cachesim(&[
        "--trace",
        trace.to_str().unwrap(),
        "--policies",
        "lru,arc,opt",
        "--sizes",
        "300,1000",
        "--plot",
        svg.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 6, "{stdout}");
    assert!(lines[0].starts_with("policy=lru size=300 requests=24 hits="));
    assert!(lines[5].starts_with("policy=opt size=1000 requests=24 hits=18 "));
    assert!(stderr.contains("heuristic"), "{stderr}");
    assert!(std::fs::read_to_string(&svg).unwrap().starts_with("<svg"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_arguments_are_refused_with_a_reason() {
    let (ok, _, stderr) = cachesim(&["--policies", "lru"]);
    assert!(!ok);
    assert!(
        stderr.contains("--trace or --lsm-keys is required"),
        "{stderr}"
    );
    let (ok, _, stderr) = cachesim(&["--trace", "x.lis", "--policies", "fifo"]);
    assert!(!ok);
    assert!(stderr.contains("unknown policy `fifo`"), "{stderr}");
    let (ok, _, stderr) = cachesim(&["--trace", "/nonexistent/x.lis"]);
    assert!(!ok);
    assert!(stderr.contains("reading the trace"), "{stderr}");
}
