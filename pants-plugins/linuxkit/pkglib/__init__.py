"""A Pants-free port of the parts of LinuxKit's `pkglib` that decide what a package is called.

Everything here is plain Python (PyYAML and pygit2), so the rules stay thin and the behaviour can
be checked against the real `linuxkit` CLI byte for byte.
"""
