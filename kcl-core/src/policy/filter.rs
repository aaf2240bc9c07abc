//! Event filtering (Lambda's `FilterCriteria`): placeholder until the filtering change lands; keeps
//! every record.

use crate::config::ConfigError;
use crate::record::Record;

/// Up to five filter patterns; a record is delivered when any pattern matches it.
#[derive(Clone, Debug, PartialEq)]
pub struct FilterCriteria {
    patterns: Vec<String>,
}

impl FilterCriteria {
    /// Compiles the patterns.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the pattern that does not parse, or more than five patterns.
    pub fn new<I, S>(patterns: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Ok(FilterCriteria {
            patterns: patterns.into_iter().map(Into::into).collect(),
        })
    }

    /// The patterns, as given.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// Whether `record` passes the filter (and so reaches the processor).
    pub fn matches(&self, record: &Record) -> bool {
        let _ = record;
        true
    }
}
