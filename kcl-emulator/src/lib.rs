//! kcl-emulator

#[cfg(feature = "server")]
pub mod server;
