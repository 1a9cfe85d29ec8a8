"""Test support shared by the whole suite: real distributions (builders), a misbehaving loopback
index (indexserver, simplepages) and the pytest fixtures over them (fixtures)."""
