"""Shared scenario steps and decisions: written once, read by every scenario module."""
