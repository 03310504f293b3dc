"""Unitree G1 support: the ``unitree_hg`` low-level wire layouts and their CRC (:mod:`runtime.g1.crc`)."""
