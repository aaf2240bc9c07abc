//! kcl-emulator
