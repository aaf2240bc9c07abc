//! [`JsonLinesDestination`]: placeholder until the destinations change lands.

/// Appends each failed batch as one JSON line to a file.
#[derive(Debug)]
pub struct JsonLinesDestination {
    _private: (),
}
