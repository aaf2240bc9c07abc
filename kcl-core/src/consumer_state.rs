//! [`ConsumerState`]: where a shard consumer is in its lifecycle (see the consumer's state machine in
//! `consumer`), shared by the consumer that moves through it and the status that reports it.

use std::fmt;

/// Where a shard consumer is in its lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConsumerState {
    /// A lease stolen from a live worker: waiting until that worker's lease has run out on its clock.
    WaitingForPreviousOwner,
    /// Waiting for every parent shard to be finished (or provably gone).
    WaitingOnParents,
    /// Creating and initializing the processor.
    Initializing,
    /// Delivering records.
    Processing,
    /// The shard was fully processed and checkpointed at `SHARD_END`; the lease was released.
    ShardEnded,
    /// The lease was lost to another worker.
    LeaseLost,
    /// Another worker asked for the lease (balancing): the processor was told to shut down and the lease
    /// handed over from its checkpoint.
    HandedOff,
    /// The worker is shutting down; the processor was told and the lease handed off.
    ShuttingDown,
    /// The processor kept failing and the `RetryThenStop` policy stopped the shard here (lease released).
    Failed,
}

impl ConsumerState {
    /// True for the states a consumer ends in.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            ConsumerState::ShardEnded
                | ConsumerState::LeaseLost
                | ConsumerState::HandedOff
                | ConsumerState::ShuttingDown
                | ConsumerState::Failed
        )
    }
}

impl fmt::Display for ConsumerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            ConsumerState::WaitingForPreviousOwner => "waiting for the previous owner",
            ConsumerState::WaitingOnParents => "waiting on parents",
            ConsumerState::Initializing => "initializing",
            ConsumerState::Processing => "processing",
            ConsumerState::ShardEnded => "shard ended",
            ConsumerState::LeaseLost => "lease lost",
            ConsumerState::HandedOff => "handed off",
            ConsumerState::ShuttingDown => "shutting down",
            ConsumerState::Failed => "failed",
        };
        f.write_str(name)
    }
}
