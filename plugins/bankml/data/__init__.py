"""Dataset acquisition and preparation: download, schema checks, features, split, channel files."""
