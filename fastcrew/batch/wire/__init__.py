"""What crosses between the supervisor and its workers: the channel and the lease protocol."""
