"""The portal's web layer: routes, templates and renderings. Reads through store's queries."""
