"""One handler module per resource; each exports ROUTES, a list of RouteSpec."""
