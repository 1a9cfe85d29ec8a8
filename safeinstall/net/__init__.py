"""HTTPS with the limits a hostile server needs: pooled transport, redirects checked hop by hop,
credentials scoped to their origin. index/ and audit/ reach the network only through here."""
