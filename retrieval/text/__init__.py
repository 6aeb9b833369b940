"""Text in photos: reading it (`model`, `rapid`), folding it for matching (`fold`), and
finding photos by the words they show (`search`)."""
