"""The identity service: who the families, children, representatives and agents are."""
