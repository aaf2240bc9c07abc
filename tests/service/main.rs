//! `kcl::service` against real servers on loopback: its HTTP endpoints and fatal errors in process
//! (`endpoints`), the `ecs_consumer` example as processes driven by signals (`process`) and as a container
//! image (`image`). Shared helpers are in `support.rs`.

mod support;

mod endpoints;
mod image;
mod process;
