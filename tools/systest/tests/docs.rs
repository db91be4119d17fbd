//! The transcripts in docs/console.md, replayed on a real kernel with a
//! fresh disk: every reply must come back byte for byte as the page shows
//! it (line ends aside), so the contract and the code cannot drift apart.

use systest::{workspace_root, Options, Qemu, TempFile};

/// Each ```console block: (command, expected reply lines) pairs.
fn transcripts() -> Vec<Vec<(String, String)>> {
    let doc =
        std::fs::read_to_string(workspace_root().join("docs/console.md")).expect("docs/console.md");
    let mut blocks = Vec::new();
    let mut lines = doc.lines();
    while lines.by_ref().any(|l| l == "```console") {
        let mut block: Vec<(String, String)> = Vec::new();
        for l in lines.by_ref().take_while(|l| *l != "```") {
            match l.strip_prefix("unikv> ") {
                Some(command) => block.push((command.to_string(), String::new())),
                None => {
                    let (_, reply) = block.last_mut().expect("a transcript starts with a prompt");
                    reply.push_str(l);
                    reply.push('\n');
                }
            }
        }
        blocks.push(block);
    }
    blocks
}

#[test]
fn the_transcripts_of_the_console_contract_replay_exactly() {
    let blocks = transcripts();
    assert!(blocks.len() >= 2, "docs/console.md has its transcripts");
    let d = TempFile::new("docs.img", 64 << 20);
    let mut q = Qemu::boot(&Options {
        disk: Some(d.0.clone()),
        ..Options::default()
    });
    for block in blocks {
        for (command, expected) in block {
            assert_eq!(q.cmd(&command), expected, "unikv> {command}");
        }
    }
}
