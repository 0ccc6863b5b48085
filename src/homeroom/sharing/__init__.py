"""District ↔ app connections: which apps a district uses and what each may see."""
