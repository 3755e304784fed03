"""Turning a community's exports and files into an index: load -> chunk -> embed -> write."""
