"""Authentication and authorization: principals, roles, permissions."""
