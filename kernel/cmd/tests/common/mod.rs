//! The command layer's test kit (`cmd::testing`, the `testing` feature).

pub use cmd::testing::*;
