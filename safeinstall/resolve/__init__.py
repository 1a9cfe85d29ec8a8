"""The resolver: provider and candidates, the finder over the trusted indexes, merging targets."""
