"""Every wait of the harness, derived from the partner's declared timings (one slack factor).

A scenario never waits for a number tuned to one partner: it asks :class:`Timings` for a
bound derived from what the manifest declares — ``provider.timeout_seconds`` (its timeout on
provider calls), ``provider.poll_interval_seconds`` (how often it polls open trades) and
``provider.execution_delay_seconds`` (how long a queue-and-worker accept may take to send its
transact) — multiplied by :data:`SLACK`, plus :data:`MARGIN_S` for the harness's own
overhead. The only constants here are the harness's own (how often *it* reads, how short a
"short-lived" quote is); none is a partner's.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.driver.manifest import Manifest

# The one slack factor: a declared timing is honoured if the partner acts within SLACK times it.
SLACK = 1.5
# The harness's own overhead per bound (process scheduling, its reads of the journal).
MARGIN_S = 0.25
# How often the harness re-reads the journal, the order or the page while it observes.
READ_INTERVAL_S = 0.1
# The shortest quote the harness asks for when a scenario needs one to expire soon.
MIN_TTL_S = 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Timings:
    """Bounds for observing one partner, from its declared timings."""

    timeout_s: float
    poll_interval_s: float
    execution_delay_s: float = 0.0
    alert_threshold_s: float | None = None

    @classmethod
    def of(cls, manifest: Manifest) -> Timings:
        provider = manifest.provider
        return cls(
            timeout_s=provider.timeout_s,
            poll_interval_s=provider.poll_interval_s,
            execution_delay_s=provider.execution_delay_s,
            alert_threshold_s=provider.alert_threshold_s,
        )

    @property
    def read_interval_s(self) -> float:
        """How often the harness reads while observing: never slower than the partner polls."""
        return min(READ_INTERVAL_S, self.poll_interval_s)

    @property
    def dispatch_s(self) -> float:
        """After an accept answers: by then any transact it leads to has reached the provider.

        The partner's worker delay and one poll interval (a worker that picks up queued work
        on its poll), with slack. Negative checks ("no transact") watch this long at least.
        """
        return SLACK * (self.execution_delay_s + self.poll_interval_s) + MARGIN_S

    @property
    def quiet_s(self) -> float:
        """How long the partner must have sent nothing more for a quote to count as quiet."""
        return SLACK * self.poll_interval_s + MARGIN_S

    @property
    def call_s(self) -> float:
        """One provider call of the partner, with slack, retried once after its timeout."""
        return SLACK * 2 * self.timeout_s + MARGIN_S

    @property
    def settle_s(self) -> float:
        """Bound for an order to reach a state after the provider's trade did (polls, retries)."""
        return (
            SLACK * (self.execution_delay_s + 6 * self.poll_interval_s + 2 * self.timeout_s)
            + MARGIN_S
        )

    def batch_s(self, orders: int) -> float:
        """Bound for a batch of orders to settle: a queue may work them one after another."""
        return self.settle_s + SLACK * orders * (self.execution_delay_s + self.poll_interval_s)

    @property
    def fault_delay_s(self) -> float:
        """A provider delay that is surely past the partner's own timeout."""
        return self.timeout_s + 1.0

    @property
    def slow_read_s(self) -> float:
        """A provider delay that stays inside the partner's timeout (a slow, not a failed, read)."""
        return self.timeout_s / 2

    @property
    def short_ttl_s(self) -> float:
        """A quote that expires soon; the harness waits just past it."""
        return MIN_TTL_S

    @property
    def inside_ttl_s(self) -> float:
        """A quote that stays active while the partner creates, accepts and executes it."""
        return SLACK * (self.execution_delay_s + 2 * self.timeout_s) + MARGIN_S

    @property
    def page_s(self) -> float:
        """A page step that waits on the partner's backend (a quote shown, a status updated)."""
        return SLACK * (self.execution_delay_s + 2 * self.timeout_s) + 4 * MARGIN_S

    @property
    def alert_s(self) -> float | None:
        """Bound for a stuck trade to show in the alerts, if the partner declares a threshold."""
        if self.alert_threshold_s is None:
            return None
        return self.alert_threshold_s + SLACK * 2 * self.poll_interval_s + 2 * MARGIN_S
