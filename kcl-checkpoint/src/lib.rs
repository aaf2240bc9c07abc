//! kcl-checkpoint
