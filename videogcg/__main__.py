"""`python -m videogcg`, which is how `torchrun --module videogcg train ...` starts each process."""

from videogcg.cli import app

app()
