//! The wire-protocol server in process on 127.0.0.1:0 (`kcl_emulator::test_util::TestServer`), driven by
//! real clients: the Rust SDK (`sdk`), raw JSON/CBOR and event-stream requests over HTTP/1.1 and h2c
//! (`wire`), HTTPS with ALPN (`tls`), boto3 (`boto3`), aws-cli (`awscli`) and the AWS SDK for JavaScript v3
//! (`js_sdk`). The binary and its container image are checked by
//! the separate `server_cli` test target (run alone against the image by `scripts/test-all.sh`).

mod awscli;
mod boto3;
mod js_sdk;
mod queues;
mod raw;
mod sdk;
mod settings;
mod tls;
mod wire;
