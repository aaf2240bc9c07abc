//! Placeholder: replaced by the emulator source once kcl-emulator lands.
