"""TVR Dashboard: review impact.com Tracking Value Requests."""

__version__ = "0.1.0"
