"""How the suite runs locally: the runner, the demo data and the test environment."""
