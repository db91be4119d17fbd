//! The services this image is built with. Each file declares its own with
//! `service!`; nothing here lists them (the link section does).

pub mod cache;
pub mod console;
pub mod kv;
pub mod net;
pub mod virtio;
