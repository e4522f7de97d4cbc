"""The annotation pipeline: sources, stages and the run that writes shards."""
