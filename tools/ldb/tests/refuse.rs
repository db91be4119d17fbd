//! Images ldb must leave alone: foreign bytes, another format version, a
//! blank image (for the commands that read). Each is refused with a message
//! and exit status 1, and is byte for byte as it was. And the command line:
//! help, and bad usage with exit status 2.

mod common;

use common::{ldb, lsm_image, other_version, put, refused, Scratch, READERS};

const MIB: usize = 1 << 20;

#[test]
fn foreign_bytes_are_refused_untouched_by_every_command() {
    let s = Scratch::new("foreign");
    let mut image = vec![0u8; 4 * MIB];
    image[..4].copy_from_slice(b"\x7fELF");
    image[5000] = 1;
    s.file("disk.img", &image);
    s.file("pairs.txt", b"a 1\n");
    let msg = "disk.img: the disk holds another format; refusing to touch it";
    for args in READERS {
        refused(&s, args, &image, msg);
    }
    refused(&s, &["disk.img", "load", "pairs.txt"], &image, msg);
}

#[test]
fn another_format_version_is_refused_untouched_by_every_command() {
    let s = Scratch::new("version");
    s.file("pairs.txt", b"a 1\n");
    // Version 1 (values stored untagged, before kv::value) and a later one.
    for version in [1, 4] {
        let image = other_version(
            lsm_image(4 * MIB, |db| put(db, b"k", b"v", None, true)),
            version,
        );
        s.file("disk.img", &image);
        let msg = format!(
            "disk.img: the disk holds unikv format version {version}, this build reads versions 2 to 3; \
             refusing to touch it"
        );
        for args in READERS {
            refused(&s, args, &image, &msg);
        }
        refused(&s, &["disk.img", "load", "pairs.txt"], &image, &msg);
    }
}

#[test]
fn a_blank_image_is_refused_by_the_commands_that_read() {
    let s = Scratch::new("blank");
    let image = vec![0u8; 4 * MIB];
    s.file("disk.img", &image);
    for args in READERS {
        refused(
            &s,
            args,
            &image,
            "disk.img: the disk is blank: it holds no unikv store",
        );
    }
}

#[test]
fn help_and_bad_usage() {
    let s = Scratch::new("usage");
    let help = ldb(&s, &["--help"]).ok();
    assert!(
        help.starts_with("usage: ldb DISK COMMAND [ARGS]\n"),
        "{help}"
    );
    assert_eq!(ldb(&s, &["disk.img", "-h"]).ok(), help);
    let r = ldb(&s, &[]);
    assert_eq!((r.code, r.out().as_str()), (2, ""));
    assert_eq!(r.stderr, format!("ldb: no disk image given\n\n{help}"));
    let r = ldb(&s, &["disk.img", "get", "a", "b"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.starts_with("ldb: get takes one KEY\n\nusage:"));
    let r = ldb(&s, &["disk.img", "get", "two words"]);
    assert_eq!(r.code, 2);
    assert_eq!(
        r.stderr,
        "ldb: KEY: 2 console token(s) where 1 belong; \
         double-quote one that holds spaces (\"a b\") or is empty (\"\")\n"
    );
    let r = ldb(&s, &["missing.img", "info"]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr,
        "ldb: cannot open missing.img: No such file or directory (os error 2)\n"
    );
}
