"""OAuth and OpenID Connect with Navexa's tenant: the provider client, client authentication, the refresh policy,
back-channel logout tokens, and how a refresh can fail."""
