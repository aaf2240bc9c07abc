//! kcl-core
