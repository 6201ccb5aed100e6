"""Playbooks: what OPS does when an SLO breaks. ``grammar`` parses; running is separate."""
