"""The product: cached tracking value requests, their review, and the audit trail."""
