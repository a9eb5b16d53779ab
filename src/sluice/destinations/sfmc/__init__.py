"""Salesforce Marketing Cloud Engagement destination: synchronize data extensions."""
