"""Who is asking, one concern per module: the signed session cookie (`cookies`), CSRF tokens
(`csrf`), and the principal behind a request, by API token or session (`principal`). The
secrets the store keeps are the store's: passwords, API tokens and session rows."""
