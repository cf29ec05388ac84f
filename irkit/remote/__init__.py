"""Team cases: remotes (S3, directory) and the sync protocol over them."""
