"""Device plugins: the synthetic array (more drivers register through entry points)."""
