"""The target interpreter: probing it, running pip in it, unpacking archives."""
