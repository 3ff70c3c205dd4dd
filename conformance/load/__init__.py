"""The volume spike: Locust drives the partner's buy button while the simulator runs in the loop."""
