"""The portal's Flask-free core: protocol, storage and money-free logic any adapter can use."""
