//! Lease-store benchmark (placeholder until the DynamoDB store lands).

fn main() {}
