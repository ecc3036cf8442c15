"""Aggregate counters for ``/metrics``: one registry per running service, no per-tip labels.

Label values come only from small closed sets (channel, urgency, notifier,
outcome), never from a tip, a message, a number or an advocate: a metric is
read by whoever can scrape it, so it must say nothing a page could not.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry(auto_describe=True)
        self.tips_received = Counter(
            "hotline_messages_received", "Inbound messages stored, by channel and urgency.",
            ["channel", "urgency"], registry=r)
        self.webhook_signature_failures = Counter(
            "hotline_webhook_signature_failures", "Twilio webhooks refused for a bad signature.",
            ["endpoint"], registry=r)
        self.rule_reloads = Counter(
            "hotline_rule_reloads", "Rule-set reloads, by outcome (ok, refused).",
            ["outcome"], registry=r)
        self.pages_sent = Counter(
            "hotline_pages_sent", "Page notifications delivered, by notifier.",
            ["notifier"], registry=r)
        self.pages_failed = Counter(
            "hotline_pages_failed", "Page notification attempts that failed, by notifier.",
            ["notifier"], registry=r)
        self.pages_acknowledged = Counter(
            "hotline_pages_acknowledged", "Pages acknowledged, by how (api, sms, call).",
            ["via"], registry=r)
        self.time_to_ack = Histogram(
            "hotline_page_time_to_acknowledge_seconds", "From a page opening to its acknowledgement.",
            buckets=(15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200), registry=r)
        self.writer_queue_depth = Gauge(
            "hotline_writer_queue_depth", "Writes waiting for the single database writer.",
            registry=r)
        self.commit_latency = Histogram(
            "hotline_writer_commit_seconds", "Time of one group commit.",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5), registry=r)
        # Derived from the database at scrape time (hotline.ops.routes.refresh_from_db).
        self.tips = Gauge(
            "hotline_tips", "Tips stored now, by channel, urgency and status.",
            ["channel", "urgency", "status"], registry=r)
        self.deletion_requests_pending = Gauge(
            "hotline_deletion_requests_pending", "Deletion requests not yet done: waiting out "
            "their grace period, or held by an advocate (cancelled ones are not counted).",
            registry=r)
        self.tips_held = Gauge(
            "hotline_tips_held", "Tips under an administrator's retention hold.", registry=r)
        self.tips_deleted = Counter(
            "hotline_tips_deleted", "Tips crypto-shredded, by reason (retention, reporter-request).",
            ["reason"], registry=r)
        self.retention_runs = Counter(
            "hotline_retention_runs", "Retention passes, by outcome (ok, failed).",
            ["outcome"], registry=r)

    def observe_commit(self, seconds: float, jobs: int) -> None:
        """The writer's commit observer (called on the writer thread; prometheus is thread-safe)."""
        self.commit_latency.observe(seconds)
