//! The `kcl-emulator` server binary (wired up with the emulator API).

fn main() {}
