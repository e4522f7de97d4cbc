"""Human verification in Label Studio: export with pre-annotations, import of reviews. Not built yet."""
