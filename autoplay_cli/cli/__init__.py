"""The Typer layer: one module per command; parse options, call the domain, render."""
