"""Driving a partner: its manifest, its process, its actions, and the evidence recorded."""
