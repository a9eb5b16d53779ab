"""Enterprise single sign-on: OpenID Connect client and a local identity provider for tests and demos."""
