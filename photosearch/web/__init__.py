"""`photosearch serve`: the web page and the HTTP API behind it."""
