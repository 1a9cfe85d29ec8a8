"""Files written and read safely: atomic replacement, private caches, capped reads."""
