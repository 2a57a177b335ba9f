"""Distributed runs on the EKS cluster: one locust master Job and N worker pods (render.py)."""
