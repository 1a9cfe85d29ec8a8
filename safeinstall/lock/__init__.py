"""The Lock value, both formats, reading locks from disk, refs, inputs, making a lock."""
