"""Small view helpers shared by the dashboard pages (settings, guarded imports, caches, charts, uploads)."""
