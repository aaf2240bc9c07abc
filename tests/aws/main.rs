//! Real AWS SDK clients against real servers on loopback (real sockets, so real time): kcl-core's
//! `KinesisSource` conformance against our server, kinesalite and the emulator's container (`source`), the
//! enhanced fan-out source (`fanout`), workers over kinesalite and dynalite with none of our servers
//! (`end_to_end`), and the container suite a user copies (`containers`: testcontainers, the images built by
//! `scripts/build-images.sh`). Servers, clients and loud skips come from `kcl_emulator::test_util`.

mod containers;
mod end_to_end;
mod fanout;
mod lambda_destination;
mod source;
