"""A faithful impact.com simulator: the default backend when no credentials are set."""
